package queen

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cohesix/cohesix/internal/errs"
)

// queueInOrder submits cmds one after another to a stopped queen, each
// only once the one before is in its inbox, and returns their outcomes
// once the queen (started by the caller) has answered them all.
func queueInOrder(q *Queen, cmds ...Cmd) (wait func() []Result) {
	res := make([]Result, len(cmds))
	var wg sync.WaitGroup
	for i, c := range cmds {
		queued := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := q.SubmitQueued(context.Background(), c, func() { close(queued) })
			if err != nil {
				r = Result{Err: err}
			}
			res[i] = r
		}()
		<-queued
	}
	return func() []Result { wg.Wait(); return res }
}

// spawnStopped spawns n heartbeat workers in a queen that is not running.
func spawnStopped(t *testing.T, q *Queen, n int) {
	t.Helper()
	q.state.Apply(BootComplete{}, bootMs)
	for i := range n {
		if r := q.state.Apply(CtlWrite{Who: queenWho, Line: []byte(`{"spawn":"heartbeat","ticks":1000}`)}, bootMs); r.Err != nil {
			t.Fatalf("spawn %d: %v", i, r.Err)
		}
	}
}

func TestClassOf(t *testing.T) {
	for _, tt := range []struct {
		c    Cmd
		want Class
	}{
		{TelemetryAppend{}, Telemetry}, {IngestAppend{}, Telemetry}, {IngestCtl{}, Telemetry},
		{CtlWrite{}, Control}, {LogAppend{}, Control}, {QueenSeen{}, Control}, {SessionOpen{}, Control},
		{SessionClose{}, Control}, {PeerAttempt{}, Control}, {LifecycleCtl{}, Control}, {GPUWrite{}, Control},
		{CASAccept{}, Control}, {PolicyCtl{}, Control}, {Tick{}, Control},
	} {
		if got := ClassOf(tt.c); got != tt.want {
			t.Errorf("ClassOf(%T) = %s; want %s", tt.c, got, tt.want)
		}
	}
}

// TestControlAheadOfTelemetryBacklog: a kill submitted behind queued
// telemetry appends is applied first (DECISIONS P52), so every one of
// them finds the worker gone; the single inbox applied them all first.
func TestControlAheadOfTelemetryBacklog(t *testing.T) {
	cfg := testConfig()
	q := New(cfg, newFakeClock(bootMs), 16)
	spawnStopped(t, q, 1)
	var cmds []Cmd
	for range 10 {
		cmds = append(cmds, TelemetryAppend{Who: queenWho, Worker: "worker-1", Data: []byte("hb\n")})
	}
	cmds = append(cmds, CtlWrite{Who: queenWho, Line: []byte(`{"kill":"worker-1"}`)})
	wait := queueInOrder(q, cmds...)
	runQueen(t, q, nil)
	res := wait()
	if err := res[len(res)-1].Err; err != nil {
		t.Fatalf("kill = %v", err)
	}
	for i, r := range res[:len(res)-1] {
		if !errors.Is(r.Err, errs.ErrNotFound) {
			t.Errorf("append %d queued before the kill = %+v; want ErrNotFound (the kill went first)", i, r)
		}
	}
}

// TestClassKeepsSubmissionOrder: within a class the queen keeps inbox
// order, whatever control is interleaved: appends queued in order land
// in the ring in order, and the control lines land in the log in order.
func TestClassKeepsSubmissionOrder(t *testing.T) {
	cfg := testConfig()
	cfg.FsyncBatchMax = 3 // several batches, mixed
	q := New(cfg, newFakeClock(bootMs), 64)
	spawnStopped(t, q, 1)
	var cmds []Cmd
	var wantRing, wantLog []string
	for i := range 20 {
		rec := fmt.Sprintf("r%02d", i)
		cmds = append(cmds, TelemetryAppend{Who: queenWho, Worker: "worker-1", Data: []byte(rec + "\n")})
		wantRing = append(wantRing, rec)
		if i%3 == 0 {
			line := fmt.Sprintf("c%02d", i)
			cmds = append(cmds, LogAppend{Lines: []string{line}})
			wantLog = append(wantLog, line)
		}
	}
	wait := queueInOrder(q, cmds...)
	runQueen(t, q, nil)
	for i, r := range wait() {
		if r.Err != nil {
			t.Fatalf("command %d = %v", i, r.Err)
		}
	}
	sn := q.Snapshot()
	w, _ := sn.Worker("worker-1")
	if got := strings.Fields(string(w.Ring.Data)); !slices.Equal(got, wantRing) {
		t.Errorf("ring = %q; want %q", got, wantRing)
	}
	var gotLog []string
	for _, l := range sn.Log {
		if len(l) == 3 && l[0] == 'c' {
			gotLog = append(gotLog, l)
		}
	}
	if !slices.Equal(gotLog, wantLog) {
		t.Errorf("control lines = %q; want %q", gotLog, wantLog)
	}
}

