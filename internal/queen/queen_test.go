package queen

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cohesix/cohesix/internal/errs"
)

// fakeClock is a Clock that moves only when told.
type fakeClock struct{ ms atomic.Int64 }

func newFakeClock(ms int64) *fakeClock {
	c := &fakeClock{}
	c.ms.Store(ms)
	return c
}

func (c *fakeClock) Now() time.Time      { return time.UnixMilli(c.ms.Load()) }
func (c *fakeClock) Advance(ms int64)    { c.ms.Add(ms) }
func (c *fakeClock) NowMs() uint64       { return uint64(c.ms.Load()) }
func (c *fakeClock) Set(t time.Duration) { c.ms.Store(t.Milliseconds()) }

// runQueen starts q and stops it when the test ends.
func runQueen(t *testing.T, q *Queen, ticks <-chan time.Time) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		q.Run(ctx, ticks)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func TestSubmitRefusesWhenInboxFull(t *testing.T) {
	clock := newFakeClock(bootMs)
	q := New(testConfig(), clock, 2)
	// Run is not started: the first two submissions fill the inbox and
	// stop waiting when their context ends; the third finds no room.
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	for i, line := range []string{"first", "second"} {
		if _, err := q.Submit(gone, LogAppend{Lines: []string{line}}); !errors.Is(err, context.Canceled) {
			t.Fatalf("Submit %d with a cancelled context = %v; want context.Canceled after queueing", i, err)
		}
	}
	_, err := q.Submit(context.Background(), LogAppend{Lines: []string{"third"}})
	if !errors.Is(err, errs.ErrBusy) {
		t.Fatalf("Submit to a full inbox = %v; want ErrBusy", err)
	}
	if got := q.Pressure.Busy.Load(); got != 1 {
		t.Errorf("Pressure.Busy = %d; want 1", got)
	}
	if _, err := q.Submit(context.Background(), LogAppend{}); !errors.Is(err, errs.ErrBusy) {
		t.Fatalf("second Submit to a full inbox = %v; want ErrBusy", err)
	}
	if got := q.Pressure.Busy.Load(); got != 2 {
		t.Errorf("Pressure.Busy = %d; want 2", got)
	}

	runQueen(t, q, nil)
	// The queued commands apply in inbox order before this one. Submit
	// never waits for room, so retry until Run has drained the inbox.
	for {
		_, err := q.Submit(context.Background(), LogAppend{Lines: []string{"fourth"}})
		if err == nil {
			break
		}
		if !errors.Is(err, errs.ErrBusy) {
			t.Fatalf("Submit after Run = %v; want nil or ErrBusy", err)
		}
		runtime.Gosched()
	}
	var user []string
	for _, l := range q.Snapshot().Log {
		if l == "first" || l == "second" || l == "third" || l == "fourth" {
			user = append(user, l)
		}
	}
	if want := []string{"first", "second", "fourth"}; !slices.Equal(user, want) {
		t.Errorf("applied lines = %q; want %q (refused command never applied)", user, want)
	}
}

func TestSubmitAfterStop(t *testing.T) {
	q := New(testConfig(), newFakeClock(bootMs), 4)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); q.Run(ctx, nil) }()
	cancel()
	<-done
	if _, err := q.Submit(context.Background(), LogAppend{}); !errors.Is(err, ErrStopped) {
		t.Errorf("Submit after stop = %v; want ErrStopped", err)
	}
}

func TestSnapshotIsImmutable(t *testing.T) {
	cfg := testConfig()
	cfg.RingBytesPerWorker = 48
	clock := newFakeClock(bootMs)
	ticks := make(chan time.Time)
	q := New(cfg, clock, 8)
	runQueen(t, q, ticks)
	ctx := context.Background()
	do := func(c Cmd) Result {
		t.Helper()
		r, err := q.Do(ctx, c)
		if err != nil {
			t.Fatalf("Do(%#v) = %v", c, err)
		}
		return r
	}
	tick := func() {
		ticks <- time.Time{}
		do(LogAppend{}) // barrier: the tick has been applied
	}

	do(LogAppend{})
	before := q.Snapshot()
	if before.Lifecycle.State != "ONLINE" || len(before.Workers()) != 0 {
		t.Fatalf("first snapshot = %+v; want ONLINE with no workers", before)
	}
	logLen := len(before.Log)

	do(CtlWrite{Who: queenWho, Line: []byte(`{"spawn":"heartbeat","ticks":10}`)})
	tick()
	mid := q.Snapshot()
	w, ok := mid.Worker("worker-1")
	if !ok || w.Ticks != 1 {
		t.Fatalf("snapshot after spawn and tick: worker-1 = %+v, %v; want 1 tick", w, ok)
	}
	ring := string(w.Ring.Data)
	midLog := slices.Clone(mid.Log)

	for range 5 { // wraps the 48-byte ring
		clock.Advance(100)
		tick()
	}
	do(LogAppend{Lines: []string{"later"}})

	if len(before.Workers()) != 0 || len(before.Log) != logLen || before.Lifecycle.State != "ONLINE" {
		t.Errorf("snapshot taken before the spawn changed: %d workers, %d log lines", len(before.Workers()), len(before.Log))
	}
	w2, _ := mid.Worker("worker-1")
	if w2.Ticks != 1 || string(w2.Ring.Data) != ring || w2.Ring.Base != 0 {
		t.Errorf("snapshot worker-1 changed to ticks %d base %d ring %q; want 1, 0, %q", w2.Ticks, w2.Ring.Base, w2.Ring.Data, ring)
	}
	if !slices.Equal(mid.Log, midLog) {
		t.Errorf("snapshot log changed:\n got %q\nwant %q", mid.Log, midLog)
	}
	now := q.Snapshot()
	if w, _ := now.Worker("worker-1"); w.Ticks != 6 || w.Ring.Base == 0 {
		t.Errorf("latest worker-1 = ticks %d base %d; want 6 ticks and a wrapped ring", w.Ticks, w.Ring.Base)
	}
	if now.Seq <= mid.Seq || mid.Seq <= before.Seq {
		t.Errorf("snapshot seqs %d, %d, %d; want increasing", before.Seq, mid.Seq, now.Seq)
	}
}

