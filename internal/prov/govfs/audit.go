package govfs

import (
	"fmt"

	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/prov"
	"github.com/cohesix/cohesix/internal/queen"
)

// Audit returns /audit: the journal (operators append at its end), the
// queen's decisions, and the export summary of both rings.
func Audit(cfg Config) ns.Provider {
	q, g := cfg.Queen, cfg.Gov
	return ns.Plain(ns.Static{DirOps: ns.DirOps{Path: "/audit"}, Entries: []ns.Entry{
		{Name: "journal", Node: ring(q, "/audit/journal", func(v queen.Gov) queen.Ring { return v.Journal },
			func(w queen.Who, l []byte, off int64) queen.Cmd {
				return queen.JournalAppend{Who: w, Line: l, Off: off}
			})},
		{Name: "decisions", Node: ring(q, "/audit/decisions", func(v queen.Gov) queen.Ring { return v.Decisions }, nil)},
		{Name: "export", Node: ns.Content{ReadOnly: ns.ReadOnly{Path: "/audit/export"}, Render: func() []byte {
			sn := q.Snapshot().Gov
			return fmt.Appendf(nil, `{"journal_base":%d,"journal_next":%d,"decisions_base":%d,"decisions_next":%d,"replay_enabled":%t,"replay_max_entries":%d}`+"\n",
				sn.Journal.Base, sn.Journal.End(), sn.Decisions.Base, sn.Decisions.End(), g.ReplayEnable, g.ReplayMaxEntries)
		}}},
	}})
}

// Replay returns /replay: ctl takes replay lines at its end and keeps
// them, status shows the replay in progress under its byte cap.
func Replay(cfg Config) ns.Provider {
	q, max := cfg.Queen, cfg.Gov.ReplayStatusMaxBytes
	return ns.Plain(ns.Static{DirOps: ns.DirOps{Path: "/replay"}, Entries: []ns.Entry{
		{Name: "ctl", Node: ring(q, "/replay/ctl", func(v queen.Gov) queen.Ring { return v.ReplayLog },
			func(w queen.Who, l []byte, off int64) queen.Cmd { return queen.ReplayCtl{Who: w, Line: l, Off: off} })},
		{Name: "status", Node: ns.Content{ReadOnly: ns.ReadOnly{Path: "/replay/status"}, Render: func() []byte {
			return ns.Capped([]byte(q.Snapshot().Gov.Replay+"\n"), max)
		}}},
	}})
}

// ring serves the governance ring pick chooses; cmd, if not nil, takes
// appends at the ring's end, one line at a time.
func ring(q prov.Queen, path string, pick func(queen.Gov) queen.Ring, cmd prov.LineCmd) ns.Node {
	f := ringFile{q: q, path: path, pick: pick}
	if cmd != nil {
		f.submit = prov.Submitter(q, cmd)
	}
	return f
}

// ringFile serves a governance ring with absolute offsets: bytes before
// the base were dropped by truncation.
type ringFile struct {
	ns.NotDir
	q      prov.Queen
	path   string
	pick   func(queen.Gov) queen.Ring
	submit func(c ns.Caller, line []byte, off int64) error // nil: read-only
}

func (f ringFile) ring() queen.Ring { return f.pick(f.q.Snapshot().Gov) }

// Stat implements ns.Node.
func (f ringFile) Stat() (ns.Stat, error) {
	k := ns.KindReadOnly
	if f.submit != nil {
		k = ns.KindAppendOffset
	}
	return ns.Stat{Kind: k, Size: f.ring().End()}, nil
}

// ReadAt implements ns.Node.
func (f ringFile) ReadAt(p []byte, off int64) (int, error) {
	r := f.ring()
	if off < int64(r.Base) {
		return 0, errs.New(errs.ErrInvalid, "append-only offset %d is stale; oldest available %d", off, r.Base)
	}
	return ns.ReadBytes(r.Data, p, off-int64(r.Base))
}

// Base implements ns.Windowed.
func (f ringFile) Base() (uint64, error) { return f.ring().Base, nil }

// Append implements ns.Node.
func (f ringFile) Append(c ns.Caller, p []byte, off int64) (int, error) {
	if f.submit == nil {
		return ns.ReadOnly{Path: f.path}.Append(c, p, off)
	}
	return ns.LineCtl{Kind: ns.KindAppendOffset, Submit: f.submit}.Append(c, p, off)
}

var _ ns.Windowed = ringFile{}