// TestControlFloodLeavesRoomForTelemetry: with control and telemetry both
// waiting, a batch gives telemetry a place (half the batch; with
// fsync_batch_max 1, the next batch), so a control flood cannot starve
// telemetry.
func TestControlFloodLeavesRoomForTelemetry(t *testing.T) {
	for _, limit := range []int{1, 2, 4, 64} {
		t.Run(fmt.Sprint("fsync_batch_max=", limit), func(t *testing.T) {
			cfg := testConfig()
			cfg.FsyncBatchMax = limit
			q := New(cfg, newFakeClock(bootMs), 256)
			spawnStopped(t, q, 2)
			var cmds []Cmd
			for i := range 200 {
				cmds = append(cmds, LogAppend{Lines: []string{fmt.Sprintf("c%03d", i)}})
			}
			// worker-2 appending to worker-1's ring is refused with an
			// audit line: where it lands in the log shows when it applied.
			cmds = append(cmds, TelemetryAppend{Who: Who{Role: "worker-heartbeat", Subject: "worker-2"}, Worker: "worker-1", Data: []byte("x\n")})
			wait := queueInOrder(q, cmds...)
			runQueen(t, q, nil)
			wait()
			log := q.Snapshot().Log
			deny := slices.IndexFunc(log, func(l string) bool { return strings.HasPrefix(l, "telemetry outcome=deny") })
			late := slices.Index(log, fmt.Sprintf("c%03d", max(limit/2, 1)))
			if deny < 0 || late < 0 || deny > late {
				t.Errorf("telemetry applied at log line %d, control line c%03d at %d; want the telemetry in the first batch (the second for a batch of 1):\n%s",
					deny, max(limit/2, 1), late, strings.Join(log, "\n"))
			}
		})
	}
}

// TestFloodEverySubmitterAnswered floods both inboxes from many
// goroutines: every submitter gets an answer, the refusals are exactly
// the busy ones counted in Pressure.Busy, the ring holds exactly the
// accepted appends (nothing applied without an answer, nothing answered
// without being applied), and every session open is recorded.
func TestFloodEverySubmitterAnswered(t *testing.T) {
	cfg := testConfig()
	cfg.RingBytesPerWorker = 1 << 20
	cfg.LogRingLines = 4096 // room for every flood line
	q := New(cfg, newFakeClock(bootMs), 2)
	spawnStopped(t, q, 1)
	runQueen(t, q, nil)
	const n = 400
	rec := []byte("0123456789\n")
	var accepted, opened, lines sync.WaitGroup
	var mu sync.Mutex
	var nAccepted, nBusy int
	var other []error
	for i := range n {
		accepted.Add(1)
		go func() {
			defer accepted.Done()
			_, err := q.Do(context.Background(), TelemetryAppend{Who: queenWho, Worker: "worker-1", Data: rec})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				nAccepted++
			case IsInboxFull(err):
				nBusy++
			default:
				other = append(other, err)
			}
		}()
		opened.Add(1)
		go func() {
			defer opened.Done()
			if _, err := q.SubmitWait(context.Background(), SessionOpen{ID: uint64(i + 1), Role: "worker-heartbeat", Subject: fmt.Sprint("w", i), Transport: "9p"}); err != nil {
				t.Errorf("SessionOpen %d = %v", i, err)
			}
		}()
		lines.Add(1)
		go func() { defer lines.Done(); q.Audit(fmt.Sprintf("flood line %d", i)) }()
	}
	accepted.Wait()
	opened.Wait()
	lines.Wait()
	if len(other) > 0 {
		t.Fatalf("appends failed otherwise than busy: %v", other)
	}
	if nAccepted+nBusy != n {
		t.Fatalf("answers = %d accepted + %d busy; want %d", nAccepted, nBusy, n)
	}
	if got := q.Pressure.Busy.Load(); got != uint64(nBusy) {
		t.Errorf("Pressure.Busy = %d; want the %d busy answers", got, nBusy)
	}
	sn := q.Snapshot()
	w, _ := sn.Worker("worker-1")
	if got, want := w.Ring.End(), uint64(nAccepted*len(rec)); got != want {
		t.Errorf("ring end = %d; want %d (%d accepted appends)", got, want, nAccepted)
	}
	if got := countFunc(slices.Values(sn.Gov.Sessions), func(s SessionInfo) bool { return s.State != SessionClosed }); got != n {
		t.Errorf("open sessions recorded = %d; want %d", got, n)
	}
	if got := countFunc(slices.Values(sn.Log), func(l string) bool { return strings.HasPrefix(l, "flood line ") }); got != n {
		t.Errorf("flood audit lines in the log = %d; want %d", got, n)
	}
}
