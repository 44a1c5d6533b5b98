package queenfs

import (
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/queen"
)

// lifecycleDir is /queen/lifecycle. Its ctl takes single-token commands
// (cordon, drain, resume, quiesce, reset), one per line, decided by the
// queen.
func (f *FS) lifecycleDir() ns.Node {
	ctl := lineCtl{line: func(c ns.Caller, line []byte) error {
		_, err := f.do(queen.LifecycleCtl{Who: queen.WhoOf(c), Line: line})
		return err
	}}
	return ns.Static{DirOps: ns.DirOps{Path: "/queen/lifecycle"}, Entries: []ns.Entry{{Name: "ctl", Node: ctl}}}
}
