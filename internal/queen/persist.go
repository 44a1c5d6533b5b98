package queen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/cohesix/cohesix/internal/errs"
)

// Store is durable storage for governance records (DECISIONS D9): Append
// must make the records durable before it returns.
type Store interface {
	Append(records ...[]byte) error
}

// Restore replays durable records into the state at boot, before the
// auto transition. It writes nothing back to the store.
type Restore struct {
	Records [][]byte
	Torn    string // audit line for a torn tail the store cut off, "" if none
}

func (Restore) isCmd()                                {}
func (c Restore) apply(s *State, nowMs uint64) Result { return s.restore(c, nowMs) }

// record is one durable governance fact.
type record struct {
	K        string     `json:"k"`           // journal, decisions, action, consume, lifecycle, log, worker, spawn, exit, kill, budget
	N        uint64     `json:"n,omitempty"` // log: the line's number (LogTotal); worker: the next worker number
	Line     string     `json:"l,omitempty"`
	ID       string     `json:"id,omitempty"`
	Target   string     `json:"target,omitempty"`
	Decision string     `json:"decision,omitempty"`
	State    string     `json:"state,omitempty"`
	Reason   string     `json:"reason,omitempty"`
	Since    uint64     `json:"since,omitempty"` // lifecycle: since; spawn: the spawn time
	Role     string     `json:"role,omitempty"`  // spawn: the worker's role
	Budget   *Budget    `json:"budget,omitempty"`
	Ticks    uint64     `json:"ticks,omitempty"` // exit: the counters when the budget ended
	Ops      uint64     `json:"ops,omitempty"`
	Cas      *casRecord `json:"cas,omitempty"` // cas-accept: the update (cas.go)
}

// persist queues a record for the store; the queen loop writes the
// records of one command before it replies.
func (s *State) persist(r record) {
	if s.gov.restoring || !s.durable {
		return
	}
	b, _ := json.Marshal(r)
	s.gov.pending = append(s.gov.pending, b)
}

// takePersist returns and clears the records the last command produced.
func (s *State) takePersist() [][]byte {
	p := s.gov.pending
	s.gov.pending = nil
	return p
}

func (s *State) restore(c Restore, nowMs uint64) Result {
	s.gov.restoring = true
	bad := 0
	for _, b := range c.Records {
		var r record
		if json.Unmarshal(b, &r) != nil || !s.restoreRecord(r) {
			bad++
		}
	}
	// The lines below belong to this boot: they are written back.
	s.gov.restoring = false
	if c.Torn != "" {
		s.audit(c.Torn)
	}
	s.endRestoredGPUWorkers()
	s.audit(fmt.Sprintf("spool restored records=%d unknown=%d", len(c.Records), bad))
	if bad > 0 {
		return Result{Err: errs.New(errs.ErrInvalid, "spool has %d unknown records", bad)}
	}
	return Result{}
}

// restoreRecord replays one record; false for an unknown kind.
func (s *State) restoreRecord(r record) bool {
	switch r.K {
	case "journal":
		s.restoreLine(&s.gov.audit.journal, "journal", r.Line, s.cfg.Gov.JournalMaxBytes)
	case "decisions":
		s.restoreLine(&s.gov.audit.decisions, "decisions", r.Line, s.cfg.Gov.DecisionsMaxBytes)
	case "action":
		p := &s.gov.policy
		p.actions = append(slices.Clone(p.actions), Action{ID: r.ID, Target: r.Target, Decision: r.Decision, State: "queued"})
		for len(p.actions) > s.cfg.Gov.QueueMaxEntries {
			i := slices.IndexFunc(p.actions, func(x Action) bool { return x.State == "consumed" })
			if i < 0 {
				i = 0
			}
			p.actions = slices.Delete(p.actions, i, i+1)
		}
	case "consume":
		p := &s.gov.policy
		if i := slices.IndexFunc(p.actions, func(a Action) bool { return a.ID == r.ID && a.State == "queued" }); i >= 0 {
			p.actions = slices.Clone(p.actions)
			p.actions[i].State = "consumed"
		}
	case "lifecycle":
		s.lifecycle = Lifecycle{State: r.State, Reason: r.Reason, SinceMs: r.Since}
	case "log":
		s.log = append(s.log, r.Line)
		if over := len(s.log) - s.cfg.LogRingLines; over > 0 {
			s.log = s.log[over:]
		}
		s.logTotal = max(s.logTotal, r.N)
	case "worker":
		s.nextWorker = max(s.nextWorker, r.N)
	case "spawn", "exit", "kill":
		return s.restoreWorker(r)
	case "budget":
		if r.Budget == nil {
			return false
		}
		s.defBudget = *r.Budget
	case "cas-accept", "cas-ready", "cas-keyset", "cas-model":
		return s.restoreCAS(r)
	default:
		return false
	}
	return true
}

