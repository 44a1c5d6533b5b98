// Package procfs is the /proc provider: the boot text, the self-test
// scripts, the lifecycle state, the transport observers (9p, ingest, net),
// root reachability, the run queue and leases, the refusal counters and
// the throttled peers. It renders from queen snapshots and from counters
// the transports update; it decides nothing and writes only the watch
// throttle line to the audit log.
package procfs

import (
	"fmt"
	"strings"

	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/queen"
)

// Queen is what /proc needs of the authority: snapshots to render, and the
// audit log for the /proc/ingest/watch throttle line.
type Queen interface {
	Snapshot() *queen.Snapshot
	Audit(lines ...string)
}

// Config is what /proc renders from.
type Config struct {
	Queen    Queen
	Pressure *queen.Pressure // refusal counters (/proc/pressure)
	Counters *Counters       // transport counters (/proc/9p, /proc/ingest, /proc/net)
	Boot     []byte          // /proc/boot
	Tests    []ns.Entry      // /proc/tests: the self-test scripts by file name
	NowMs    func() uint64   // observation clock: watch ts_ms, peer delays

	// ShardBits is the shard width /proc/9p/sessions counts by: 0 when
	// sharding is off. ShardLabel is a worker id's two-hex-digit shard.
	ShardBits  int
	ShardLabel func(id string) string

	// Spool is /proc/spool (internal/prov/spoolfs); nil: no spool.
	Spool ns.Node
	// Settings is /proc/settings (internal/prov/settingsfs); nil: none.
	Settings ns.Node
}

// proc builds the /proc tree from its Config.
type proc struct{ cfg Config }

// New returns the /proc directory, its entries in the spec's ls order.
func New(cfg Config) ns.Node {
	p := &proc{cfg: cfg}
	entries := []ns.Entry{
		{Name: "boot", Node: ns.Content{ReadOnly: ns.ReadOnly{Path: "/proc/boot"}, Render: func() []byte { return cfg.Boot }}},
		{Name: "tests", Node: ns.Static{DirOps: ns.DirOps{Path: "/proc/tests"}, Entries: cfg.Tests}},
		{Name: "lifecycle", Node: p.lifecycleDir()},
	}
	entries = append(entries, p.observers()...) // 9p, ingest, root (observe.go)
	entries = append(entries,
		ns.Entry{Name: "schedule", Node: p.scheduleDir()}, // schedule.go
		ns.Entry{Name: "lease", Node: p.leaseDir()},
		ns.Entry{Name: "pressure", Node: ns.Static{DirOps: ns.DirOps{Path: "/proc/pressure"}, Entries: pressureEntries(cfg.Pressure)}},
		ns.Entry{Name: "net", Node: netDir(cfg.Counters)},
		ns.Entry{Name: "peers", Node: p.snapFile("/proc/peers", func(s *queen.Snapshot) string { return RenderPeers(s.Peers, cfg.NowMs()) })},
	)
	if cfg.Spool != nil {
		entries = append(entries, ns.Entry{Name: "spool", Node: cfg.Spool})
	}
	if cfg.Settings != nil {
		entries = append(entries, ns.Entry{Name: "settings", Node: cfg.Settings})
	}
	entries = appendDir(entries, "ui", p.uiEntries()) // ui.go
	return ns.Static{DirOps: ns.DirOps{Path: "/proc"}, Entries: entries}
}

// snapFile is a read-only file rendered from the queen's latest snapshot;
// path names it in the refusal of a write.
func (p *proc) snapFile(path string, render func(*queen.Snapshot) string) ns.Node {
	return ns.Content{ReadOnly: ns.ReadOnly{Path: path}, Render: func() []byte { return []byte(render(p.cfg.Queen.Snapshot())) }}
}

// lifecycleDir is /proc/lifecycle. Its files refuse a write without naming
// their path, as they always have.
func (p *proc) lifecycleDir() ns.Node {
	return ns.Static{DirOps: ns.DirOps{Path: "/proc/lifecycle"}, Entries: []ns.Entry{
		{Name: "state", Node: p.snapFile("", func(s *queen.Snapshot) string { return "state=" + s.Lifecycle.State + "\n" })},
		{Name: "reason", Node: p.snapFile("", func(s *queen.Snapshot) string { return "reason=" + s.Lifecycle.Reason + "\n" })},
		{Name: "since", Node: p.snapFile("", func(s *queen.Snapshot) string { return fmt.Sprintf("since_ms=%d\n", s.Lifecycle.SinceMs) })},
	}}
}

// RenderPeers is /proc/peers: one line per throttle key held back at nowMs
// (DECISIONS P7), "peer=<ip>" or "subject=<id>", with its consecutive
// failures, throttled (back-off) or locked (lockout), and the wait left.
func RenderPeers(peers []queen.PeerView, nowMs uint64) string {
	var b strings.Builder
	for _, p := range peers {
		if nowMs >= p.UntilMs {
			continue // the block passed after the snapshot
		}
		state := "throttled"
		if p.Locked {
			state = "locked"
		}
		fmt.Fprintf(&b, "%s failures=%d state=%s delay_ms=%d\n", p.Key, p.Failures, state, p.UntilMs-nowMs)
	}
	return b.String()
}
