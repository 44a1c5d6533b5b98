// Package provtest builds what a provider package's tests need: a running
// queen whose clock moves only when told, and callers of any role.
package provtest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/ticket"
)

// Clock is a queen.Clock that moves only when told.
type Clock struct{ ms atomic.Int64 }

// Now implements queen.Clock.
func (c *Clock) Now() time.Time { return time.UnixMilli(c.ms.Load()) }

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) { c.ms.Add(d.Milliseconds()) }

// Queen is a running queen for one test.
type Queen struct {
	*queen.Queen
	Clock *Clock
	t     testing.TB
}

// NewQueen starts a queen with the manifest defaults, edited by opt if
// not nil, that comes ONLINE at once; the test's cleanup stops it. It
// returns once boot is complete.
func NewQueen(t testing.TB, opt func(*queen.Config)) *Queen {
	t.Helper()
	cfg := queen.Default()
	cfg.InitialState, cfg.AutoOnline = "BOOTING", "ONLINE"
	if opt != nil {
		opt(&cfg)
	}
	clock := &Clock{}
	clock.ms.Store(1_000_000)
	q := &Queen{Queen: queen.New(cfg, clock, 64), Clock: clock, t: t}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); q.Run(ctx, nil) }()
	t.Cleanup(func() { cancel(); <-done })
	q.Must(queen.LogAppend{}) // barrier: boot is complete
	return q
}

// Must submits c and fails the test if the queen refuses it.
func (q *Queen) Must(c queen.Cmd) queen.Result {
	q.t.Helper()
	r, err := q.Submit(context.Background(), c)
	if err != nil {
		q.t.Fatalf("Submit(%#v) = %v", c, err)
	}
	return r
}

// Caller is an ns.Caller with a fixed identity.
type Caller ns.Identity

// Identity implements ns.Caller.
func (c Caller) Identity() ns.Identity { return ns.Identity(c) }

// As returns a caller of role for subject ("" for the queen).
func As(role ticket.Role, subject string) Caller {
	return Caller{Role: role.String(), Subject: subject}
}

// QueenCaller is the queen's own caller.
var QueenCaller = As(ticket.RoleQueen, "")

// Append appends data to the node at path inside p as c, with no offset,
// and fails the test on any error.
func Append(t testing.TB, p ns.Provider, c ns.Caller, path, data string) {
	t.Helper()
	n := Walk(t, p, path)
	if _, err := n.Append(c, []byte(data), -1); err != nil {
		t.Fatalf("Append(%s, %q) = %v; want nil", path, data, err)
	}
}

// Read returns the whole retained content of the file at path inside p.
func Read(t testing.TB, p ns.Provider, path string) string {
	t.Helper()
	b, err := ns.ReadAll(Walk(t, p, path))
	if err != nil {
		t.Fatalf("ReadAll(%s) = %v; want nil", path, err)
	}
	return string(b)
}

// Walk walks path, '/'-separated and relative to p's root ("" is the
// root), and fails the test if any step is missing.
func Walk(t testing.TB, p ns.Provider, path string) ns.Node {
	t.Helper()
	n := p.Root()
	comps, err := ns.DefaultLimits().Parse("/" + path)
	if err != nil {
		t.Fatalf("Walk(%q): %v", path, err)
	}
	for _, c := range comps {
		if n, err = n.Walk(c); err != nil {
			t.Fatalf("Walk(%q) at %q: %v", path, c, err)
		}
	}
	return n
}
