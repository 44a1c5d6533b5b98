package procfs_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/ns/nstest"
	"github.com/cohesix/cohesix/internal/prov/procfs"
	"github.com/cohesix/cohesix/internal/queen"
)

const boot = "Cohesix boot: root-task online\n"

type fakeClock struct{ ms atomic.Int64 }

func (c *fakeClock) Now() time.Time { return time.UnixMilli(c.ms.Load()) }

// auditQueen is a running queen that also keeps the lines /proc audits.
type auditQueen struct {
	*queen.Queen
	mu     sync.Mutex
	audits []string // guarded by mu
}

func (q *auditQueen) Audit(lines ...string) {
	q.mu.Lock()
	q.audits = append(q.audits, lines...)
	q.mu.Unlock()
	q.Queen.Audit(lines...)
}

func (q *auditQueen) lines() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]string(nil), q.audits...)
}

// fixture is /proc over a running queen whose clock and heartbeats move
// only when told.
type fixture struct {
	t     *testing.T
	q     *auditQueen
	clock *fakeClock
	c     *procfs.Counters
	root  ns.Node
}

func newFixture(t *testing.T) *fixture { return newFixtureWith(t, nil) }

// newFixtureWith is newFixture with the queen's config adjusted by mod.
func newFixtureWith(t *testing.T, mod func(*queen.Config)) *fixture {
	t.Helper()
	cfg := queen.Default()
	if mod != nil {
		mod(&cfg)
	}
	cfg.InitialState, cfg.AutoOnline = "BOOTING", "ONLINE"
	clock := &fakeClock{}
	clock.ms.Store(1_000_000)
	q := &auditQueen{Queen: queen.New(cfg, clock, 64)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); q.Run(ctx, nil) }()
	t.Cleanup(func() { cancel(); <-done })
	f := &fixture{t: t, q: q, clock: clock, c: &procfs.Counters{}}
	tests := []ns.Entry{{Name: "selftest_quick.coh", Node: ns.Content{ReadOnly: ns.ReadOnly{Path: "/proc/tests/selftest_quick.coh"}, Render: func() []byte { return []byte("ping\n") }}}}
	f.root = procfs.New(procfs.Config{
		Queen: q, Pressure: &q.Pressure, Counters: f.c, Boot: []byte(boot), Tests: tests,
		NowMs:     func() uint64 { return uint64(clock.ms.Load()) },
		ShardBits: 2, ShardLabel: func(id string) string { return "0" + id[len(id)-1:] }, // worker-1 → 01
	})
	f.do(queen.LogAppend{}) // barrier: boot is complete
	return f
}

func (f *fixture) do(c queen.Cmd) queen.Result {
	f.t.Helper()
	r, err := f.q.Submit(context.Background(), c)
	if err != nil {
		f.t.Fatalf("Submit(%#v) = %v", c, err)
	}
	return r
}

// busy spawns two workers, runs two ticks and opens three sessions.
func (f *fixture) busy() {
	f.t.Helper()
	for range 2 {
		if r := f.do(queen.CtlWrite{Who: queen.Who{Role: "queen"}, Line: []byte(`{"spawn":"heartbeat","ticks":5}`)}); r.Err != nil {
			f.t.Fatalf("spawn = %v", r.Err)
		}
	}
	f.do(queen.Tick{})
	f.do(queen.Tick{})
	f.do(queen.SessionOpen{ID: 1, Role: "queen", Transport: "9p"})
	f.do(queen.SessionOpen{ID: 2, Role: "worker-heartbeat", Subject: "worker-1", Transport: "9p"})
	f.do(queen.SessionOpen{ID: 3, Role: "queen", Transport: "tcp"})
	f.c.NineP.Track("c1", func() int { return 3 })
	f.c.NineP.ShortWrites.Add(2)
	f.c.NineP.Queued.Add(5)
	f.c.NineP.QueueBusy.Add(7)
	f.c.Ingest.Backpressure.Add(4)
	f.c.ConsoleNet.Open.Add(1)
}

// caps are the manifest's byte caps of the /proc files it enables.
func caps() []nstest.Case {
	var out []nstest.Case
	for _, c := range []struct {
		on   bool
		path string
		max  int
	}{
		{generated.ObservabilityProc9pSessions, "9p/sessions", generated.ObservabilityProc9pSessionsBytes},
		{generated.ObservabilityProc9pOutstanding, "9p/outstanding", generated.ObservabilityProc9pOutstandingBytes},
		{generated.ObservabilityProc9pOutstanding, "9p/queue", generated.ObservabilityProc9pOutstandingBytes},
		{generated.ObservabilityProc9pShortWrites, "9p/short_writes", generated.ObservabilityProc9pShortWritesBytes},
		{generated.ObservabilityProc9pSessionActive, "9p/session/active", generated.ObservabilityProc9pSessionActiveBytes},
		{generated.ObservabilityProcIngestQueued, "ingest/queued", generated.ObservabilityProcIngestQueuedBytes},
		{generated.ObservabilityProcRootCutReason, "root/cut_reason", generated.ObservabilityProcRootCutReasonBytes},
		{generated.ObservabilityProcPressureBusy, "pressure/busy", generated.ObservabilityProcPressureBusyBytes},
		{true, "schedule/summary", generated.ObservabilityProcScheduleSummaryBytes},
		{true, "lease/summary", generated.ObservabilityProcLeaseSummaryBytes},
	} {
		if c.on {
			out = append(out, nstest.Cap(c.path, c.max))
		}
	}
	return out
}

