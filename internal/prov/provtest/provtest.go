// Package provtest builds what a provider package's tests need: a running
// queen whose clock moves only when told, and callers with a fixed
// identity. Only tests import it.
package provtest

import (
	"context"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/ticket"
)

// Clock is a queen clock that moves only when told.
type Clock struct{ ms atomic.Int64 }

// Now implements queen.Clock.
func (c *Clock) Now() time.Time { return time.UnixMilli(c.ms.Load()) }

// Set moves the clock to ms milliseconds after the epoch.
func (c *Clock) Set(ms int64) { c.ms.Store(ms) }

// Queen starts a queen on the default configuration, as configure (if not
// nil) changes it, booting to ONLINE with its clock at 1,000,000 ms. It
// runs until the test ends; heartbeats advance only by queen.Tick.
func Queen(t testing.TB, configure func(*queen.Config)) (*queen.Queen, *Clock) {
	t.Helper()
	cfg := queen.Default()
	cfg.InitialState, cfg.AutoOnline = "BOOTING", "ONLINE"
	if configure != nil {
		configure(&cfg)
	}
	clock := &Clock{}
	clock.Set(1_000_000)
	q := queen.New(cfg, clock, 64)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); q.Run(ctx, nil) }()
	t.Cleanup(func() { cancel(); <-done })
	Do(t, q, queen.LogAppend{}) // barrier: boot is complete
	return q, clock
}

// Do submits c to q and fails the test if the queen refuses it.
func Do(t testing.TB, q *queen.Queen, c queen.Cmd) queen.Result {
	t.Helper()
	r, err := q.Submit(context.Background(), c)
	if err != nil {
		t.Fatalf("Submit(%#v) = %v", c, err)
	}
	return r
}

// Caller is an ns.Caller with a fixed identity.
type Caller ns.Identity

// Identity implements ns.Caller.
func (c Caller) Identity() ns.Identity { return ns.Identity(c) }

// AsQueen is the queen's own session, attached over serial.
var AsQueen = Caller{Role: ticket.RoleQueen.String(), Transport: "serial"}

// AsWorker is a heartbeat worker's session for worker id.
func AsWorker(id string) Caller {
	return Caller{Role: ticket.RoleWorkerHeartbeat.String(), Subject: id, Transport: "serial"}
}

// Write appends data to n as c and fails the test on a refusal.
func Write(t testing.TB, n ns.Node, c ns.Caller, data string) {
	t.Helper()
	if _, err := n.Append(c, []byte(data), -1); err != nil {
		t.Fatalf("Append(%q) = %v; want nil", data, err)
	}
}

// Walk walks rel ('/'-separated, relative to root) and fails the test if
// any step is missing.
func Walk(t testing.TB, root ns.Node, rel string) ns.Node {
	t.Helper()
	n := root
	for _, name := range strings.FieldsFunc(rel, func(r rune) bool { return r == '/' }) {
		next, err := n.Walk(name)
		if err != nil {
			t.Fatalf("Walk(%s) at %q = %v", rel, name, err)
		}
		n = next
	}
	return n
}

// forbidden are the packages no provider may import: a provider knows the
// queen and the namespace core, never the door or a transport.
var forbidden = []string{
	"github.com/cohesix/cohesix/internal/ninedoor",
	"github.com/cohesix/cohesix/internal/gate",
	"github.com/cohesix/cohesix/internal/hive",
	"github.com/cohesix/cohesix/internal/transport/",
}

// CheckDeps fails the test if the package in the current directory (the
// provider under test) depends on the door, the wiring or a transport.
func CheckDeps(t testing.TB) {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range forbidden {
			if dep == bad || (strings.HasSuffix(bad, "/") && strings.HasPrefix(dep, bad)) {
				t.Errorf("provider depends on %s", dep)
			}
		}
	}
}
