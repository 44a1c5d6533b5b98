package queen

import (
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

func (Restore) isCmd() {}

// record is one durable governance fact.
type record struct {
	K        string `json:"k"` // journal, decisions, action, consume, lifecycle
	Line     string `json:"l,omitempty"`
	ID       string `json:"id,omitempty"`
	Target   string `json:"target,omitempty"`
	Decision string `json:"decision,omitempty"`
	State    string `json:"state,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Since    uint64 `json:"since,omitempty"`
}

// persist queues a record for the store; the queen loop writes the
// records of one command before it replies.
func (s *State) persist(r record) {
	if s.gov.restoring {
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
	defer func() { s.gov.restoring = false }()
	if c.Torn != "" {
		s.audit(c.Torn)
	}
	bad := 0
	for _, b := range c.Records {
		var r record
		if json.Unmarshal(b, &r) != nil {
			bad++
			continue
		}
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
		default:
			bad++
		}
	}
	s.audit(fmt.Sprintf("spool restored records=%d unknown=%d", len(c.Records), bad))
	if bad > 0 {
		return Result{Err: errs.New(errs.ErrInvalid, "spool has %d unknown records", bad)}
	}
	return Result{}
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
	q.restoring = &Restore{Records: records, Torn: tornAudit}
}

// restoreStore applies the boot records, if any.
func (q *Queen) restoreStore() {
	if q.restoring != nil {
		q.apply(*q.restoring)
		q.restoring = nil
	}
}

// flush writes the records a command produced; a failed write turns the
// result into a refusal, so nothing unrecorded is acknowledged.
func (q *Queen) flush(r Result) Result {
	recs := q.state.takePersist()
	if q.store == nil || len(recs) == 0 {
		return r
	}
	if err := q.store.Append(recs...); err != nil {
		q.state.audit(fmt.Sprintf("spool write failed records=%d err=%q", len(recs), err.Error()))
		return Result{Err: errs.New(errs.ErrBusy, "spool write failed")}
	}
	return r
}
