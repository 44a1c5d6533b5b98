package queen

import "fmt"

// wrapWindow summarises telemetry ring wraps (issue 15): at a fleet's
// rate every ring wraps about once a heartbeat, and a line per wrap would
// push every other line out of /log/queen.log within milliseconds. The
// first wrap of a window is written as it happens; the rest are counted
// and summarised in one line when the window ends: at the first Tick or
// wrap once Config.HeartbeatIntervalMs has passed since the window
// opened. So wraps cost at most two lines per heartbeat interval,
// however many workers wrap (DECISIONS P52).
type wrapWindow struct {
	open    bool
	startMs uint64
	wraps   int                 // wraps in the window, the written one included
	workers map[string]struct{} // the workers that wrapped in it
}

// ringWrapped audits one wrap of w's ring that dropped cut bytes.
func (s *State) ringWrapped(w *Worker, cut int, nowMs uint64) {
	ww := &s.wraps
	if ww.open && nowMs-ww.startMs >= s.cfg.HeartbeatIntervalMs {
		s.summariseWraps(nowMs)
	}
	if ww.workers == nil {
		ww.workers = map[string]struct{}{}
	}
	ww.wraps++
	ww.workers[w.ID] = struct{}{}
	if ww.open {
		return
	}
	ww.open, ww.startMs = true, nowMs
	s.audit(fmt.Sprintf("telemetry ring wrap dropped_bytes=%d new_base=%d", cut, w.Ring.Base))
}

// summariseWraps closes the window: one line when it counted more than
// the wrap it wrote.
func (s *State) summariseWraps(nowMs uint64) {
	ww := &s.wraps
	if ww.wraps > 1 {
		s.auditUnattributed(fmt.Sprintf("telemetry ring wrapped workers=%d wraps=%d suppressed=%d interval_ms=%d",
			len(ww.workers), ww.wraps, ww.wraps-1, nowMs-ww.startMs))
	}
	ww.open, ww.wraps = false, 0
	clear(ww.workers)
}

// wrapTick ends the wrap window once its interval has passed.
func (s *State) wrapTick(nowMs uint64) {
	if s.wraps.open && nowMs-s.wraps.startMs >= s.cfg.HeartbeatIntervalMs {
		s.summariseWraps(nowMs)
	}
}
