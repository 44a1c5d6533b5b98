package queenfs

import (
	"context"

	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/queen"
)

// ingest submits one ingest command; the queen records its outcome in its
// ingest store, when it has one, before answering (queen.DoIngest).
func (f *FS) ingest(c queen.Cmd) (queen.Result, error) { return f.ingestQueued(c, nil) }

// ingestQueued is ingest that calls queued (if not nil) once c has its
// place in the queen's order.
func (f *FS) ingestQueued(c queen.Cmd, queued func()) (queen.Result, error) {
	return f.cfg.Queen.DoIngest(context.Background(), c, queued)
}

// ingestEntries are the /queen children ingest adds: telemetry when the
// manifest enables ingest, and export for LoRA jobs.
func (f *FS) ingestEntries() []ns.Entry {
	if !f.cfg.Queen.IngestEnabled() {
		return nil
	}
	return []ns.Entry{{Name: "telemetry", Node: f.ingestDir()}, {Name: "export", Node: f.exportDir()}}
}

// ids are the IDs of items, in order.
func ids[T any](items []T, id func(T) string) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, id(it))
	}
	return out
}

// ingestView is the snapshot's ingest state; nil before ingest starts.
func (f *FS) ingestView() *queen.IngestView { return f.cfg.Queen.Snapshot().Ingest }

// viewNames is a directory listing of what pick names in the ingest view;
// before ingest starts it lists nothing.
func (f *FS) viewNames(pick func(v *queen.IngestView) []string) func() []string {
	return func() []string {
		if v := f.ingestView(); v != nil {
			return pick(v)
		}
		return nil
	}
}

// ingestDir is /queen/telemetry: the devices known so far. Any valid
// device name walks, so the first ctl write can create it; only ctl
// creates anything.
func (f *FS) ingestDir() ns.Node {
	return ns.Dynamic{
		DirOps: ns.DirOps{Path: "/queen/telemetry"},
		Names: f.viewNames(func(v *queen.IngestView) []string {
			return ids(v.Devices, func(d queen.IngestDevice) string { return d.ID })
		}),
		Child: func(name string) (ns.Node, bool) {
			if !queen.ValidDeviceID(name, f.cfg.Limits.Component) {
				return nil, false
			}
			return f.ingestDevice(name), true
		},
	}
}

func (f *FS) device(id string) (queen.IngestDevice, bool) { return f.ingestView().Device(id) }

func (f *FS) ingestDevice(id string) ns.Node {
	base := "/queen/telemetry/" + id
	ctl := lineCtl{line: func(c ns.Caller, line []byte) error {
		_, err := f.ingest(queen.IngestCtl{Who: queen.WhoOf(c), Device: id, Line: line})
		return err
	}}
	return ns.Static{DirOps: ns.DirOps{Path: base}, Entries: []ns.Entry{
		{Name: "ctl", Node: ctl},
		{Name: "seg", Node: ns.Dynamic{
			DirOps: ns.DirOps{Path: base + "/seg"},
			Names: func() []string {
				d, _ := f.device(id)
				return ids(d.Segments, func(s queen.Segment) string { return s.ID })
			},
			Child: func(name string) (ns.Node, bool) {
				d, _ := f.device(id)
				if _, ok := d.Segment(name); !ok {
					return nil, false
				}
				return segFile{fs: f, dev: id, seg: name}, true
			},
		}},
		{Name: "latest", Node: ns.Content{ReadOnly: ns.ReadOnly{Path: base + "/latest"}, Render: func() []byte {
			d, _ := f.device(id)
			if d.Latest == "" {
				return nil
			}
			return []byte(d.Latest + "\n")
		}}},
	}}
}

// segFile is one OS-named segment: appends at the end only, one record
// per append.
type segFile struct {
	ns.NotDir
	fs       *FS
	dev, seg string
}

func (f segFile) data() ([]byte, error) {
	d, _ := f.fs.device(f.dev)
	g, ok := d.Segment(f.seg)
	if !ok {
		return nil, errs.New(errs.ErrInvalid, "invalid path")
	}
	return g.Data, nil
}

func (f segFile) Stat() (ns.Stat, error) {
	b, err := f.data()
	return ns.Stat{Kind: ns.KindAppendOffset, Size: uint64(len(b))}, err
}

func (f segFile) ReadAt(p []byte, off int64) (int, error) {
	b, err := f.data()
	if err != nil {
		return 0, err
	}
	return ns.ReadBytes(b, p, off)
}

func (f segFile) Append(c ns.Caller, p []byte, off int64) (int, error) {
	return f.AppendQueued(c, p, off, nil)
}

// AppendQueued implements ns.QueuedAppender.
func (f segFile) AppendQueued(c ns.Caller, p []byte, off int64, queued func()) (int, error) {
	r, err := f.fs.ingestQueued(queen.IngestAppend{Who: queen.WhoOf(c), Device: f.dev, Segment: f.seg, Data: p, Off: off}, queued)
	if err != nil {
		return 0, err
	}
	return r.Written, nil
}

var (
	_ ns.Node           = segFile{}
	_ ns.QueuedAppender = segFile{}
)
