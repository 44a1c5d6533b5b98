package queen

import (
	"bytes"
	"fmt"
	"maps"
	"strings"

	"github.com/cohesix/cohesix/internal/errs"
)

// LifecycleCtl is one line written to /queen/lifecycle/ctl (spec
// roles-tickets §7): a single command token, trimmed, case-insensitive.
type LifecycleCtl struct {
	Who  Who
	Line []byte
}

func (LifecycleCtl) isCmd() {}
func (c LifecycleCtl) apply(s *State, nowMs uint64) Result {
	return s.as(c.Who).governed(c.Who, "/queen/lifecycle/ctl", c.Line, func() Result { return s.lifecycleCtl(c, nowMs) })
}

// LifecycleRule is one row of the transition table.
type LifecycleRule struct {
	Target string
	From   []string // states the command is allowed from
	Leases bool     // refused while workers are live
}

// LifecycleRules is the transition table of roles-tickets §7.
var LifecycleRules = map[string]LifecycleRule{
	"cordon":  {Target: "DRAINING", From: []string{"ONLINE", "DEGRADED"}},
	"drain":   {Target: "QUIESCED", From: []string{"DRAINING"}, Leases: true},
	"quiesce": {Target: "QUIESCED", From: []string{"ONLINE", "DEGRADED", "DRAINING"}, Leases: true},
	"resume":  {Target: "ONLINE", From: []string{"BOOTING", "DEGRADED", "DRAINING", "QUIESCED", "OFFLINE"}},
	"reset":   {Target: "BOOTING", From: []string{"DEGRADED", "ONLINE", "DRAINING", "QUIESCED", "OFFLINE"}, Leases: true},
}

// LifecycleAllowed reports whether cmd may run in state (ignoring leases):
// cohsh uses it for its local check, the queen for the real one.
func LifecycleAllowed(cmd, state string) bool {
	r, ok := LifecycleRules[cmd]
	if !ok || r.Target == state {
		return false
	}
	for _, f := range r.From {
		if f == state {
			return true
		}
	}
	return false
}

// ParseLifecycle returns the command of one ctl line: exactly one token,
// trimmed and lower-cased, naming a known command.
func ParseLifecycle(line []byte) (string, error) {
	f := strings.Fields(string(bytes.TrimSpace(line)))
	if len(f) != 1 {
		return "", errs.New(errs.ErrInvalid, "invalid lifecycle command")
	}
	cmd := strings.ToLower(f[0])
	if _, ok := LifecycleRules[cmd]; !ok {
		return "", errs.New(errs.ErrInvalid, "invalid lifecycle command")
	}
	return cmd, nil
}

// LeasesError refuses a lifecycle command while workers are live. It is a
// Busy refusal on 9P; the console shows it as a policy denial (EPERM), as
// the spec's in-VM console does.
type LeasesError struct{ Leases int }

func (e *LeasesError) Error() string { return fmt.Sprintf("lifecycle outstanding leases %d", e.Leases) }

// Unwrap makes a LeasesError an errs.ErrBusy refusal.
func (e *LeasesError) Unwrap() error { return errs.ErrBusy }

// Leases is the number of outstanding leases: the live (running) workers.
func (s *State) Leases() int {
	return countFunc(maps.Values(s.workers), func(w *Worker) bool { return w.Running })
}

// auditToken bounds an operator-supplied token for an audit line.
func auditToken(s string) string {
	s = strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f {
			return '_'
		}
		return r
	}, s)
	if len(s) > 32 {
		s = s[:32]
	}
	if s == "" {
		return "none"
	}
	return s
}

func (s *State) lifecycleCtl(c LifecycleCtl, nowMs uint64) Result {
	state := s.lifecycle.State
	if c.Who.Role != "queen" {
		s.audit(fmt.Sprintf("lifecycle denied action=ctl state=%s reason=not-queen role=%s", state, c.Who.Role))
		return Result{Err: errs.New(errs.ErrPermission, "EPERM")}
	}
	cmd, err := ParseLifecycle(c.Line)
	if err != nil {
		s.audit(fmt.Sprintf("lifecycle denied action=%s state=%s reason=invalid-command", auditToken(string(bytes.TrimSpace(c.Line))), state))
		return Result{Err: err}
	}
	if !LifecycleAllowed(cmd, state) {
		s.audit(fmt.Sprintf("lifecycle denied action=%s state=%s reason=invalid-transition", cmd, state))
		return Result{Err: errs.New(errs.ErrInvalid, "invalid lifecycle transition")}
	}
	rule := LifecycleRules[cmd]
	if n := s.Leases(); rule.Leases && n > 0 {
		s.audit(fmt.Sprintf("lifecycle denied action=%s state=%s reason=outstanding-leases leases=%d", cmd, state, n))
		return Result{Err: &LeasesError{Leases: n}}
	}
	s.transition(rule.Target, cmd, nowMs)
	s.persist(record{K: "lifecycle", State: rule.Target, Reason: cmd, Since: nowMs})
	s.sessionsFollowLifecycle(nowMs)
	return Result{}
}
