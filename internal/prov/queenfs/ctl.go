package queenfs

import (
	"fmt"

	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/queen"
)

// ctlLine submits one /queen/ctl line to the queen, which parses it and
// asks ctlTargets about a bind or mount before deciding, then installs an
// approved binding in the writer's session.
func (f *FS) ctlLine(c ns.Caller, line []byte) error {
	vet := func(cmd queen.CtlCommand) error { _, _, err := f.ctlTargets(cmd); return err }
	r, err := f.do(queen.CtlWrite{Who: queen.WhoOf(c), Line: line, Vet: vet})
	if err != nil || r.Bind == nil {
		return err
	}
	from, to, _ := f.ctlTargets(*r.Ctl) // vetted before the queen decided
	if ns.Join(from) != ns.Join(to) {
		if err := f.cfg.Bind(c, from, to); err != nil {
			f.cfg.Queen.Audit(fmt.Sprintf("bind outcome=deny reason=buffer-full max=%d", f.cfg.MaxBinds))
			return err
		}
	}
	return nil
}

// ctlTargets resolves a bind's or mount's source and target in the
// namespace; an invalid path or unknown service is refused. Bind and mount
// targets obey the path grammar's BindTarget: empty components, "*" and
// the root alone are refused (spec secure9p §9).
func (f *FS) ctlTargets(c queen.CtlCommand) (from, to []string, err error) {
	var e1, e2 error
	switch {
	case c.Bind != nil:
		from, e1 = f.cfg.Limits.BindTarget(c.Bind.From)
		to, e2 = f.cfg.Limits.BindTarget(c.Bind.To)
	case c.Mount != nil:
		var ok bool
		if from, ok = f.cfg.Mounts[c.Mount.Service]; !ok {
			e1 = errs.ErrInvalid
		}
		to, e2 = f.cfg.Limits.BindTarget(c.Mount.At)
	}
	if e1 != nil || e2 != nil {
		return nil, nil, errs.New(errs.ErrInvalid, "invalid path")
	}
	return from, to, nil
}
