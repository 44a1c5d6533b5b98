// Package gpufs is the /gpu provider (spec namespace §5): the host bridge
// publishes GPUs, models and the telemetry schema through
// /gpu/bridge/ctl; everything else renders from the queen's GPUView and
// writes go to the queen as GPUWrite. The provider carries its own share
// of the role matrix: what a GPU worker may reach (Allow).
package gpufs

import (
	"context"
	"fmt"

	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/prov"
	"github.com/cohesix/cohesix/internal/queen"
)

// Config is what New needs: the queen whose GPU view the tree renders
// and to which GPU writes go.
type Config struct {
	Queen prov.Queen
}

// New returns the /gpu provider.
func New(cfg Config) ns.Provider {
	p := &provider{q: cfg.Queen}
	p.root = p.dir()
	return p
}

// provider is /gpu: its tree and its own share of the role matrix
// (allow.go).
type provider struct {
	q    prov.Queen
	root ns.Node
}

// Root implements ns.Provider.
func (p *provider) Root() ns.Node { return p.root }

func (p *provider) view() *queen.GPUView { return p.q.Snapshot().GPU }

// file is a writable /gpu file rendered by get; get's false means the
// file went away since the walk.
func (p *provider) file(file queen.GPUFile, id string, get func(v *queen.GPUView) ([]byte, bool)) ns.Node {
	return gpuFile{
		Rendered: ns.Rendered{Kind: ns.KindAppend, Render: func() ([]byte, error) {
			b, ok := get(p.view())
			if !ok {
				return nil, errs.New(errs.ErrInvalid, "invalid path")
			}
			return b, nil
		}},
		q: p.q, file: file, id: id,
	}
}

// gpuFile submits every write whole as one GPUWrite.
type gpuFile struct {
	ns.NotDir
	ns.Rendered
	q    prov.Queen
	file queen.GPUFile
	id   string
}

// Append implements ns.Node.
func (f gpuFile) Append(c ns.Caller, p []byte, _ int64) (int, error) {
	r, err := f.q.Do(context.Background(), queen.GPUWrite{Who: queen.WhoOf(c), File: f.file, GPU: f.id, Data: p})
	if err != nil {
		return 0, err
	}
	return r.Written, nil
}

// content is a read-only /gpu file rendered by get.
func (p *provider) content(path string, get func(v *queen.GPUView) []byte) ns.Node {
	return ns.Content{ReadOnly: ns.ReadOnly{Path: path}, Render: func() []byte { return get(p.view()) }}
}

func (p *provider) published() bool { v := p.view(); return v != nil && v.Published }

func (p *provider) dir() ns.Node {
	bridge := p.bridgeDir()
	return ns.Dynamic{
		DirOps: ns.DirOps{Path: "/gpu"},
		Names: func() []string {
			names := []string{"bridge"}
			if v := p.view(); v != nil && v.Published {
				names = append(names, "models", "telemetry")
				for _, n := range v.Nodes {
					names = append(names, n.ID)
				}
			}
			return names
		},
		Child: func(name string) (ns.Node, bool) {
			switch {
			case name == "bridge":
				return bridge, true
			case !p.published():
				return nil, false
			case name == "models":
				return p.modelsDir(), true
			case name == "telemetry":
				return ns.Static{DirOps: ns.DirOps{Path: "/gpu/telemetry"}, Entries: []ns.Entry{
					{Name: "schema.json", Node: p.content("/gpu/telemetry/schema.json", func(v *queen.GPUView) []byte { return v.Schema })},
				}}, true
			}
			if _, ok := p.view().Node(name); !ok {
				return nil, false
			}
			return p.node(name), true
		},
	}
}

