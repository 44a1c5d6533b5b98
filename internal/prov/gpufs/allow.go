package gpufs

import (
	"slices"

	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/ticket"
)

// Allow implements ns.Provider: a GPU worker walks to and reads only its
// leased GPU's files, the models and the telemetry schema, and appends
// only to its GPU's ctl, status and job (never the lease, the bridge or
// the active pointer). Other roles defer to the role matrix.
func (p *provider) Allow(c ns.Caller, rel ns.Path, op ns.Op) ns.Verdict {
	id := c.Identity()
	if id.Role != ticket.RoleWorkerGPU.String() {
		return ns.Defer
	}
	if p.workerAllowed(id.Subject, rel, op) {
		return ns.Allow
	}
	return ns.Deny
}

// workerAllowed is the worker-gpu rule for rel, a path inside /gpu, for
// the worker called subject.
func (p *provider) workerAllowed(subject string, rel ns.Path, op ns.Op) bool {
	v := p.view()
	leased := ""
	if v != nil {
		leased = v.Leases[subject]
	}
	switch {
	case len(rel) == 0:
		return op == ns.OpWalk
	case leased != "" && rel[0] == leased:
		if len(rel) == 1 {
			return op != ns.OpWrite
		}
		if len(rel) == 2 && slices.Contains([]string{"info", "ctl", "lease", "status", "job"}, rel[1]) {
			if op == ns.OpWrite {
				return slices.Contains([]string{"ctl", "status", "job"}, rel[1])
			}
			return true
		}
	case rel[0] == "models":
		return op != ns.OpWrite
	case rel[0] == "telemetry":
		return op != ns.OpWrite && (len(rel) == 1 || rel[1] == "schema.json")
	}
	return false
}
