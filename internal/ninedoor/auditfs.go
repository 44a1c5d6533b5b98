package ninedoor

import (
	"fmt"

	"github.com/cohesix/cohesix/internal/errs"

	"github.com/cohesix/cohesix/internal/queen"
)

// ringFile serves an audit ring (journal, decisions) with absolute offsets:
// bytes before the base were dropped by truncation.
type ringFile struct {
	NotDir
	ns   *Namespace
	ring func(*queen.Snapshot) queen.Ring
	cmd  func(c Caller, line []byte, off int64) queen.Cmd // nil: read-only
	path string
}

func (f ringFile) Stat() (Stat, error) {
	k := KindReadOnly
	if f.cmd != nil {
		k = KindAppendOffset
	}
	return Stat{Kind: k, Size: f.ring(f.ns.q.Snapshot()).End()}, nil
}

func (f ringFile) ReadAt(p []byte, off int64) (int, error) {
	r := f.ring(f.ns.q.Snapshot())
	if off < int64(r.Base) {
		return 0, errs.New(errs.ErrInvalid, "append-only offset %d is stale; oldest available %d", off, r.Base)
	}
	return readBytes(r.Data, p, off-int64(r.Base))
}

// Base implements Windowed.
func (f ringFile) Base() (uint64, error) { return f.ring(f.ns.q.Snapshot()).Base, nil }

func (f ringFile) Append(c Caller, p []byte, off int64) (int, error) {
	if f.cmd == nil {
		return ReadOnly{Path: f.path}.Append(c, p, off)
	}
	return lineCtl{ns: f.ns, kind: KindAppendOffset, cmd: f.cmd}.Append(c, p, off)
}

func (ns *Namespace) auditDir() Node {
	g := ns.q.Gov()
	return Static{DirOps: DirOps{Path: "/audit"}, Entries: []Entry{
		{Name: "journal", Node: ringFile{ns: ns, path: "/audit/journal",
			ring: func(sn *queen.Snapshot) queen.Ring { return sn.Gov.Journal },
			cmd: func(c Caller, l []byte, off int64) queen.Cmd {
				return queen.JournalAppend{Who: queen.WhoOf(c), Line: l, Off: off}
			}}},
		{Name: "decisions", Node: ringFile{ns: ns, path: "/audit/decisions",
			ring: func(sn *queen.Snapshot) queen.Ring { return sn.Gov.Decisions }}},
		{Name: "export", Node: Content{ReadOnly: ReadOnly{Path: "/audit/export"}, Render: func() []byte {
			sn := ns.q.Snapshot().Gov
			return fmt.Appendf(nil, `{"journal_base":%d,"journal_next":%d,"decisions_base":%d,"decisions_next":%d,"replay_enabled":%t,"replay_max_entries":%d}`+"\n",
				sn.Journal.Base, sn.Journal.End(), sn.Decisions.Base, sn.Decisions.End(), g.ReplayEnable, g.ReplayMaxEntries)
		}}},
	}}
}

func (ns *Namespace) replayDir() Node {
	g := ns.q.Gov()
	return Static{DirOps: DirOps{Path: "/replay"}, Entries: []Entry{
		{Name: "ctl", Node: ringFile{ns: ns, path: "/replay/ctl",
			ring: func(sn *queen.Snapshot) queen.Ring { return sn.Gov.ReplayLog },
			cmd: func(c Caller, l []byte, off int64) queen.Cmd {
				return queen.ReplayCtl{Who: queen.WhoOf(c), Line: l, Off: off}
			}}},
		{Name: "status", Node: Content{ReadOnly: ReadOnly{Path: "/replay/status"}, Render: func() []byte {
			return capped([]byte(ns.q.Snapshot().Gov.Replay+"\n"), g.ReplayStatusMaxBytes)
		}}},
	}}
}
