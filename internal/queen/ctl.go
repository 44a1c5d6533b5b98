package queen

import (
	"fmt"

	"github.com/cohesix/cohesix/internal/auditline"
	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/gpu"
)

// CtlWrite is one line written to /queen/ctl. The queen parses it once
// (ParseCtl); the parsed command comes back in Result.Ctl.
//
// Vet, if set, is the writer's check of the targets a bind or mount would
// install in its session: the namespace owns its path grammar and its
// services. The queen calls it on the parsed command before the policy
// gate, the role check or the journal, so a refused target changes
// nothing but the one deny line. It runs on the queen's goroutine and
// must only read.
type CtlWrite struct {
	Who  Who
	Line []byte
	Vet  func(CtlCommand) error
}

func (CtlWrite) isCmd()                                {}
func (c CtlWrite) apply(s *State, nowMs uint64) Result { return s.as(c.Who).ctlWrite(c, nowMs) }

// CtlCommand is one /queen/ctl line parsed: exactly one of Spawn, Kill,
// Bind and Mount, or a Budget alone (the default for later spawns).
type CtlCommand struct {
	Spawn  *string   `json:"spawn"`
	Ticks  *uint64   `json:"ticks"`
	Budget *Budget   `json:"budget"`
	Lease  *gpuLease `json:"lease"`
	Kill   *string   `json:"kill"`
	Bind   *bindReq  `json:"bind"`
	Mount  *mountReq `json:"mount"`
}

type gpuLease struct {
	GPUID    string `json:"gpu_id"`
	MemMB    uint32 `json:"mem_mb"`
	Streams  uint8  `json:"streams"`
	TTLs     uint32 `json:"ttl_s"`
	Priority *uint8 `json:"priority"`
}

type bindReq struct {
	From string `json:"from"`
	To   string `json:"to"`
}

type mountReq struct {
	Service string `json:"service"`
	At      string `json:"at"`
}

// ParseCtl decodes one /queen/ctl line strictly: unknown keys, trailing data
// and ambiguous shapes are refused. It is the only /queen/ctl parser: the
// state machine and replay both call it.
func ParseCtl(line []byte) (CtlCommand, error) {
	var r CtlCommand
	if strictJSON(line, &r) != nil || checkStrictKeys(line) != nil {
		return r, errs.New(errs.ErrInvalid, "invalid payload")
	}
	n := 0
	for _, set := range []bool{r.Spawn != nil, r.Kill != nil, r.Bind != nil, r.Mount != nil} {
		if set {
			n++
		}
	}
	switch {
	case n == 0 && r.Budget != nil && r.Ticks == nil && r.Lease == nil:
		return r, nil // default budget for later spawns
	case n != 1:
		return r, errs.New(errs.ErrInvalid, "invalid payload")
	case r.Spawn == nil && (r.Ticks != nil || r.Budget != nil || r.Lease != nil):
		return r, errs.New(errs.ErrInvalid, "invalid payload")
	}
	return r, nil
}

// ctlShape is the stateless part of the spawn checks in spawn and
// spawnGPU: an unknown role, a heartbeat without ticks or with a lease, a
// gpu spawn without a complete lease, or ticks inside a budget make a line
// an invalid payload whatever the hive's state. Replay re-runs it with
// ParseCtl (DECISIONS P14).
func ctlShape(r CtlCommand) error {
	if r.Spawn == nil {
		return nil
	}
	bad := errs.New(errs.ErrInvalid, "invalid payload")
	if r.Budget != nil && r.Budget.Ticks != nil {
		return bad
	}
	switch *r.Spawn {
	case "heartbeat":
		if !heartbeatShape(r) {
			return bad
		}
	case "gpu":
		if !gpuLeaseShape(r, gpu.DefaultLimits().IDMax) {
			return bad
		}
	default:
		return bad
	}
	return nil
}

// heartbeatShape: a heartbeat spawn has positive ticks and no lease.
func heartbeatShape(r CtlCommand) bool {
	return r.Lease == nil && r.Ticks != nil && *r.Ticks != 0
}

// gpuLeaseShape: a gpu spawn has a complete lease and no ticks.
func gpuLeaseShape(r CtlCommand, idMax int) bool {
	l := r.Lease
	return l != nil && r.Ticks == nil && l.MemMB != 0 && l.Streams != 0 && l.TTLs != 0 && gpu.ValidID(l.GPUID, idMax)
}

// binding is the bind or mount the command asks for; ok is false for
// the other commands.
func (r CtlCommand) binding() (b Bind, ok bool) {
	switch {
	case r.Bind != nil:
		return Bind{From: r.Bind.From, To: r.Bind.To}, true
	case r.Mount != nil:
		return Bind{Mount: r.Mount.Service, To: r.Mount.At}, true
	}
	return Bind{}, false
}

// bindAudit is the audit line of a bind or mount command; deny, if not
// empty, is the refusal's "outcome=... reason=... " fields.
func (r CtlCommand) bindAudit(deny string) string {
	if r.Mount != nil {
		return fmt.Sprintf("mount %sservice=%s at=%s", deny, auditline.Field(r.Mount.Service), auditline.Field(r.Mount.At))
	}
	return fmt.Sprintf("bind %sfrom=%s to=%s", deny, auditline.Field(r.Bind.From), auditline.Field(r.Bind.To))
}

// ctlWrite applies one /queen/ctl line: parsed here, vetted by the writer,
// then decided under the policy gate and journaled.
func (s *State) ctlWrite(c CtlWrite, nowMs uint64) Result {
	r, perr := ParseCtl(c.Line)
	if perr == nil && c.Vet != nil && (r.Bind != nil || r.Mount != nil) {
		if err := c.Vet(r); err != nil {
			// The namespace's own refusal: no transport fields, as before
			// the queen did the parsing.
			s.auditUnattributed(r.bindAudit("outcome=deny reason=invalid-path "))
			return Result{Err: err}
		}
	}
	res := s.governed(c.Who, "/queen/ctl", c.Line, func() Result { return s.ctl(c.Who, r, perr, len(c.Line), nowMs) })
	if perr == nil {
		res.Ctl = &r
	}
	return res
}

// ctl decides a parsed /queen/ctl command (perr is ParseCtl's error) of n
// bytes.
func (s *State) ctl(who Who, r CtlCommand, perr error, n int, nowMs uint64) Result {
	if who.Role != "queen" {
		s.audit(fmt.Sprintf("queen-ctl outcome=deny role=%s reason=not-queen", who.Role))
		return Result{Err: errs.New(errs.ErrPermission, "EPERM")}
	}
	if perr != nil {
		s.audit(fmt.Sprintf("queen-ctl outcome=deny reason=invalid-payload bytes=%d", n))
		return Result{Err: perr}
	}
	if b, ok := r.binding(); ok {
		if err := s.gate("new-work"); err != nil {
			return Result{Err: err}
		}
		s.audit(r.bindAudit(""))
		return Result{Bind: &b}
	}
	switch {
	case r.Spawn != nil:
		return s.spawn(r, nowMs)
	case r.Kill != nil:
		return s.kill(*r.Kill)
	default: // budget
		s.defBudget = *r.Budget
		s.persist(record{K: "budget", Budget: r.Budget})
		s.audit("budget default " + budgetString(s.defBudget))
		return Result{}
	}
}
