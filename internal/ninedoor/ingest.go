package ninedoor

import (
	"fmt"
	"strings"

	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/queen"
)

// IngestStore persists what telemetry ingest accepted (DECISIONS D9): the
// namespace calls Record after the queen accepts a command and before the
// writer is answered. The hosted root task installs one with --state-dir
// (hive.IngestStore); without it segments live in memory only.
type IngestStore interface {
	Record(o queen.IngestOutcome) error
}

// SetIngestStore installs the persistent store for ingest outcomes. Call
// it before serving.
func (ns *Namespace) SetIngestStore(st IngestStore) { ns.ingestStore = st }

// ingest submits one ingest command and, with a store, records its
// outcome before the writer is answered. The pair runs under ingestMu so
// the store sees outcomes in the queen's order (two appends to one
// segment must replay in the order they were applied).
func (ns *Namespace) ingest(c queen.Cmd) (queen.Result, error) { return ns.ingestQueued(c, nil) }

// ingestQueued is ingest that calls queued (if not nil) once c has its
// place in the queen's order. With a spool, the next command cannot pass
// this one: it waits for ingestMu, which this one holds until persisted.
func (ns *Namespace) ingestQueued(c queen.Cmd, queued func()) (queen.Result, error) {
	if ns.ingestStore == nil {
		return ns.submitQueued(c, queued)
	}
	ns.ingestMu.Lock()
	defer ns.ingestMu.Unlock()
	r, err := ns.submitQueued(c, queued)
	if err != nil {
		return r, err
	}
	return r, ns.persist(r.Ingest)
}

func (ns *Namespace) persist(o *queen.IngestOutcome) error {
	if o == nil || ns.ingestStore == nil {
		return nil
	}
	if err := ns.ingestStore.Record(*o); err != nil {
		ns.q.Audit(fmt.Sprintf("telemetry ingest persist failed device=%s seg_id=%s", o.Device, o.Segment))
		return errs.New(errs.ErrBusy, "telemetry spool unavailable")
	}
	return nil
}

// ingestDir is /queen/telemetry: the devices known so far. Any valid
// device name walks, so the first ctl write can create it; only ctl
// creates anything.
func (ns *Namespace) ingestDir() Node {
	return Dynamic{
		DirOps: DirOps{Path: "/queen/telemetry"},
		Names: func() []string {
			var ids []string
			if v := ns.q.Snapshot().Ingest; v != nil {
				for _, d := range v.Devices {
					ids = append(ids, d.ID)
				}
			}
			return ids
		},
		Child: func(name string) (Node, bool) {
			if !queen.ValidDeviceID(name, ns.cfg.ComponentMax) {
				return nil, false
			}
			return ns.ingestDevice(name), true
		},
	}
}

func (ns *Namespace) device(id string) (queen.IngestDevice, bool) {
	return ns.q.Snapshot().Ingest.Device(id)
}

func (ns *Namespace) ingestDevice(id string) Node {
	base := "/queen/telemetry/" + id
	return Static{DirOps: DirOps{Path: base}, Entries: []Entry{
		{Name: "ctl", Node: ingestCtlFile{ns: ns, dev: id}},
		{Name: "seg", Node: Dynamic{
			DirOps: DirOps{Path: base + "/seg"},
			Names: func() []string {
				d, _ := ns.device(id)
				names := make([]string, 0, len(d.Segments))
				for _, s := range d.Segments {
					names = append(names, s.ID)
				}
				return names
			},
			Child: func(name string) (Node, bool) {
				d, _ := ns.device(id)
				if _, ok := d.Segment(name); !ok {
					return nil, false
				}
				return segFile{ns: ns, dev: id, seg: name}, true
			},
		}},
		{Name: "latest", Node: Content{ReadOnly: ReadOnly{Path: base + "/latest"}, Render: func() []byte {
			d, _ := ns.device(id)
			if d.Latest == "" {
				return nil
			}
			return []byte(d.Latest + "\n")
		}}},
	}}
}