func TestConformance(t *testing.T) {
	f := newFixture(t)
	p := ns.Plain(f.root)
	nstest.TestProvider(t, p, caps()...)
	f.busy()
	nstest.TestProvider(t, p, append(caps(),
		nstest.Lists("", "boot", "tests", "lifecycle", "9p", "ingest", "root", "schedule", "lease", "pressure", "net", "peers", "ui"),
		nstest.Lists("9p/session", "active", "1", "2", "3"),
		nstest.Content("boot", boot),
		nstest.Content("lifecycle/state", "state=ONLINE\n"),
		nstest.Content("9p/outstanding", fmt.Sprintf("outstanding current=3 limit=%d\n", generated.Secure9pTagsPerSession)),
		nstest.Content("9p/short_writes", "short_writes total=2 retries=0\n"),
		nstest.Content("9p/queue", fmt.Sprintf("queue current=5 limit=%d refused=7\n", min(generated.Secure9pTagsPerSession, generated.Secure9pBatchFrames))),
		nstest.Content("9p/session/2/owner", "owner=worker-heartbeat:worker-1\n"),
		nstest.Content("ingest/backpressure", "backpressure=4\n"),
		nstest.Content("schedule/summary", fmt.Sprintf("queue=2 dequeued=4 dropped=0 max_entries=%d\n", generated.ObservabilityProcScheduleQueueMaxEntries)),
		nstest.Content("lease/active", ""),
		nstest.Content("peers", ""),
		nstest.ReadError("boot", -1, "negative offset"),
		nstest.AppendError("boot", "cannot write read-only file /proc/boot"),
		nstest.AppendError("", "cannot write directory /proc"),
		nstest.AppendError("schedule", "cannot write directory /proc/schedule"),
		nstest.WalkError("", "nope", "not found"),
		nstest.WalkError("9p/session", "9", "not found"),
		// Known oddities, kept byte for byte: the lifecycle and counter
		// files refuse a write without their path, and the watch stream
		// stats as an append file yet refuses writes.
		nstest.AppendError("lifecycle/state", "cannot write read-only file "),
		nstest.AppendError("9p/outstanding", "cannot write read-only file "),
		nstest.AppendError("ingest/watch", "cannot write read-only file /proc/ingest/watch"),
	)...)
}

func TestSessions(t *testing.T) {
	f := newFixture(t)
	f.busy()
	got, err := ns.ReadAll(walk(t, f.root, "9p", "sessions"))
	want := "sessions total=2 worker=1 shard_bits=2 shard_count=4\nshard 00 0\nshard 01 1\nshard 02 0\nshard 03 0\n"
	if err != nil || string(got) != want {
		t.Errorf("ReadAll(9p/sessions) = %q, %v; want %q", got, err, want)
	}
}

// TestWatchThrottle: a tail inside the minimum interval appends nothing
// and audits the throttle line.
func TestWatchThrottle(t *testing.T) {
	f := newFixture(t)
	w := walk(t, f.root, "ingest", "watch")
	w.(ns.Tailer).Tail(nstest.Nobody{})
	f.clock.ms.Add(10)
	w.(ns.Tailer).Tail(nstest.Nobody{})
	got, err := ns.ReadAll(w)
	if err != nil || strings.Count(string(got), "\n") != 1 || !strings.HasPrefix(string(got), "watch ts_ms=1000000 ") {
		t.Errorf("ReadAll(ingest/watch) = %q, %v; want one line at ts_ms=1000000", got, err)
	}
	want := fmt.Sprintf("observe ingest.watch throttled delay_ms=%d min_interval_ms=%d",
		generated.ObservabilityProcIngestWatchMinIntervalMs-10, generated.ObservabilityProcIngestWatchMinIntervalMs)
	if a := f.q.lines(); len(a) != 1 || a[0] != want {
		t.Errorf("audit lines = %q; want [%q]", a, want)
	}
}

func walk(t *testing.T, n ns.Node, names ...string) ns.Node {
	t.Helper()
	for _, name := range names {
		next, err := n.Walk(name)
		if err != nil {
			t.Fatalf("Walk(%q) = %v", name, err)
		}
		n = next
	}
	return n
}
