package queen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/errs"
)

// JournalAppend is a manual append to /audit/journal (AO-off: Off must be
// the journal's end, or -1 for "at the end").
type JournalAppend struct {
	Who  Who
	Line []byte
	Off  int64
}

// ReplayCtl is one write to /replay/ctl: {"from":<byte cursor>}.
type ReplayCtl struct {
	Who  Who
	Line []byte
	Off  int64
}

func (JournalAppend) isCmd()                            {}
func (c JournalAppend) apply(s *State, _ uint64) Result { return s.as(c.Who).journalAppend(c) }
func (ReplayCtl) isCmd()                                {}
func (c ReplayCtl) apply(s *State, _ uint64) Result     { return s.as(c.Who).replayCtl(c) }

type auditState struct {
	journal   Ring
	decisions Ring
	seq       uint64 // shared by journal and decisions, first entry 1
	replay    string // /replay/status
	replayLog Ring   // /replay/ctl bytes (AO-off)
}

// JournalEntry is one control-journal line (spec namespace §8).
type JournalEntry struct {
	Seq     uint64        `json:"seq"`
	Kind    string        `json:"kind"`
	Path    string        `json:"path"`
	Payload string        `json:"payload"`
	Outcome string        `json:"outcome"`
	Error   *JournalError `json:"error,omitempty"`
	Role    string        `json:"role"`
	Ticket  string        `json:"ticket"`
}

// JournalError is the refusal of a journaled write.
type JournalError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type decisionEntry struct {
	Seq     uint64 `json:"seq"`
	Kind    string `json:"kind"`
	Outcome string `json:"outcome"`
	ID      string `json:"id,omitempty"`
	Target  string `json:"target,omitempty"`
	Path    string `json:"path,omitempty"`
	Role    string `json:"role"`
	Ticket  string `json:"ticket"`
}

// ErrorCode names an error class as the journal and replay show it.
func ErrorCode(err error) string {
	for _, c := range []struct {
		class error
		name  string
	}{
		{errs.ErrPermission, "Permission"}, {errs.ErrNotFound, "NotFound"}, {errs.ErrBusy, "Busy"},
		{errs.ErrInvalid, "Invalid"}, {errs.ErrTooBig, "TooBig"}, {errs.ErrQuota, "Quota"},
		{errs.ErrCut, "Cut"}, {errs.ErrClosed, "Closed"},
	} {
		if errors.Is(err, c.class) {
			return c.name
		}
	}
	return "Other"
}

// journalPayloadMax bounds the payload copied into one journal entry so an
// entry always fits the journal ring (the compiler checks it does).
const journalPayloadMax = generated.EcosystemAuditJournalPayloadMaxBytes

// governed runs a gated control write: the policy gate first, then fn,
// then the journal entry for the outcome either way.
func (s *State) governed(who Who, path string, line []byte, fn func() Result) Result {
	s.govInit()
	var r Result
	if err := s.policyGate(who, path); err != nil {
		r = Result{Err: err}
	} else {
		r = fn()
	}
	s.journalEntry(who, path, line, r.Err)
	return r
}

func (s *State) journalEntry(who Who, path string, line []byte, err error) {
	if !s.cfg.Gov.AuditEnable {
		return
	}
	kind := "host-control"
	if path == "/queen/ctl" {
		kind = "queen-ctl"
	}
	payload := string(bytes.TrimSpace(line))
	if len(payload) > journalPayloadMax {
		payload = payload[:journalPayloadMax]
	}
	s.gov.audit.seq++
	e := JournalEntry{Seq: s.gov.audit.seq, Kind: kind, Path: path, Payload: payload, Outcome: "ok", Role: who.Role, Ticket: ticketOrNone(who.Ticket)}
	if err != nil {
		e.Outcome = "err"
		e.Error = &JournalError{Code: ErrorCode(err), Message: errs.Message(err)}
	}
	b, _ := json.Marshal(e)
	s.ringLine(&s.gov.audit.journal, "journal", b, s.cfg.Gov.JournalMaxBytes)
}

func (s *State) decision(d decisionEntry) {
	if !s.cfg.Gov.AuditEnable {
		return
	}
	s.gov.audit.seq++
	d.Seq = s.gov.audit.seq
	b, _ := json.Marshal(d)
	s.ringLine(&s.gov.audit.decisions, "decisions", b, s.cfg.Gov.DecisionsMaxBytes)
}

// ringLine appends one line to an audit ring, dropping whole oldest lines
// when it would exceed max bytes.
func (s *State) ringLine(r *Ring, name string, line []byte, max int) {
	if name != "replay" {
		s.persist(record{K: name, Line: string(line)})
	}
	data := slices.Concat(r.Data, line, []byte{'\n'})
	if over := len(data) - max; over > 0 {
		cut := len(data)
		if i := bytes.IndexByte(data[over-1:], '\n'); i >= 0 {
			cut = over + i
		}
		if cut > len(data) {
			cut = len(data)
		}
		data = data[cut:]
		r.Base += uint64(cut)
		if !s.gov.restoring { // the durable log already holds the line from when it happened
			s.audit(fmt.Sprintf("audit %s truncation dropped_bytes=%d new_base=%d", name, cut, r.Base))
		}
	}
	r.Data = data
}

