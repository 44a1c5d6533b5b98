package queen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/cohesix/cohesix/internal/auditline"
	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/ns"
)

// Action is one entry of /actions/queue: a single-use approval or denial
// of writes to Target (spec namespace §7).
type Action struct {
	ID       string `json:"id"`
	Target   string `json:"target"`
	Decision string `json:"decision"` // approve or deny
	State    string `json:"-"`        // queued or consumed
}

// Outcome is what the gate does with a write the action meets: allow
// (approve) or deny.
func (a Action) Outcome() string {
	if a.Decision == "deny" {
		return "deny"
	}
	return "allow"
}

// ActionAppend is one line written to /actions/queue.
type ActionAppend struct {
	Who  Who
	Line []byte
}

// PolicyCtl is one line written to /policy/ctl.
type PolicyCtl struct {
	Who  Who
	Line []byte
}

func (ActionAppend) isCmd()                            {}
func (c ActionAppend) apply(s *State, _ uint64) Result { return s.as(c.Who).actionAppend(c) }
func (PolicyCtl) isCmd()                               {}
func (c PolicyCtl) apply(s *State, _ uint64) Result    { return s.as(c.Who).policyCtl(c) }

type policyState struct {
	actions []Action // queued and consumed, oldest first
	ctl     []byte   // accepted /policy/ctl lines
}

var actionID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func strictJSON(line []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimSpace(line)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil || dec.More() {
		return errs.New(errs.ErrInvalid, "invalid payload")
	}
	return nil
}

// NormalTarget validates an action or rule target: absolute, 1..depth
// components, none empty, ".", ".." or "*" (unless wildcard), and returns
// its normal form.
func NormalTarget(p string, depth int, wildcard bool) (string, error) {
	bad := errs.New(errs.ErrInvalid, "invalid payload")
	if !strings.HasPrefix(p, "/") || p == "/" || strings.ContainsRune(p, 0) || auditline.HasControl(p) {
		return "", bad
	}
	comps := strings.Split(p[1:], "/")
	if len(comps) > depth {
		return "", bad
	}
	for _, c := range comps {
		if ns.Reserved(c) || (c == "*" && !wildcard) || (c != "*" && strings.Contains(c, "*")) {
			return "", bad
		}
	}
	return "/" + strings.Join(comps, "/"), nil
}

// ParseAction decodes one /actions/queue line strictly.
func ParseAction(line []byte, depth int) (Action, error) {
	var a struct {
		ID       *string `json:"id"`
		Target   *string `json:"target"`
		Decision *string `json:"decision"`
	}
	bad := errs.New(errs.ErrInvalid, "invalid payload")
	if err := strictJSON(line, &a); err != nil {
		return Action{}, err
	}
	if a.ID == nil || a.Target == nil || a.Decision == nil || !actionID.MatchString(*a.ID) {
		return Action{}, bad
	}
	if *a.Decision != "approve" && *a.Decision != "deny" {
		return Action{}, bad
	}
	t, err := NormalTarget(*a.Target, depth, false)
	if err != nil {
		return Action{}, err
	}
	return Action{ID: *a.ID, Target: t, Decision: *a.Decision, State: "queued"}, nil
}

// ActionLine renders an action as its /actions/queue JSONL line.
func ActionLine(a Action) string {
	b, _ := json.Marshal(a)
	return string(b)
}

// ActionStatus renders /actions/<id>/status.
func ActionStatus(a Action, max int) string {
	b, _ := json.Marshal(struct {
		ID       string `json:"id"`
		Decision string `json:"decision"`
		State    string `json:"state"`
	}{a.ID, a.Decision, a.State})
	if len(b)+1 > max {
		b, _ = json.Marshal(struct {
			ID    string `json:"id"`
			State string `json:"state"`
		}{a.ID, "oversize"})
	}
	return string(b)
}

func ticketOrNone(t string) string {
	if t == "" {
		return "none"
	}
	return t
}

func queueBytes(as []Action) int {
	n := 0
	for _, a := range as {
		n += len(ActionLine(a)) + 1
	}
	return n
}

func (s *State) actionAppend(c ActionAppend) Result {
	cfg := s.cfg.Gov
	if c.Who.Role != "queen" {
		s.audit(fmt.Sprintf("policy-action outcome=deny role=%s reason=not-queen", c.Who.Role))
		return Result{Err: errs.New(errs.ErrPermission, "EPERM")}
	}
	a, err := ParseAction(c.Line, cfg.WalkDepth)
	if err != nil {
		s.audit(fmt.Sprintf("policy-action outcome=deny role=%s ticket=%s reason=invalid-payload bytes=%d", c.Who.Role, ticketOrNone(c.Who.Ticket), len(c.Line)))
		return Result{Err: err}
	}
	p := &s.gov.policy
	if slices.ContainsFunc(p.actions, func(x Action) bool { return x.ID == a.ID && x.State == "queued" }) {
		s.audit(fmt.Sprintf("policy-action outcome=deny role=%s ticket=%s reason=duplicate-id id=%s", c.Who.Role, ticketOrNone(c.Who.Ticket), a.ID))
		return Result{Err: errs.New(errs.ErrInvalid, "invalid payload")}
	}
	next := append(slices.Clone(p.actions), a)
	// Consumed approvals make room first, oldest first; queued ones never
	// go silently.
	for len(next) > cfg.QueueMaxEntries || queueBytes(next) > cfg.QueueMaxBytes {
		i := slices.IndexFunc(next, func(x Action) bool { return x.State == "consumed" })
		if i < 0 {
			s.audit(fmt.Sprintf("policy-action outcome=deny role=%s ticket=%s reason=queue-full id=%s max_entries=%d max_bytes=%d", c.Who.Role, ticketOrNone(c.Who.Ticket), a.ID, cfg.QueueMaxEntries, cfg.QueueMaxBytes))
			return Result{Err: errs.New(errs.ErrQuota, "buffer full")}
		}
		next = slices.Delete(next, i, i+1)
	}
	p.actions = next
	s.persist(record{K: "action", ID: a.ID, Target: a.Target, Decision: a.Decision})
	s.audit(fmt.Sprintf("policy-action role=%s ticket=%s id=%s decision=%s target=%s", c.Who.Role, ticketOrNone(c.Who.Ticket), a.ID, a.Decision, a.Target))
	s.decision(decisionEntry{Kind: "policy-action", Outcome: a.Decision, ID: a.ID, Target: a.Target, Role: c.Who.Role, Ticket: ticketOrNone(c.Who.Ticket)})
	return Result{Written: len(c.Line)}
}