// TestConcurrentSubmitAndSnapshot runs writers and readers together; it is
// meant for -race: snapshots must be safe to read while Apply runs.
func TestConcurrentSubmitAndSnapshot(t *testing.T) {
	cfg := testConfig()
	cfg.RingBytesPerWorker = 64
	cfg.LogRingLines = 16
	q := New(cfg, newFakeClock(bootMs), 64)
	runQueen(t, q, nil)
	ctx := context.Background()
	if _, err := q.Do(ctx, CtlWrite{Who: queenWho, Line: []byte(`{"spawn":"heartbeat","ticks":1000}`)}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				_, _ = q.Submit(ctx, Tick{})
				_, _ = q.Submit(ctx, LogAppend{Lines: []string{"x"}})
			}
		})
		wg.Go(func() {
			for range 200 {
				sn := q.Snapshot()
				for _, w := range sn.Workers() {
					_ = string(w.Ring.Data)
				}
				_ = slices.Clone(sn.Log)
			}
		})
	}
	wg.Wait()
	sn := q.Snapshot()
	if len(sn.Log) > cfg.LogRingLines {
		t.Errorf("log holds %d lines; want at most %d", len(sn.Log), cfg.LogRingLines)
	}
}

// TestOnRevokeHearsKillAndBudgetEnd checks that the transports are told of
// every worker whose authority ends, after the snapshot shows it.
func TestOnRevokeHearsKillAndBudgetEnd(t *testing.T) {
	clock := newFakeClock(bootMs)
	q := New(testConfig(), clock, 8)
	var mu sync.Mutex
	var got []Revocation
	q.OnRevoke(func(r Revocation) {
		w, ok := q.Snapshot().Worker(r.Worker)
		if ok && w.Running {
			t.Errorf("revocation of %s heard while the snapshot still shows it running", r.Worker)
		}
		mu.Lock()
		got = append(got, r)
		mu.Unlock()
	})
	runQueen(t, q, nil)
	ctx := context.Background()
	for _, line := range []string{`{"spawn":"heartbeat","ticks":100}`, `{"spawn":"heartbeat","ticks":1}`, `{"kill":"worker-1"}`} {
		if _, err := q.Do(ctx, CtlWrite{Who: queenWho, Line: []byte(line)}); err != nil {
			t.Fatalf("ctl %s: %v", line, err)
		}
	}
	for range 3 {
		if _, err := q.Do(ctx, Tick{}); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := []Revocation{{Worker: "worker-1", Reason: "kill"}, {Worker: "worker-2", Reason: "ticks"}}
	if !slices.Equal(got, want) {
		t.Errorf("revocations heard = %v; want %v", got, want)
	}
}

// TestAuditAndSessionsWaitForRoom: with the inbox full, an audit line and
// a session open wait for room instead of being dropped (issue 15:
// nothing dropped silently); both apply once the queen drains the inbox.
func TestAuditAndSessionsWaitForRoom(t *testing.T) {
	clock := newFakeClock(bootMs)
	q := New(testConfig(), clock, 1)
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := q.Submit(gone, LogAppend{Lines: []string{"filler"}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("filler = %v; want queued then context.Canceled", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		q.Audit("waited for room")
		if _, err := q.SubmitWait(context.Background(), SessionOpen{ID: 7, Role: "queen", Transport: "9p"}); err != nil {
			t.Errorf("SubmitWait(SessionOpen) = %v", err)
		}
	}()
	select {
	case <-done:
		t.Fatal("Audit returned with the inbox full and the queen stopped; want it to wait")
	case <-time.After(50 * time.Millisecond):
	}
	if got := q.Pressure.Busy.Load(); got != 0 {
		t.Errorf("Pressure.Busy = %d; waiting is not a refusal", got)
	}
	runQueen(t, q, nil)
	<-done
	sn := q.Snapshot()
	if !slices.Contains(sn.Log, "waited for room") {
		t.Errorf("log lacks the audit line that waited:\n%s", strings.Join(sn.Log, "\n"))
	}
	if !slices.ContainsFunc(sn.Gov.Sessions, func(s SessionInfo) bool { return s.ID == 7 }) {
		t.Errorf("session 7 not recorded: %+v", sn.Gov.Sessions)
	}
}
