package gate

import (
	"sync/atomic"
	"time"

	"github.com/cohesix/cohesix/internal/netguard"
	"github.com/cohesix/cohesix/internal/prov/procfs"
)

// observe holds the transport counters /proc renders (internal/prov/procfs)
// and the observation clock, which the authority's expiry checks share.
type observe struct {
	counters procfs.Counters
	clock    atomic.Pointer[func() time.Time]
}

// The transport counters, under the names the transports know them by.
type (
	NinePStats  = procfs.NinePStats  // /proc/9p
	IngestStats = procfs.IngestStats // /proc/ingest
)

// ConsoleNet is the TCP console listener's counters (/proc/net/console).
func (ns *Namespace) ConsoleNet() *netguard.Stats { return &ns.obs.counters.ConsoleNet }

// Secure9PNet is the Secure9P listener's counters (/proc/net/secure9p).
func (ns *Namespace) Secure9PNet() *netguard.Stats { return &ns.obs.counters.Secure9PNet }

// NineP returns the Secure9P counters the server updates.
func (ns *Namespace) NineP() *NinePStats { return &ns.obs.counters.NineP }

// Ingest returns the console inbound-queue counters the console updates.
func (ns *Namespace) Ingest() *IngestStats { return &ns.obs.counters.Ingest }

// SetClock sets the wall clock for observation timestamps (watch ts_ms).
func (ns *Namespace) SetClock(now func() time.Time) { ns.obs.clock.Store(&now) }

func (ns *Namespace) nowMs() uint64 {
	if c := ns.obs.clock.Load(); c != nil {
		return uint64((*c)().UnixMilli())
	}
	return uint64(time.Now().UnixMilli())
}

// capped bounds a rendered node to its manifest byte cap, cutting after
// the last whole line that fits.
func capped(b []byte, max int) []byte { return procfs.Capped(b, max) }

// procConfig is what /proc renders from: boot is the /proc/boot text and
// tests the self-test scripts.
func (ns *Namespace) procConfig(boot []byte, tests []Entry) procfs.Config {
	bits := 0
	if ns.cfg.ShardEnabled {
		bits = ns.cfg.ShardBits
	}
	return procfs.Config{
		Queen: ns.q, Pressure: &ns.q.Pressure, Counters: &ns.obs.counters,
		Boot: boot, Tests: tests, NowMs: ns.nowMs,
		ShardBits: bits, ShardLabel: ns.ShardLabel, Spool: ns.cfg.Spool, Settings: ns.cfg.Settings,
	}
}