// RuleMatches reports whether a rule target matches path component by
// component, "*" matching any one component.
func RuleMatches(target, path string) bool {
	t := strings.Split(strings.Trim(target, "/"), "/")
	p := strings.Split(strings.Trim(path, "/"), "/")
	if len(t) != len(p) {
		return false
	}
	for i := range t {
		if t[i] != "*" && t[i] != p[i] {
			return false
		}
	}
	return true
}

// policyGate applies the approval gate to a write of path (spec namespace
// §7 gate semantics). It consumes at most one action.
func (s *State) policyGate(who Who, path string) error {
	cfg := s.cfg.Gov
	if !cfg.PolicyEnable || !slices.ContainsFunc(cfg.PolicyRules, func(r PolicyRule) bool { return RuleMatches(r.Target, path) }) {
		return nil
	}
	tk := ticketOrNone(who.Ticket)
	p := &s.gov.policy
	i := slices.IndexFunc(p.actions, func(a Action) bool { return a.State == "queued" && a.Target == path })
	if i < 0 {
		s.audit(fmt.Sprintf("policy-gate outcome=deny role=%s ticket=%s reason=missing-approval path=%s", who.Role, tk, auditline.Field(path)))
		s.decision(decisionEntry{Kind: "policy-gate", Outcome: "deny", Path: path, Role: who.Role, Ticket: tk})
		return errs.New(errs.ErrPermission, "EPERM")
	}
	p.actions = slices.Clone(p.actions)
	a := &p.actions[i]
	a.State = "consumed"
	s.persist(record{K: "consume", ID: a.ID})
	outcome := a.Outcome()
	s.audit(fmt.Sprintf("policy-gate outcome=%s role=%s ticket=%s id=%s target=%s path=%s", outcome, who.Role, tk, a.ID, a.Target, auditline.Field(path)))
	s.decision(decisionEntry{Kind: "policy-gate", Outcome: outcome, ID: a.ID, Target: a.Target, Path: path, Role: who.Role, Ticket: tk})
	if outcome == "deny" {
		return errs.New(errs.ErrPermission, "EPERM")
	}
	return nil
}

// PolicyCtlRequest is one /policy/ctl line (roadmap 24c).
type PolicyCtlRequest struct {
	Op     string  `json:"op"`
	ID     string  `json:"id"`
	SHA256 *string `json:"sha256,omitempty"`
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ParsePolicyCtl decodes one /policy/ctl line strictly: apply needs a
// sha256, rollback must not carry one.
func ParsePolicyCtl(line []byte) (PolicyCtlRequest, error) {
	var r PolicyCtlRequest
	bad := errs.New(errs.ErrInvalid, "invalid payload")
	if err := strictJSON(line, &r); err != nil {
		return r, err
	}
	if !actionID.MatchString(r.ID) {
		return r, bad
	}
	switch r.Op {
	case "apply":
		if r.SHA256 == nil || !sha256Hex.MatchString(*r.SHA256) {
			return r, bad
		}
	case "rollback":
		if r.SHA256 != nil {
			return r, bad
		}
	default:
		return r, bad
	}
	return r, nil
}

func (s *State) policyCtl(c PolicyCtl) Result {
	if c.Who.Role != "queen" {
		return Result{Err: errs.New(errs.ErrPermission, "EPERM")}
	}
	r, err := ParsePolicyCtl(c.Line)
	if err != nil {
		s.audit(fmt.Sprintf("policy-ctl outcome=deny role=%s reason=invalid-payload bytes=%d", c.Who.Role, len(c.Line)))
		return Result{Err: err}
	}
	line := slices.Concat(bytes.TrimSpace(c.Line), []byte{'\n'})
	p := &s.gov.policy
	if len(p.ctl)+len(line) > s.cfg.Gov.CtlMaxBytes {
		s.audit(fmt.Sprintf("policy-ctl outcome=deny role=%s reason=buffer-full max=%d", c.Who.Role, s.cfg.Gov.CtlMaxBytes))
		return Result{Err: errs.New(errs.ErrQuota, "buffer full")}
	}
	p.ctl = append(slices.Clip(p.ctl), line...)
	s.audit(fmt.Sprintf("policy-ctl op=%s id=%s role=%s ticket=%s", r.Op, r.ID, c.Who.Role, ticketOrNone(c.Who.Ticket)))
	return Result{Written: len(c.Line)}
}