// ingestCtlFile is /queen/telemetry/<dev>/ctl.
type ingestCtlFile struct {
	NotDir
	ns  *Namespace
	dev string
}

func (ingestCtlFile) Stat() (Stat, error)               { return Stat{Kind: KindAppend}, nil }
func (ingestCtlFile) ReadAt([]byte, int64) (int, error) { return 0, nil }

func (f ingestCtlFile) Append(c Caller, p []byte, _ int64) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if _, err := f.ns.ingest(queen.IngestCtl{Who: queen.WhoOf(c), Device: f.dev, Line: []byte(line)}); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// segFile is one OS-named segment: appends at the end only, one record
// per append.
type segFile struct {
	NotDir
	ns       *Namespace
	dev, seg string
}

func (f segFile) data() ([]byte, error) {
	d, _ := f.ns.device(f.dev)
	g, ok := d.Segment(f.seg)
	if !ok {
		return nil, errs.New(errs.ErrInvalid, "invalid path")
	}
	return g.Data, nil
}

func (f segFile) Stat() (Stat, error) {
	b, err := f.data()
	return Stat{Kind: KindAppendOffset, Size: uint64(len(b))}, err
}

func (f segFile) ReadAt(p []byte, off int64) (int, error) {
	b, err := f.data()
	if err != nil {
		return 0, err
	}
	return readBytes(b, p, off)
}

func (f segFile) Append(c Caller, p []byte, off int64) (int, error) {
	return f.AppendQueued(c, p, off, nil)
}

// AppendQueued implements QueuedAppender.
func (f segFile) AppendQueued(c Caller, p []byte, off int64, queued func()) (int, error) {
	r, err := f.ns.ingestQueued(queen.IngestAppend{Who: queen.WhoOf(c), Device: f.dev, Segment: f.seg, Data: p, Off: off}, queued)
	if err != nil {
		return 0, err
	}
	return r.Written, nil
}

// queenIngestEntries are the /queen children ingest adds: telemetry when
// the manifest enables ingest, and export for LoRA jobs.
func (ns *Namespace) queenIngestEntries() []Entry {
	if !ns.q.IngestEnabled() {
		return nil
	}
	return []Entry{{Name: "telemetry", Node: ns.ingestDir()}, {Name: "export", Node: ns.exportDir()}}
}

// exportDir is /queen/export: lora_jobs/<job>/{telemetry.cbor,
// base_model.ref, policy.toml}, all read-only.
func (ns *Namespace) exportDir() Node {
	jobs := Dynamic{
		DirOps: DirOps{Path: "/queen/export/lora_jobs"},
		Names: func() []string {
			var ids []string
			if v := ns.q.Snapshot().Ingest; v != nil {
				for _, j := range v.Jobs {
					ids = append(ids, j.ID)
				}
			}
			return ids
		},
		Child: func(name string) (Node, bool) {
			if _, ok := ns.q.Snapshot().Ingest.Job(name); !ok {
				return nil, false
			}
			p := "/queen/export/lora_jobs/" + name
			file := func(f string, pick func(j queen.LoraJob) []byte) Entry {
				return Entry{Name: f, Node: Content{ReadOnly: ReadOnly{Path: p + "/" + f}, Render: func() []byte {
					j, _ := ns.q.Snapshot().Ingest.Job(name)
					return pick(j)
				}}}

			}
			return Static{DirOps: DirOps{Path: p}, Entries: []Entry{
				file("telemetry.cbor", func(j queen.LoraJob) []byte { return j.Telemetry }),
				file("base_model.ref", func(j queen.LoraJob) []byte { return j.BaseModel }),
				file("policy.toml", func(j queen.LoraJob) []byte { return j.Policy }),
			}}, true
		},
	}
	return Static{DirOps: DirOps{Path: "/queen/export"}, Entries: []Entry{{Name: "lora_jobs", Node: jobs}}}
}
