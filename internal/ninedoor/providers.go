package ninedoor

import (
	"fmt"
	"strings"

	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/queen"
)

// ---- /log ----

// logFile is /log/queen.log: the retained audit lines; queen appends add
// user lines.
type logFile struct {
	NotDir
	ns *Namespace
}

func (f logFile) render() []byte {
	lines := f.ns.q.Snapshot().Log
	if len(lines) == 0 {
		return nil
	}
	return []byte(strings.Join(lines, "\n") + "\n")
}

func (f logFile) Stat() (Stat, error) {
	return Stat{Kind: KindAppend, Size: uint64(len(f.render()))}, nil
}

func (f logFile) ReadAt(p []byte, off int64) (int, error) { return readBytes(f.render(), p, off) }

func (f logFile) Append(c Caller, p []byte, _ int64) (int, error) {
	text := strings.TrimRight(string(p), "\n")
	lines := strings.Split(text, "\n")
	if _, err := f.ns.submit(queen.LogAppend{Lines: lines}); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (ns *Namespace) logDir() Node {
	return Static{DirOps: DirOps{Path: "/log"}, Entries: []Entry{{Name: "queen.log", Node: logFile{ns: ns}}}}
}

// ---- /queen ----

// ctlFile is /queen/ctl: one JSON command per line, submitted to the queen.
type ctlFile struct {
	NotDir
	ns *Namespace
}

func (ctlFile) Stat() (Stat, error)               { return Stat{Kind: KindAppend}, nil }
func (ctlFile) ReadAt([]byte, int64) (int, error) { return 0, nil }

func (f ctlFile) Append(c Caller, p []byte, _ int64) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if err := f.ns.ctlLine(c, []byte(line)); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// ctlLine submits one line to the queen, which parses it and asks
// ctlTargets about a bind or mount before deciding, then installs an
// approved binding in the writer's session.
func (ns *Namespace) ctlLine(c Caller, line []byte) error {
	vet := func(cmd queen.CtlCommand) error { _, _, err := ns.ctlTargets(cmd); return err }
	r, err := ns.submit(queen.CtlWrite{Who: queen.WhoOf(c), Line: line, Vet: vet})
	if err != nil || r.Bind == nil {
		return err
	}
	from, to, _ := ns.ctlTargets(*r.Ctl) // vetted before the queen decided
	if Join(from) != Join(to) {
		if err := ns.bind(c, from, to); err != nil {
			ns.q.Audit(fmt.Sprintf("bind outcome=deny reason=buffer-full max=%d", ns.cfg.MaxBinds))
			return err
		}
	}
	return nil
}

// ctlTargets resolves a bind's or mount's source and target in this
// namespace; an invalid path or unknown service is refused.
func (ns *Namespace) ctlTargets(c queen.CtlCommand) (from, to []string, err error) {
	var e1, e2 error
	switch {
	case c.Bind != nil:
		from, e1 = ns.bindTarget(c.Bind.From)
		to, e2 = ns.bindTarget(c.Bind.To)
	case c.Mount != nil:
		var ok bool
		if from, ok = ns.cfg.Mounts[c.Mount.Service]; !ok {
			e1 = errs.ErrInvalid
		}
		to, e2 = ns.bindTarget(c.Mount.At)
	}
	if e1 != nil || e2 != nil {
		return nil, nil, errs.New(errs.ErrInvalid, "invalid path")
	}
	return from, to, nil
}

func (ns *Namespace) queenDir() Node {
	entries := []Entry{{Name: "ctl", Node: ctlFile{ns: ns}}, {Name: "lifecycle", Node: ns.lifecycleDir()}} // lifecycle.go
	entries = append(entries, ns.queenIngestEntries()...)                                                  // ingest.go
	return Static{DirOps: DirOps{Path: "/queen"}, Entries: entries}
}

// ---- /worker and /shard ----

// telemetryFile is a worker's telemetry ring. Offsets are absolute: bytes
// before the ring's base have been overwritten and are stale.
type telemetryFile struct {
	NotDir
	ns *Namespace
	id string
}

func (f telemetryFile) ring() (queen.Ring, error) {
	w, ok := f.ns.q.Snapshot().Worker(f.id)
	if !ok {
		return queen.Ring{}, errs.New(errs.ErrClosed, "worker %s revoked", f.id)
	}
	return w.Ring, nil
}

func (f telemetryFile) Stat() (Stat, error) {
	r, err := f.ring()
	if err != nil {
		return Stat{}, err
	}
	return Stat{Kind: KindAppend, Size: r.End()}, nil
}

func (f telemetryFile) ReadAt(p []byte, off int64) (int, error) {
	r, err := f.ring()
	if err != nil {
		return 0, err
	}
	if off < int64(r.Base) {
		return 0, errs.New(errs.ErrInvalid, "append-only offset %d is stale; oldest available %d", off, r.Base)
	}
	return readBytes(r.Data, p, off-int64(r.Base))
}

func (f telemetryFile) Append(c Caller, p []byte, _ int64) (int, error) {
	r, err := f.ns.submit(queen.TelemetryAppend{Who: queen.WhoOf(c), Worker: f.id, Data: p})
	if err != nil {
		return 0, err
	}
	return r.Written, nil
}

func (ns *Namespace) workerNode(id string) Node {
	return Static{DirOps: DirOps{Path: "/worker/" + id}, Entries: []Entry{{Name: "telemetry", Node: telemetryFile{ns: ns, id: id}}}}
}

// workerDir lists the workers that keep selects, in spawn order.
func (ns *Namespace) workerDir(keep func(id string) bool) Node {
	return Dynamic{
		DirOps: DirOps{Path: "/worker"},
		Names: func() []string {
			var ids []string
			for _, w := range ns.q.Snapshot().Workers {
				if keep(w.ID) {
					ids = append(ids, w.ID)
				}
			}
			return ids
		},
		Child: func(name string) (Node, bool) {
			if _, ok := ns.q.Snapshot().Worker(name); ok && keep(name) {
				return ns.workerNode(name), true
			}
			return nil, false
		},
	}
}

func (ns *Namespace) shardDir() Node {
	n := 1 << ns.cfg.ShardBits
	labels := make([]string, n)
	for i := range labels {
		labels[i] = fmt.Sprintf("%02x", i)
	}
	return Dynamic{
		DirOps: DirOps{Path: "/shard"},
		Names:  func() []string { return labels },
		Child: func(label string) (Node, bool) {
			var v int
			if len(label) != 2 || strings.ToLower(label) != label {
				return nil, false
			}
			if _, err := fmt.Sscanf(label, "%02x", &v); err != nil || v >= n {
				return nil, false
			}
			return Static{DirOps: DirOps{Path: "/shard/" + label}, Entries: []Entry{
				{Name: "worker", Node: ns.workerDir(func(id string) bool { return ns.ShardLabel(id) == label })},
			}}, true
		},
	}
}

// Base implements Windowed.
func (f telemetryFile) Base() (uint64, error) {
	r, err := f.ring()
	return r.Base, err
}