func (s *State) journalAppend(c JournalAppend) Result {
	j := &s.gov.audit.journal
	if c.Who.Role != "queen" {
		return Result{Err: errs.New(errs.ErrPermission, "EPERM")}
	}
	if c.Off >= 0 && uint64(c.Off) != j.End() {
		s.audit(fmt.Sprintf("audit journal append refused reason=offset off=%d end=%d", c.Off, j.End()))
		return Result{Err: errs.New(errs.ErrInvalid, "append-only offset %d mismatch; end is %d", c.Off, j.End())}
	}
	line := bytes.TrimSpace(c.Line)
	if len(line) < 2 || line[0] != '{' || !json.Valid(line) || bytes.ContainsAny(line, "\n") {
		s.audit(fmt.Sprintf("audit journal append refused reason=invalid-payload bytes=%d", len(c.Line)))
		return Result{Err: errs.New(errs.ErrInvalid, "invalid payload")}
	}
	if len(line)+1 > s.cfg.Gov.JournalMaxBytes {
		return Result{Err: errs.New(errs.ErrQuota, "buffer full")}
	}
	s.ringLine(j, "journal", line, s.cfg.Gov.JournalMaxBytes)
	return Result{Written: len(c.Line), Offset: j.End()}
}

// ReplayRequest is the /replay/ctl schema.
type ReplayRequest struct {
	From *uint64 `json:"from"`
}

// ParseReplay decodes one /replay/ctl line strictly.
func ParseReplay(line []byte) (uint64, error) {
	var r ReplayRequest
	if err := strictJSON(line, &r); err != nil || r.From == nil {
		return 0, errs.New(errs.ErrInvalid, "invalid payload")
	}
	return *r.From, nil
}

// ReplayAck is the ACK string of a journal entry for the replay sequence.
func ReplayAck(e JournalEntry) string {
	if e.Outcome == "ok" {
		return "OK"
	}
	if e.Error == nil {
		return "ERR Other"
	}
	return "ERR " + e.Error.Code + " " + e.Error.Message
}

// replayReparse checks that a journaled entry's payload still decodes as its
// outcome says: replay re-derives each decision's parsing step without
// re-executing any effect.
func replayReparse(e JournalEntry) bool {
	var err error
	switch e.Path {
	case "/queen/ctl":
		var r CtlCommand
		if r, err = ParseCtl([]byte(e.Payload)); err == nil {
			err = ctlShape(r)
		}
	case "/queen/lifecycle/ctl":
		_, err = ParseLifecycle([]byte(e.Payload))
	default:
		return true
	}
	if err != nil {
		return e.Outcome == "err" && e.Error != nil && e.Error.Code == "Invalid"
	}
	return e.Outcome == "ok" || e.Error == nil || e.Error.Code != "Invalid" || e.Error.Message != "invalid payload"
}

// Replay computes the replay of the journal from byte cursor from.
func Replay(j Ring, from uint64, maxEntries int) (entries int, seq string, match bool, err error) {
	if from < j.Base || from > j.End() {
		return 0, "", false, errs.New(errs.ErrInvalid, "replay out of window")
	}
	h := fnv.New64a()
	match = true
	off := j.Base
	for _, line := range bytes.SplitAfter(j.Data, []byte{'\n'}) {
		if len(line) == 0 {
			continue
		}
		off += uint64(len(line))
		if off <= from {
			continue
		}
		var e JournalEntry
		if json.Unmarshal(line, &e) != nil || (e.Kind != "queen-ctl" && e.Kind != "host-control") {
			continue
		}
		entries++
		if entries > maxEntries {
			return 0, "", false, errs.New(errs.ErrInvalid, "replay window exceeds %d entries", maxEntries)
		}
		h.Write([]byte(ReplayAck(e) + "\n"))
		match = match && replayReparse(e)
	}
	return entries, fmt.Sprintf("%016x", h.Sum64()), match, nil
}

func (s *State) replayCtl(c ReplayCtl) Result {
	a := &s.gov.audit
	if c.Who.Role != "queen" {
		return Result{Err: errs.New(errs.ErrPermission, "EPERM")}
	}
	if c.Off >= 0 && uint64(c.Off) != a.replayLog.End() {
		s.audit(fmt.Sprintf("replay ctl refused reason=offset off=%d end=%d", c.Off, a.replayLog.End()))
		return Result{Err: errs.New(errs.ErrInvalid, "append-only offset %d mismatch; end is %d", c.Off, a.replayLog.End())}
	}
	if len(c.Line) > s.cfg.Gov.ReplayCtlMaxBytes {
		return Result{Err: errs.New(errs.ErrQuota, "buffer full")}
	}
	from, err := ParseReplay(c.Line)
	if err != nil {
		a.replay = `{"state":"err","reason":"invalid-payload"}`
		s.audit("replay refused reason=invalid-payload")
		return Result{Err: err}
	}
	s.ringLine(&a.replayLog, "replay", bytes.TrimSpace(c.Line), s.cfg.Gov.ReplayCtlMaxBytes)
	n, seq, match, err := Replay(a.journal, from, s.cfg.Gov.ReplayMaxEntries)
	if err != nil {
		reason := "out-of-window"
		if errs.Message(err) != "replay out of window" {
			reason = "too-many-entries"
		}
		a.replay = fmt.Sprintf(`{"state":"err","from":%d,"reason":"%s","journal_base":%d,"journal_next":%d}`, from, reason, a.journal.Base, a.journal.End())
		s.audit(fmt.Sprintf("replay refused from=%d reason=%s", from, reason))
		return Result{Err: err}
	}
	a.replay = fmt.Sprintf(`{"state":"ok","from":%d,"to":%d,"entries":%d,"match":%t,"sequence_fnv1a":"%s"}`, from, a.journal.End(), n, match, seq)
	s.audit(fmt.Sprintf("replay ok from=%d to=%d entries=%d match=%t sequence_fnv1a=%s", from, a.journal.End(), n, match, seq))
	return Result{Written: len(c.Line)}
}
