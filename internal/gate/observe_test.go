package gate

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/ticket"
)

func (f *fixture) mustRead(s *Session, path string) string {
	f.t.Helper()
	got, err := f.read(s, path)
	if err != nil {
		f.t.Fatalf("read %s = %v", path, err)
	}
	return got
}

// TestProcIngestAndWatch: /proc/ingest/* render the ingest counters and
// the latency percentiles of the sample ring; a watch tail inside the
// minimum interval appends nothing and logs the throttle line.
func TestProcIngestAndWatch(t *testing.T) {
	f := newFixture(t, options{})
	q := f.queen()
	in := f.ns.Ingest()
	f.ns.SetClock(f.clock.Now)
	for ms := 1; ms <= 20; ms++ {
		in.Sample(time.Duration(ms) * time.Millisecond)
	}
	in.Backpressure.Add(3)
	in.Dropped.Add(2)
	in.Queued.Add(4)
	for path, want := range map[string]string{
		"/proc/ingest/p50_ms":       "p50_ms=10\n",
		"/proc/ingest/p95_ms":       "p95_ms=19\n",
		"/proc/ingest/backpressure": "backpressure=3\n",
		"/proc/ingest/dropped":      "dropped=2\n",
		"/proc/ingest/queued":       "queued=4\n",
	} {
		if got := f.mustRead(q, path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	n, _, err := f.ns.Resolve(q, "/proc/ingest/watch", OpRead)
	if err != nil {
		t.Fatal(err)
	}
	tail := n.(Tailer)
	tail.Tail(q)
	f.do(queen.LogAppend{}) // barrier: the throttle line is in the log
	first := f.mustRead(q, "/proc/ingest/watch")
	if !strings.HasPrefix(first, "watch ts_ms=1000000 p50_ms=10 p95_ms=19 queued=4 backpressure=3 dropped=2") || strings.Count(first, "\n") != 1 {
		t.Fatalf("watch = %q", first)
	}
	f.clock.ms.Add(10) // inside watch_min_interval_ms
	tail.Tail(q)
	f.do(queen.LogAppend{}) // barrier: the throttle line is in the log
	if got := f.mustRead(q, "/proc/ingest/watch"); got != first {
		t.Errorf("throttled tail appended: %q", got)
	}
	want := "observe ingest.watch throttled delay_ms=40 min_interval_ms=50"
	if !strings.Contains(strings.Join(f.log(), "\n"), want) {
		t.Errorf("log lacks %q", want)
	}
	f.clock.ms.Add(generated.ObservabilityProcIngestWatchMinIntervalMs)
	tail.Tail(q)
	if got := f.mustRead(q, "/proc/ingest/watch"); strings.Count(got, "\n") != 2 {
		t.Errorf("watch after the interval = %q", got)
	}
}

// TestProc9PFiles: /proc/9p/{sessions,outstanding,short_writes} count
// open Secure9P sessions by shard, in-flight requests and short writes.
func TestProc9PFiles(t *testing.T) {
	f := newFixture(t, options{})
	q := f.queen()
	f.spawn(1, "5")
	a := f.ns.OpenSession(ticket.RoleQueen, "", "", queen.Peer{Transport: "9p"})
	f.ns.OpenSession(ticket.RoleWorkerHeartbeat, "worker-1", "", queen.Peer{Transport: "9p"})
	f.ns.OpenSession(ticket.RoleQueen, "", "", queen.Peer{Transport: "tcp"}) // console sessions are not counted
	f.ns.CloseSession(a, "eof")
	got := f.mustRead(q, "/proc/9p/sessions")
	head := "sessions total=1 worker=1 shard_bits=8 shard_count=256\n"
	shard := "shard " + f.ns.ShardLabel("worker-1") + " 1\n"
	if !strings.HasPrefix(got, head) || !strings.Contains(got, shard) || len(got) > generated.ObservabilityProc9pSessionsBytes {
		t.Errorf("/proc/9p/sessions = %q...", got[:min(len(got), 120)])
	}
	st := f.ns.NineP()
	st.Track("c1", func() int { return 2 })
	st.Track("c2", func() int { return 1 })
	if got := f.mustRead(q, "/proc/9p/outstanding"); got != "outstanding current=3 limit=16\n" {
		t.Errorf("/proc/9p/outstanding = %q", got)
	}
	st.Untrack("c1")
	if got := f.mustRead(q, "/proc/9p/outstanding"); got != "outstanding current=1 limit=16\n" {
		t.Errorf("/proc/9p/outstanding after untrack = %q", got)
	}
	st.ShortWrites.Add(2)
	if got := f.mustRead(q, "/proc/9p/short_writes"); got != "short_writes total=2 retries=0\n" {
		t.Errorf("/proc/9p/short_writes = %q", got)
	}
}

// TestProcScheduleAndLease: the run queue and lease views (24c).
func TestProcScheduleAndLease(t *testing.T) {
	f := newFixture(t, options{})
	q := f.queen()
	f.spawn(2, "3")
	f.tick(1)
	if got, want := f.mustRead(q, "/proc/schedule/summary"), "queue=2 dequeued=2 dropped=0 max_entries="+fmt.Sprint(generated.ObservabilityProcScheduleQueueMaxEntries)+"\n"; got != want {
		t.Errorf("summary = %q, want %q", got, want)
	}
	want := "id=worker-1 role=worker-heartbeat priority=0 ticks=2 budget_ms=300000 seq=1\n" +
		"id=worker-2 role=worker-heartbeat priority=0 ticks=2 budget_ms=300000 seq=2\n"
	if got := f.mustRead(q, "/proc/schedule/queue"); got != want {
		t.Errorf("queue = %q, want %q", got, want)
	}
	f.tick(2) // budgets end
	if got, want := f.mustRead(q, "/proc/schedule/summary"), "queue=0 dequeued=6 dropped=2 max_entries="+fmt.Sprint(generated.ObservabilityProcScheduleQueueMaxEntries)+"\n"; got != want {
		t.Errorf("summary after budgets = %q, want %q", got, want)
	}
	if got := f.mustRead(q, "/proc/lease/summary"); !strings.HasPrefix(got, "active=0 preemptions=0 quotas=0 max_active=") {
		t.Errorf("lease summary = %q", got)
	}
	for _, p := range []string{"/proc/lease/active", "/proc/lease/preemptions"} {
		if got := f.mustRead(q, p); got != "" {
			t.Errorf("%s = %q, want empty", p, got)
		}
	}
}

// TestProcNet: /proc/net/<listener> renders that listener's counters, and
// each listener has its own.
func TestProcNet(t *testing.T) {
	f := newFixture(t, options{})
	q := f.queen()
	c, n := f.ns.ConsoleNet(), f.ns.Secure9PNet()
	c.Open.Add(2)
	c.AcceptErrors.Add(7)
	c.Backoffs.Add(6)
	n.RefusedPeerCap.Add(3)
	n.HandshakeTimeouts.Add(4)
	n.IdleTimeouts.Add(5)
	for path, want := range map[string]string{
		"/proc/net/console":  "open=2 accept_errors=7 backoffs=6 refused_peer_cap=0 handshake_timeouts=0 idle_timeouts=0\n",
		"/proc/net/secure9p": "open=0 accept_errors=0 backoffs=0 refused_peer_cap=3 handshake_timeouts=4 idle_timeouts=5\n",
	} {
		if got := f.mustRead(q, path); got != want {
			t.Errorf("read %s = %q; want %q", path, got, want)
		}
	}
}
