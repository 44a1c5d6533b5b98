package queenfs

import (
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/queen"
)

// exportDir is /queen/export: lora_jobs/<job>/{telemetry.cbor,
// base_model.ref, policy.toml}, all read-only.
func (f *FS) exportDir() ns.Node {
	jobs := ns.Dynamic{
		DirOps: ns.DirOps{Path: "/queen/export/lora_jobs"},
		Names: f.viewNames(func(v *queen.IngestView) []string {
			return ids(v.Jobs, func(j queen.LoraJob) string { return j.ID })
		}),
		Child: func(name string) (ns.Node, bool) {
			if _, ok := f.ingestView().Job(name); !ok {
				return nil, false
			}
			return f.jobDir(name), true
		},
	}
	return ns.Static{DirOps: ns.DirOps{Path: "/queen/export"}, Entries: []ns.Entry{{Name: "lora_jobs", Node: jobs}}}
}

// jobDir is /queen/export/lora_jobs/<name>: the job's files rendered from
// the snapshot on every read.
func (f *FS) jobDir(name string) ns.Node {
	p := "/queen/export/lora_jobs/" + name
	file := func(file string, pick func(j queen.LoraJob) []byte) ns.Entry {
		return ns.Entry{Name: file, Node: ns.Content{ReadOnly: ns.ReadOnly{Path: p + "/" + file}, Render: func() []byte {
			j, _ := f.ingestView().Job(name)
			return pick(j)
		}}}
	}
	return ns.Static{DirOps: ns.DirOps{Path: p}, Entries: []ns.Entry{
		file("telemetry.cbor", func(j queen.LoraJob) []byte { return j.Telemetry }),
		file("base_model.ref", func(j queen.LoraJob) []byte { return j.BaseModel }),
		file("policy.toml", func(j queen.LoraJob) []byte { return j.Policy }),
	}}
}
