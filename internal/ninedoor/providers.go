package ninedoor

import (
	"fmt"
	"strings"

	"github.com/cohesix/cohesix/internal/prov/queenfs"
	"github.com/cohesix/cohesix/internal/prov/workerfs"
	"github.com/cohesix/cohesix/internal/queen"
)

// ---- /proc ----

func (ns *Namespace) procDir(boot []byte, tests []Entry) Node {
	snapLine := func(f func(*queen.Snapshot) string) Node {
		return Content{ReadOnly: ReadOnly{}, Render: func() []byte { return []byte(f(ns.q.Snapshot()) + "\n") }}
	}
	counter := func(name string, v func() uint64) Node {
		return Content{Render: func() []byte { return fmt.Appendf(nil, "%s=%d\n", name, v()) }}
	}
	pr := &ns.q.Pressure
	entries := []Entry{
		{Name: "boot", Node: Content{ReadOnly: ReadOnly{Path: "/proc/boot"}, Render: func() []byte { return boot }}},
		{Name: "tests", Node: Static{DirOps: DirOps{Path: "/proc/tests"}, Entries: tests}},
		{Name: "lifecycle", Node: Static{DirOps: DirOps{Path: "/proc/lifecycle"}, Entries: []Entry{
			{Name: "state", Node: snapLine(func(s *queen.Snapshot) string { return "state=" + s.Lifecycle.State })},
			{Name: "reason", Node: snapLine(func(s *queen.Snapshot) string { return "reason=" + s.Lifecycle.Reason })},
			{Name: "since", Node: snapLine(func(s *queen.Snapshot) string { return fmt.Sprintf("since_ms=%d", s.Lifecycle.SinceMs) })},
		}}},
	}
	entries = append(entries, ns.procObserve()...)                                                                        // 9p, ingest, root (observe.go)
	entries = append(entries, Entry{Name: "schedule", Node: ns.scheduleDir()}, Entry{Name: "lease", Node: ns.leaseDir()}) // schedule.go
	entries = append(entries, Entry{Name: "pressure", Node: Static{DirOps: DirOps{Path: "/proc/pressure"}, Entries: ns.pressureEntries(counter, pr)}})
	entries = append(entries, Entry{Name: "net", Node: ns.netDir()}) // listener counters (observe.go)
	entries = append(entries, Entry{Name: "peers", Node: Content{ReadOnly: ReadOnly{Path: "/proc/peers"}, Render: func() []byte {
		return []byte(RenderPeers(ns.q.Snapshot().Peers, ns.nowMs()))
	}}})
	return Static{DirOps: DirOps{Path: "/proc"}, Entries: entries}
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

// ---- /queen, /worker and /shard (internal/prov) ----

// newQueenFS builds /queen and keeps it for SetIngestStore. It takes the
// bind and mount grammar from the namespace, and ns.bind installs an
// approved bind in the writer's session.
func (ns *Namespace) newQueenFS() *queenfs.FS {
	ns.queenFS = queenfs.New(queenfs.Config{Queen: ns.q, Limits: ns.cfg.limits(), Mounts: ns.cfg.Mounts, MaxBinds: ns.cfg.MaxBinds, Bind: ns.bind})
	return ns.queenFS
}

// workerConfig is what /worker and /shard take from the namespace.
func (ns *Namespace) workerConfig() workerfs.Config {
	return workerfs.Config{Queen: ns.q, ShardBits: ns.cfg.ShardBits}
}
