package ninedoor

import (
	"slices"

	"github.com/cohesix/cohesix/internal/errs"
	nscore "github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/ticket"
)

// /gpu (spec namespace §5): the host bridge publishes GPUs, models and
// the telemetry schema through /gpu/bridge/ctl; everything else renders
// from the queen's GPUView and writes go to the queen as GPUWrite.

func (ns *Namespace) gpuView() *queen.GPUView { return ns.q.Snapshot().GPU }

// gpuFile is a writable /gpu file rendered by get.
type gpuFile struct {
	NotDir
	ns   *Namespace
	file queen.GPUFile
	id   string
	get  func(v *queen.GPUView) ([]byte, bool)
}

func (f gpuFile) bytes() ([]byte, error) {
	b, ok := f.get(f.ns.gpuView())
	if !ok {
		return nil, errs.New(errs.ErrInvalid, "invalid path")
	}
	return b, nil
}

func (f gpuFile) Stat() (Stat, error) {
	b, err := f.bytes()
	return Stat{Kind: KindAppend, Size: uint64(len(b))}, err
}

func (f gpuFile) ReadAt(p []byte, off int64) (int, error) {
	b, err := f.bytes()
	if err != nil {
		return 0, err
	}
	return readBytes(b, p, off)
}

func (f gpuFile) Append(c Caller, p []byte, _ int64) (int, error) {
	r, err := f.ns.submit(queen.GPUWrite{Who: queen.WhoOf(c), File: f.file, GPU: f.id, Data: p})
	if err != nil {
		return 0, err
	}
	return r.Written, nil
}

func gpuContent(path string, ns *Namespace, get func(v *queen.GPUView) []byte) Node {
	return Content{ReadOnly: ReadOnly{Path: path}, Render: func() []byte { return get(ns.gpuView()) }}
}

func (ns *Namespace) gpuDir() Node {
	bridge := Static{DirOps: DirOps{Path: "/gpu/bridge"}, Entries: []Entry{
		{Name: "ctl", Node: gpuFile{ns: ns, file: queen.GPUBridgeCtl, get: func(v *queen.GPUView) ([]byte, bool) {
			if v == nil {
				return nil, true
			}
			return v.BridgeLog, true
		}}},
		{Name: "status", Node: gpuContent("/gpu/bridge/status", ns, func(v *queen.GPUView) []byte {
			if v == nil {
				return []byte("state=idle\n")
			}
			return []byte(v.BridgeStatus + "\n")
		})},
	}}
	published := func() bool { v := ns.gpuView(); return v != nil && v.Published }
	return Dynamic{
		DirOps: DirOps{Path: "/gpu"},
		Names: func() []string {
			names := []string{"bridge"}
			if v := ns.gpuView(); v != nil && v.Published {
				names = append(names, "models", "telemetry")
				for _, n := range v.Nodes {
					names = append(names, n.ID)
				}
			}
			return names
		},
		Child: func(name string) (Node, bool) {
			switch {
			case name == "bridge":
				return bridge, true
			case !published():
				return nil, false
			case name == "models":
				return ns.modelsDir(), true
			case name == "telemetry":
				return Static{DirOps: DirOps{Path: "/gpu/telemetry"}, Entries: []Entry{
					{Name: "schema.json", Node: gpuContent("/gpu/telemetry/schema.json", ns, func(v *queen.GPUView) []byte { return v.Schema })},
				}}, true
			}
			if _, ok := ns.gpuView().Node(name); !ok {
				return nil, false
			}
			return ns.gpuNode(name), true
		},
	}
}

func (ns *Namespace) gpuNode(id string) Node {
	base := "/gpu/" + id
	field := func(file queen.GPUFile, pick func(n queen.GPUNode) []byte) Node {
		return gpuFile{ns: ns, file: file, id: id, get: func(v *queen.GPUView) ([]byte, bool) {
			n, ok := v.Node(id)
			if !ok {
				return nil, false
			}
			return pick(n), true
		}}
	}
	return Static{DirOps: DirOps{Path: base}, Entries: []Entry{
		{Name: "info", Node: gpuContent(base+"/info", ns, func(v *queen.GPUView) []byte { n, _ := v.Node(id); return n.Info })},
		{Name: "ctl", Node: field(queen.GPUCtl, func(n queen.GPUNode) []byte { return n.Ctl })},
		{Name: "lease", Node: field(queen.GPULease, func(n queen.GPUNode) []byte { return n.Lease })},
		{Name: "status", Node: field(queen.GPUStatus, func(n queen.GPUNode) []byte { return n.Status })},
		{Name: "job", Node: field(queen.GPUJob, func(n queen.GPUNode) []byte { return n.Job })},
	}}
}

func (ns *Namespace) modelsDir() Node {
	available := Dynamic{
		DirOps: DirOps{Path: "/gpu/models/available"},
		Names: func() []string {
			var ids []string
			for _, m := range ns.gpuView().Models {
				ids = append(ids, m.ID)
			}
			return ids
		},
		Child: func(name string) (Node, bool) {
			if _, ok := ns.gpuView().Model(name); !ok {
				return nil, false
			}
			p := "/gpu/models/available/" + name
			return Static{DirOps: DirOps{Path: p}, Entries: []Entry{
				{Name: "manifest.toml", Node: gpuContent(p+"/manifest.toml", ns, func(v *queen.GPUView) []byte { m, _ := v.Model(name); return m.Manifest })},
			}}, true
		},
	}
	return Static{DirOps: DirOps{Path: "/gpu/models"}, Entries: []Entry{
		{Name: "available", Node: available},
		{Name: "active", Node: gpuFile{ns: ns, file: queen.GPUActive, get: func(v *queen.GPUView) ([]byte, bool) { return v.Active, v != nil && v.Published }}},
	}}
}

// gpuProvider is /gpu: its tree and its own share of the role matrix.
type gpuProvider struct {
	ns   *Namespace
	root Node
}

// Root implements nscore.Provider.
func (p gpuProvider) Root() Node { return p.root }

// Allow implements nscore.Provider: a GPU worker walks to and reads only
// its leased GPU's files, the models and the telemetry schema, and
// appends only to its GPU's ctl, status and job (never the lease, the
// bridge or the active pointer). Other roles defer to the role matrix.
func (p gpuProvider) Allow(c Caller, rel nscore.Path, op Op) nscore.Verdict {
	id := c.Identity()
	if id.Role != ticket.RoleWorkerGPU.String() {
		return nscore.Defer
	}
	if p.ns.gpuAllowed(id.Subject, rel, op) {
		return nscore.Allow
	}
	return nscore.Deny
}

// gpuAllowed is the worker-gpu rule for rel, a path inside /gpu, for the
// worker called subject.
func (ns *Namespace) gpuAllowed(subject string, rel []string, op Op) bool {
	v := ns.gpuView()
	leased := ""
	if v != nil {
		leased = v.Leases[subject]
	}
	switch {
	case len(rel) == 0:
		return op == OpWalk
	case leased != "" && rel[0] == leased:
		if len(rel) == 1 {
			return op != OpWrite
		}
		if len(rel) == 2 && slices.Contains([]string{"info", "ctl", "lease", "status", "job"}, rel[1]) {
			if op == OpWrite {
				return slices.Contains([]string{"ctl", "status", "job"}, rel[1])
			}
			return true
		}
	case rel[0] == "models":
		return op != OpWrite
	case rel[0] == "telemetry":
		return op != OpWrite && (len(rel) == 1 || rel[1] == "schema.json")
	}
	return false
}
