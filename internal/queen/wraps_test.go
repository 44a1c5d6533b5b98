package queen

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestRingWrapsSummarisedPerInterval: the first wrap of a heartbeat
// interval is written as it happens; the others, across workers, become
// one summary line when the interval ends (a tick, or the next wrap after
// it), so wraps at a fleet's rate cannot flush /log/queen.log.
func TestRingWrapsSummarisedPerInterval(t *testing.T) {
	cfg := testConfig()
	cfg.RingBytesPerWorker = 16
	cfg.HeartbeatIntervalMs = 100
	s := onlineState(t, cfg)
	var ids []string
	for range 3 {
		ids = append(ids, mustSpawn(t, s, `{"spawn":"heartbeat","ticks":1}`, bootMs))
	}
	wrapLines := func(since uint64) []string {
		var out []string
		for _, l := range logSince(s, since) {
			if strings.HasPrefix(l, "telemetry ring wrap") {
				out = append(out, l)
			}
		}
		return out
	}
	appendAll := func(now uint64, rounds int) {
		for range rounds {
			for _, id := range ids {
				if r := s.Apply(TelemetryAppend{Who: queenWho, Worker: id, Data: []byte("0123456789\n")}, now); r.Err != nil {
					t.Fatalf("append to %s: %v", id, r.Err)
				}
			}
		}
	}
	total := s.logTotal
	appendAll(bootMs, 1)       // fills each ring (11 of 16 bytes): no wrap yet
	appendAll(bootMs+10, 4)    // 12 wraps: 4 per worker
	appendAll(bootMs+99, 1)    // 3 more, still inside the interval
	s.Apply(Tick{}, bootMs+50) // a tick inside the interval ends nothing
	want := []string{"telemetry ring wrap dropped_bytes=11 new_base=11"}
	if got := wrapLines(total); !slices.Equal(got, want) {
		t.Fatalf("wrap lines inside the interval = %q; want %q", got, want)
	}
	s.Apply(Tick{}, bootMs+110) // the interval (opened at +10) is over
	want = append(want, "telemetry ring wrapped workers=3 wraps=15 suppressed=14 interval_ms=100")
	if got := wrapLines(total); !slices.Equal(got, want) {
		t.Fatalf("wrap lines after the tick = %q; want %q", got, want)
	}
	// A new interval opens with the next wrap, written in full; one ended
	// by a wrap (no tick) is summarised before that wrap's line.
	total = s.logTotal
	appendAll(bootMs+200, 1)
	appendAll(bootMs+350, 1)
	w := s.workers[ids[0]]
	want = []string{
		"telemetry ring wrap dropped_bytes=11 new_base=66",
		"telemetry ring wrapped workers=3 wraps=3 suppressed=2 interval_ms=150",
		fmt.Sprintf("telemetry ring wrap dropped_bytes=11 new_base=%d", w.Ring.Base),
	}
	if got := wrapLines(total); !slices.Equal(got, want) {
		t.Fatalf("wrap lines of the next intervals = %q; want %q", got, want)
	}
	s.Apply(Tick{}, bootMs+1000)
	want = append(want, "telemetry ring wrapped workers=3 wraps=3 suppressed=2 interval_ms=650")
	if got := wrapLines(total); !slices.Equal(got, want) {
		t.Fatalf("wrap lines after the last tick = %q; want %q", got, want)
	}
	// An interval with a single wrap needs no summary.
	total = s.logTotal
	if r := s.Apply(TelemetryAppend{Who: queenWho, Worker: ids[1], Data: []byte("0123456789\n")}, bootMs+2000); r.Err != nil {
		t.Fatal(r.Err)
	}
	s.Apply(Tick{}, bootMs+3000)
	want = []string{fmt.Sprintf("telemetry ring wrap dropped_bytes=11 new_base=%d", s.workers[ids[1]].Ring.Base)}
	if got := wrapLines(total); !slices.Equal(got, want) {
		t.Errorf("wrap lines of a single-wrap interval = %q; want %q", got, want)
	}
}