func (p *provider) bridgeDir() ns.Node {
	return ns.Static{DirOps: ns.DirOps{Path: "/gpu/bridge"}, Entries: []ns.Entry{
		{Name: "ctl", Node: p.file(queen.GPUBridgeCtl, "", func(v *queen.GPUView) ([]byte, bool) {
			if v == nil {
				return nil, true
			}
			return v.BridgeLog, true
		})},
		{Name: "status", Node: p.content("/gpu/bridge/status", func(v *queen.GPUView) []byte {
			if v == nil {
				return []byte("state=idle\n")
			}
			return []byte(v.BridgeStatus + "\n")
		})},
	}}
}

// node is /gpu/<id>.
func (p *provider) node(id string) ns.Node {
	base := "/gpu/" + id
	field := func(file queen.GPUFile, pick func(n queen.GPUNode) []byte) ns.Node {
		return p.file(file, id, func(v *queen.GPUView) ([]byte, bool) {
			n, ok := v.Node(id)
			if !ok {
				return nil, false
			}
			return pick(n), true
		})
	}
	return ns.Static{DirOps: ns.DirOps{Path: base}, Entries: []ns.Entry{
		{Name: "info", Node: p.content(base+"/info", func(v *queen.GPUView) []byte { n, _ := v.Node(id); return n.Info })},
		{Name: "ctl", Node: field(queen.GPUCtl, func(n queen.GPUNode) []byte { return n.Ctl })},
		{Name: "lease", Node: field(queen.GPULease, func(n queen.GPUNode) []byte { return n.Lease })},
		{Name: "status", Node: field(queen.GPUStatus, func(n queen.GPUNode) []byte { return n.Status })},
		{Name: "job", Node: field(queen.GPUJob, func(n queen.GPUNode) []byte { return n.Job })},
	}}
}

// modelsDir is /gpu/models.
func (p *provider) modelsDir() ns.Node {
	available := ns.Dynamic{
		DirOps: ns.DirOps{Path: "/gpu/models/available"},
		Names: func() []string {
			var ids []string
			for _, m := range p.view().Models {
				ids = append(ids, m.ID)
			}
			for _, m := range p.casModels() {
				ids = append(ids, m.Digest)
			}
			return ids
		},
		Child: func(name string) (ns.Node, bool) {
			if m, ok := p.casModel(name); ok {
				return p.casModelDir(name, m), true
			}
			if _, ok := p.view().Model(name); !ok {
				return nil, false
			}
			path := "/gpu/models/available/" + name
			return ns.Static{DirOps: ns.DirOps{Path: path}, Entries: []ns.Entry{
				{Name: "manifest.toml", Node: p.content(path+"/manifest.toml", func(v *queen.GPUView) []byte { m, _ := v.Model(name); return m.Manifest })},
			}}, true
		},
	}
	return ns.Static{DirOps: ns.DirOps{Path: "/gpu/models"}, Entries: []ns.Entry{
		{Name: "available", Node: available},
		{Name: "active", Node: p.file(queen.GPUActive, "", func(v *queen.GPUView) ([]byte, bool) { return v.Active, v != nil && v.Published })},
	}}
}

// casModels are the committed CAS models (/models), listed under
// /gpu/models/available by their digest when models are enabled
// (DECISIONS P49).
func (p *provider) casModels() []queen.CASModel {
	if v := p.q.Snapshot().CAS; v != nil {
		return v.Models
	}
	return nil
}

func (p *provider) casModel(name string) (queen.CASModel, bool) {
	return p.q.Snapshot().CAS.Model(name)
}

// casModelDir renders a CAS model's manifest.toml from what the hive
// knows of it: its digest, size and where its files are.
func (p *provider) casModelDir(name string, m queen.CASModel) ns.Node {
	path := "/gpu/models/available/" + name
	body := fmt.Appendf(nil, "model_id = %q\nweights_sha256 = %q\nweights_bytes = %d\nsource = %q\n", name, m.Digest, m.Bytes, "/models/"+m.Digest)
	return ns.Static{DirOps: ns.DirOps{Path: path}, Entries: []ns.Entry{
		{Name: "manifest.toml", Node: ns.Content{ReadOnly: ns.ReadOnly{Path: path + "/manifest.toml"}, Render: func() []byte { return body }}},
	}}
}
