package hive

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/ticket"
	"github.com/cohesix/cohesix/internal/transport/consoleserver"
)

// epochMs is the fake clock's fixed time (2100-01-01): far enough ahead
// that connection deadlines derived from it never fire during a test.
const epochMs = 4_102_444_800_000

// fakeClock is a Clock that moves only when told.
type fakeClock struct{ ms atomic.Int64 }

func (c *fakeClock) Now() time.Time   { return time.UnixMilli(c.ms.Load()) }
func (c *fakeClock) Advance(ms int64) { c.ms.Add(ms) }

// testHive is a hive whose heartbeats advance only when the test ticks.
type testHive struct {
	*Hive
	t     *testing.T
	clock *fakeClock
	ticks chan time.Time
}

func newTestHive(t *testing.T) *testHive {
	t.Helper()
	clock := &fakeClock{}
	clock.ms.Store(epochMs)
	ticks := make(chan time.Time)
	h, err := New(Options{Clock: clock, Ticks: ticks})
	if err != nil {
		t.Fatalf("New = %v", err)
	}
	t.Cleanup(func() { _ = h.Close() })
	th := &testHive{Hive: h, t: t, clock: clock, ticks: ticks}
	th.barrier() // boot is complete
	return th
}

// barrier returns once every command submitted before it has applied.
func (h *testHive) barrier() {
	h.t.Helper()
	if _, err := h.q.Submit(context.Background(), queen.LogAppend{}); err != nil {
		h.t.Fatalf("barrier: %v", err)
	}
}

// tick delivers one heartbeat tick and waits until it has applied.
func (h *testHive) tick() {
	h.ticks <- time.Time{}
	h.barrier()
}

// session returns a console conversation driven by dispatch directly.
func (h *testHive) session() *consoleserver.Session {
	return h.console.NewSession(queen.Peer{}, nil)
}

// workerTicket is a valid worker-heartbeat ticket for subject.
func workerTicket(t *testing.T, subject string) string {
	t.Helper()
	tok, err := ticket.Mint(ticket.Claims{Role: ticket.RoleWorkerHeartbeat, Subject: subject, IssuedAtMs: epochMs}, secretFor(t, ticket.RoleWorkerHeartbeat))
	if err != nil {
		t.Fatalf("Mint = %v", err)
	}
	return tok
}

func secretFor(t *testing.T, r ticket.Role) string {
	t.Helper()
	var h Hive
	s := h.secret(r)
	if s == "" {
		t.Fatalf("no manifest secret for %s", r)
	}
	return s
}

// splitLines splits serial output into lines, as the console's cat does.
func splitLines(b []byte) []string {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
