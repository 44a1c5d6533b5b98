package gate

import (
	"github.com/cohesix/cohesix/internal/prov/queenfs"
	"github.com/cohesix/cohesix/internal/prov/workerfs"
)

// ---- /queen, /worker and /shard (internal/prov) ----

// newQueenFS builds /queen. It takes the bind and mount grammar from the
// namespace, and ns.bind installs an approved bind in the writer's session.
func (ns *Namespace) newQueenFS() *queenfs.FS {
	return queenfs.New(queenfs.Config{Queen: ns.q, Limits: ns.cfg.limits(), Mounts: ns.cfg.Mounts, MaxBinds: ns.cfg.MaxBinds, Bind: ns.bind})
}

// workerConfig is what /worker and /shard take from the namespace.
func (ns *Namespace) workerConfig() workerfs.Config {
	return workerfs.Config{Queen: ns.q, ShardBits: ns.cfg.ShardBits}
}
