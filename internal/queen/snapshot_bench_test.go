package queen

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// benchState returns an online state with n spawned heartbeat workers and
// room for them (the dev manifest caps workers below the fleet sizes).
func benchState(b *testing.B, n int) *State {
	b.Helper()
	cfg := testConfig()
	cfg.MaxWorkers = max(cfg.MaxWorkers, n)
	s := NewState(cfg, bootMs)
	s.Apply(BootComplete{}, bootMs)
	for i := range n {
		if r := ctl(s, `{"spawn":"heartbeat","ticks":1000000}`, bootMs); r.Err != nil {
			b.Fatalf("spawn %d: %v", i, r.Err)
		}
	}
	s.snapshot(0, bootMs) // the loop publishes after every batch
	return s
}

// benchCmds is a stream of typical commands at a loaded hive: a telemetry
// append by each worker in turn, with queen console activity and an audit
// line mixed in.
func benchCmds(n int) []Cmd {
	var cmds []Cmd
	for i := range n {
		id := fmt.Sprintf("worker-%d", i+1)
		cmds = append(cmds, TelemetryAppend{Who: queenWho, Worker: id, Data: []byte(`{"hb":1,"load":0.25}` + "\n")})
		if i%4 == 0 {
			cmds = append(cmds, QueenSeen{})
		}
		if i%8 == 0 {
			cmds = append(cmds, LogAppend{Lines: []string{"bench audit line"}})
		}
	}
	return cmds
}

// BenchmarkApplyWithWorkers applies one command and publishes the
// snapshot after it, as the queen's Run loop does for a batch of one
// (issue 15: the per-command snapshot cost must follow what changed, not
// the size of the worker table).
func BenchmarkApplyWithWorkers(b *testing.B) {
	for _, n := range []int{8, 256, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s := benchState(b, n)
			cmds := benchCmds(n)
			var pub atomic.Pointer[Snapshot]
			now := uint64(bootMs)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				s.Apply(cmds[i%len(cmds)], now)
				pub.Store(s.snapshot(uint64(i+1), now))
			}
		})
	}
}
