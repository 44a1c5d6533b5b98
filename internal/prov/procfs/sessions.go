package procfs

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/queen"
)

// renderSessions renders /proc/9p/sessions: open Secure9P sessions, the
// worker ones, and the worker sessions per shard.
func (p *proc) renderSessions(sn *queen.Snapshot) string {
	bits := p.cfg.ShardBits
	shards := make([]int, 1<<bits)
	var total, workers int
	for _, x := range sn.Gov.Sessions {
		if x.Transport != "9p" || x.State == queen.SessionClosed {
			continue
		}
		total++
		if x.Role != "queen" {
			workers++
			var v int
			fmt.Sscanf(p.cfg.ShardLabel(x.Subject), "%02x", &v)
			if v < len(shards) {
				shards[v]++
			}
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "sessions total=%d worker=%d shard_bits=%d shard_count=%d\n", total, workers, bits, len(shards))
	for i, n := range shards {
		fmt.Fprintf(&b, "shard %02x %d\n", i, n)
	}
	return b.String()
}

// sessionDir is /proc/9p/session: active, then one directory per tracked
// session id (console and Secure9P sessions share the id space); nil when
// the manifest enables none of its files.
func (p *proc) sessionDir() ns.Node {
	if !generated.ObservabilityProc9pSessionActive && !generated.ObservabilityProc9pSessionState &&
		!generated.ObservabilityProc9pSessionSinceMs && !generated.ObservabilityProc9pSessionOwner {
		return nil
	}
	return ns.Dynamic{DirOps: ns.DirOps{Path: "/proc/9p/session"}, Names: p.sessionNames, Child: p.sessionChild}
}

func (p *proc) sessionNames() []string {
	var names []string
	if generated.ObservabilityProc9pSessionActive {
		names = append(names, "active")
	}
	for _, x := range p.cfg.Queen.Snapshot().Gov.Sessions {
		names = append(names, strconv.FormatUint(x.ID, 10))
	}
	return names
}

// findSession returns the tracked session whose id is the name id.
func (p *proc) findSession(id string) (queen.SessionInfo, bool) {
	for _, x := range p.cfg.Queen.Snapshot().Gov.Sessions {
		if strconv.FormatUint(x.ID, 10) == id {
			return x, true
		}
	}
	return queen.SessionInfo{}, false
}

func (p *proc) sessionChild(name string) (ns.Node, bool) {
	if name == "active" && generated.ObservabilityProc9pSessionActive {
		return line(generated.ObservabilityProc9pSessionActiveBytes, p.renderActive), true
	}
	if _, ok := p.findSession(name); !ok {
		return nil, false
	}
	field := func(render func(queen.SessionInfo) string) func() string {
		return func() string {
			x, _ := p.findSession(name) // a tracked record only ever closes
			return render(x)
		}
	}
	return ns.Static{DirOps: ns.DirOps{Path: "/proc/9p/session/" + name}, Entries: lineEntries(
		lineFile{generated.ObservabilityProc9pSessionState, "state", generated.ObservabilityProc9pSessionStateBytes,
			field(func(x queen.SessionInfo) string { return "state=" + x.State })},
		lineFile{generated.ObservabilityProc9pSessionSinceMs, "since_ms", generated.ObservabilityProc9pSessionSinceMsBytes,
			field(func(x queen.SessionInfo) string { return fmt.Sprintf("since_ms=%d", x.SinceMs) })},
		lineFile{generated.ObservabilityProc9pSessionOwner, "owner", generated.ObservabilityProc9pSessionOwnerBytes,
			field(func(x queen.SessionInfo) string { return "owner=" + x.Owner })},
	)}, true
}

// renderActive is /proc/9p/session/active: the sessions active and
// draining now.
func (p *proc) renderActive() string {
	var active, draining int
	for _, x := range p.cfg.Queen.Snapshot().Gov.Sessions {
		switch x.State {
		case queen.SessionActive:
			active++
		case queen.SessionDraining:
			draining++
		}
	}
	return fmt.Sprintf("active=%d draining=%d", active, draining)
}