// restoreLine puts a journal or decisions line back and advances the
// shared seq past it.
func (s *State) restoreLine(r *Ring, name, line string, max int) {
	s.ringLine(r, name, []byte(line), max)
	var e struct {
		Seq uint64 `json:"seq"`
	}
	if json.Unmarshal([]byte(line), &e) == nil && e.Seq > s.gov.audit.seq {
		s.gov.audit.seq = e.Seq
	}
}

// UseStore makes the queen write governance records to st before it
// acknowledges them, and replays records (read from st) at boot. Call it
// before Run.
func (q *Queen) UseStore(st Store, records [][]byte, tornAudit string) {
	q.store = st
	q.state.durable = true
	q.restoring = &Restore{Records: records, Torn: tornAudit}
}

// restoreStore applies the boot records, if any.
func (q *Queen) restoreStore() {
	if q.restoring != nil {
		q.apply(*q.restoring)
		q.restoring = nil
	}
}

// commit writes the records the commands of one batch produced (n of
// them) with one store write. A failed write is the refusal every command
// of the batch gets, so nothing unrecorded is acknowledged.
func (q *Queen) commit(n int) error {
	recs := q.state.takePersist()
	if q.store == nil || len(recs) == 0 {
		return nil
	}
	if err := q.store.Append(recs...); err != nil {
		q.state.audit(fmt.Sprintf("spool write failed records=%d commands=%d err=%q", len(recs), n, err.Error()))
		return errs.New(errs.ErrBusy, "spool write failed")
	}
	return nil
}

// LogLine is one durable /log/queen.log line and its number (1 for the
// first line the hive ever wrote).
type LogLine struct {
	N    uint64
	Line string
}

// logPrefix starts every encoded log record: record marshals K first.
var logPrefix = []byte(`{"k":"log",`)

// IsLogRecord reports whether a spool record is a /log/queen.log line.
func IsLogRecord(b []byte) bool { return bytes.HasPrefix(b, logPrefix) }

// LogLines returns the log lines among spool records, in record order.
func LogLines(records [][]byte) []LogLine {
	var out []LogLine
	for _, b := range records {
		var r record
		// The decoded kind decides, as in restoreRecord: a record that
		// starts like a log line but repeats "k" (the last one wins in
		// encoding/json) is not one (a fuzz finding).
		if IsLogRecord(b) && json.Unmarshal(b, &r) == nil && r.K == "log" {
			out = append(out, LogLine{N: r.N, Line: r.Line})
		}
	}
	return out
}

// MergeLog joins log lines read from successive spool generations (oldest
// first) into one list in line order, each line once: a compacted
// generation repeats the newest lines of the one before it.
func MergeLog(generations ...[]LogLine) []LogLine {
	var out []LogLine
	for _, g := range generations {
		for _, l := range g {
			if len(out) == 0 || l.N > out[len(out)-1].N {
				out = append(out, l)
			}
		}
	}
	return out
}

// CompactRecords is the compaction rule for a spool holding governance
// and log records: every governance record stays, in order, except the
// records of workers since killed (the counter keeps their ids used); of
// the log only the newest keepLog lines stay, and of the worker counters
// and default budgets only the last. The log history before them is the
// archive's (DECISIONS, log spool).
func CompactRecords(records [][]byte, keepLog int) [][]byte {
	gone := killedWorkers(records)
	var keep, logs [][]byte
	var worker, budget []byte
	for _, b := range records {
		switch {
		case IsLogRecord(b):
			logs = append(logs, b)
		case bytes.HasPrefix(b, []byte(`{"k":"worker",`)):
			worker = b
		case bytes.HasPrefix(b, []byte(`{"k":"budget",`)):
			budget = b
		case gone[workerRecordID(b)]: // a killed worker's spawn, exit and kill
		default:
			keep = append(keep, b)
		}
	}
	for _, last := range [][]byte{worker, budget} {
		if last != nil {
			keep = append(keep, last)
		}
	}
	return append(keep, logs[max(0, len(logs)-keepLog):]...)
}
