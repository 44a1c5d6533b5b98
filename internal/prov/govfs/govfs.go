// Package govfs is the governance trees (spec namespace §7-§8): PolicyFS
// (/policy, /actions), AuditFS (/audit) and ReplayFS (/replay). The queen
// decides every line written here and keeps every ring read here; these
// nodes render snapshots and submit lines.
package govfs

import (
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/prov"
	"github.com/cohesix/cohesix/internal/queen"
)

// Config is what the constructors need: the queen and the manifest's
// governance settings (queen.(*Queen).Gov).
type Config struct {
	Queen prov.Queen
	Gov   queen.GovConfig
}

// Mounts returns the governance providers in the spec's ls order, each
// present only when the manifest enables it.
func Mounts(cfg Config) []ns.Mounted {
	var out []ns.Mounted
	if cfg.Gov.PolicyEnable {
		out = append(out, ns.Mounted{Name: "policy", Provider: Policy(cfg)}, ns.Mounted{Name: "actions", Provider: Actions(cfg)})
	}
	if cfg.Gov.AuditEnable {
		out = append(out, ns.Mounted{Name: "audit", Provider: Audit(cfg)})
		if cfg.Gov.ReplayEnable {
			out = append(out, ns.Mounted{Name: "replay", Provider: Replay(cfg)})
		}
	}
	return out
}
