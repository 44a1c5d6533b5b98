package queen

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/cohesix/cohesix/internal/spool"
)

// probe is a control command that records when the authority applies it
// and how many telemetry bytes the workers' rings had taken by then.
type probe struct {
	at    *time.Time
	bytes *uint64
}

func (probe) isCmd() {}
func (p probe) apply(s *State, _ uint64) Result {
	*p.at = time.Now()
	for _, w := range s.workers {
		*p.bytes += w.Ring.End()
	}
	return Result{}
}

// BenchmarkControlBehindTelemetry measures how long a queen console
// command waits when it arrives behind a telemetry backlog (issue 15:
// operator latency must not follow the telemetry backlog). Each iteration
// builds a stopped queen with 1,000 workers, queues backlog telemetry
// appends (spread over the workers), then one control command, and
// starts Run. ns/op is the time from starting Run to the control
// command's reply, as its submitter sees it (so it includes the
// scheduler handing the CPU back from the authority, which goes on
// draining the backlog); applied_us is when the authority applied the
// command, and ahead is how many of the backlog's appends it applied
// first.
//
//   - mem: no store; rings large enough that no append wraps.
//   - spool-wrapping: a governance spool in a temporary directory (one
//     fsync per batch that has records) and rings of one record, so every
//     append wraps its worker's ring (and, before wrap summaries, writes
//     a durable audit line), as at a fleet whose rings hold one heartbeat.
//
// It uses only API older than the two inbox classes, so the same file
// measures the single-inbox queen in a checkout of the parent commit
// (docs/BENCHMARKS.md).
func BenchmarkControlBehindTelemetry(b *testing.B) {
	const workers = 1000
	rec := []byte(`{"hb":1,"load":0.25}` + "\n")
	for _, mode := range []string{"mem", "spool-wrapping"} {
		for _, backlog := range []int{64, 1024, 4096} {
			b.Run(fmt.Sprintf("%s/backlog=%d", mode, backlog), func(b *testing.B) {
				cfg := testConfig()
				cfg.MaxWorkers = max(cfg.MaxWorkers, workers)
				if mode == "spool-wrapping" {
					cfg.RingBytesPerWorker = len(rec)
				}
				dir := b.TempDir()
				var applied time.Duration
				var ahead uint64
				b.StopTimer()
				for it := range b.N {
					q := New(cfg, newFakeClock(bootMs), backlog+1)
					var sp *spool.Spool
					if mode == "spool-wrapping" {
						var err error
						if sp, _, _, err = spool.Open(filepath.Join(dir, fmt.Sprintf("spool-%d", it))); err != nil {
							b.Fatal(err)
						}
						q.UseStore(sp, nil, "")
					}
					q.state.Apply(BootComplete{}, bootMs)
					var base uint64
					for i := range workers {
						if r := q.state.Apply(CtlWrite{Who: queenWho, Line: []byte(`{"spawn":"heartbeat","ticks":1000000}`)}, bootMs); r.Err != nil {
							b.Fatalf("spawn %d: %v", i, r.Err)
						}
						// Fill the ring, so the backlog's appends wrap.
						r := q.state.Apply(TelemetryAppend{Who: queenWho, Worker: fmt.Sprintf("worker-%d", i+1), Data: rec}, bootMs)
						base += r.Offset
					}
					q.state.takePersist()                     // the setup's records are not the benchmark's
					q.snap.Store(q.state.snapshot(0, bootMs)) // nor is its snapshot
					gone, cancel := context.WithCancel(context.Background())
					cancel()
					for i := range backlog {
						// A cancelled context queues the append and returns at once.
						_, _ = q.Submit(gone, TelemetryAppend{Who: queenWho, Worker: fmt.Sprintf("worker-%d", i%workers+1), Data: rec})
					}
					var at time.Time
					var bytes uint64
					queued := make(chan struct{})
					replied := make(chan error, 1)
					go func() {
						_, err := q.SubmitQueued(context.Background(), probe{at: &at, bytes: &bytes}, func() { close(queued) })
						replied <- err
					}()
					<-queued
					ctx, stop := context.WithCancel(context.Background())
					done := make(chan struct{})
					b.StartTimer()
					start := time.Now()
					go func() { defer close(done); q.Run(ctx, nil) }()
					err := <-replied
					b.StopTimer()
					if err != nil {
						b.Fatalf("control command: %v", err)
					}
					stop()
					<-done
					if sp != nil {
						sp.Close()
					}
					applied += at.Sub(start)
					ahead += (bytes - base) / uint64(len(rec))
				}
				b.ReportMetric(float64(applied.Microseconds())/float64(b.N), "applied_us")
				b.ReportMetric(float64(ahead)/float64(b.N), "ahead")
			})
		}
	}
}

// BenchmarkRingWrapAudit is one simulated second of a fleet whose rings
// hold one record: 1,000 heartbeat workers each append one record, spread
// over the second, with a tick (a heartbeat record for every worker)
// every heartbeat interval, so every append and every heartbeat wraps a
// ring (11,000 wraps a second at the dev interval of 100 ms). It reports the /log/queen.log lines written per
// simulated second (log_lines/s) beside the time the authority spends.
func BenchmarkRingWrapAudit(b *testing.B) {
	const workers = 1000
	rec := []byte(`{"hb":1,"load":0.25,"pad":"xxx"}` + "\n")
	cfg := testConfig()
	cfg.MaxWorkers = max(cfg.MaxWorkers, workers)
	cfg.RingBytesPerWorker = 40 // one record: a tick's heartbeat (about 25 bytes) or rec
	s := NewState(cfg, bootMs)
	s.Apply(BootComplete{}, bootMs)
	var ids []string
	for i := range workers {
		r := s.Apply(CtlWrite{Who: queenWho, Line: []byte(`{"spawn":"heartbeat","ticks":1000000000}`)}, bootMs)
		if r.Err != nil {
			b.Fatalf("spawn %d: %v", i, r.Err)
		}
		ids = append(ids, r.Worker)
		s.Apply(TelemetryAppend{Who: queenWho, Worker: r.Worker, Data: rec}, bootMs) // fills the ring
	}
	interval := cfg.HeartbeatIntervalMs
	now := uint64(bootMs)
	start := s.logTotal
	b.ResetTimer()
	for it := range b.N {
		second := uint64(bootMs) + uint64(it)*1000
		for i, id := range ids {
			at := second + uint64(i)*1000/workers
			for now+interval <= at { // the ticks due before this append
				now += interval
				s.Apply(Tick{}, now)
			}
			s.Apply(TelemetryAppend{Who: queenWho, Worker: id, Data: rec}, at)
		}
		s.takePersist()
	}
	if testing.Verbose() {
		for _, l := range s.log[max(len(s.log)-5, 0):] {
			b.Log(l)
		}
	}
	b.ReportMetric(float64(s.logTotal-start)/float64(b.N), "log_lines/s")
}
