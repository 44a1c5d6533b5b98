package gate

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/ticket"
)

// TestFloodedInboxRecordsEverySession: with the queen's inbox two deep and
// worker telemetry flooding it, every Secure9P session opened is listed
// in /proc/9p/sessions (issue 15 found 68 of 1,000), and every append
// gets an answer: accepted or refused busy, the refusals counted in
// /proc/pressure/busy.
func TestFloodedInboxRecordsEverySession(t *testing.T) {
	const sessions, appends = 300, 600
	f := newFixture(t, options{inbox: 2, queen: func(c *queen.Config) { c.RingBytesPerWorker = 1 << 20 }})
	f.spawn(1, "1000000")
	q := f.queen()
	w := f.worker("worker-1")
	var wg sync.WaitGroup
	var ok, busy atomic.Int64
	var other sync.Map
	for i := range appends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.q.Do(context.Background(), queen.TelemetryAppend{Who: queen.Who{Role: "worker-heartbeat", Subject: "worker-1"}, Worker: "worker-1", Data: []byte("hb\n")})
			switch {
			case err == nil:
				ok.Add(1)
			case queen.IsInboxFull(err):
				busy.Add(1)
			default:
				other.Store(i, err)
			}
		}()
	}
	for i := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.ns.OpenSession(ticket.RoleWorkerHeartbeat, fmt.Sprintf("worker-%d", i+1), "", queen.Peer{Transport: "9p"})
		}()
	}
	wg.Wait()
	other.Range(func(k, v any) bool { t.Errorf("append %v = %v; want accepted or busy", k, v); return true })
	if got := ok.Load() + busy.Load(); got != appends {
		t.Fatalf("answered appends = %d; want %d", got, appends)
	}
	head := fmt.Sprintf("sessions total=%d worker=%d ", sessions, sessions)
	if got := f.mustRead(q, "/proc/9p/sessions"); !strings.HasPrefix(got, head) {
		t.Errorf("/proc/9p/sessions = %q...; want it to start %q", got[:min(len(got), 80)], head)
	}
	if got, want := strings.TrimSpace(f.mustRead(q, "/proc/pressure/busy")), fmt.Sprintf("busy=%d", busy.Load()); got != want {
		t.Errorf("/proc/pressure/busy = %q; want %q (every busy answer, no other)", got, want)
	}
	if got, want := f.mustRead(w, "/worker/worker-1/telemetry"), strings.Repeat("hb\n", int(ok.Load())); got != want {
		t.Errorf("telemetry holds %d bytes; want exactly the %d accepted appends", len(got), ok.Load())
	}
}
