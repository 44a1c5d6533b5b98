package swarmui

import (
	"testing"
	"time"
)

// FuzzDecodeReplay: any bytes decode to frames or a 400's error, never a
// panic (snapshots and COHTRACE traces share the entry point).
func FuzzDecodeReplay(f *testing.F) {
	s, _ := EncodeSnapshotUntil(FixtureFrames(3, 2), FixtureCreated, FixtureExpires)
	tr, _ := FixtureTrace()
	f.Add(s)
	f.Add(tr)
	f.Add(s[:len(s)/2])
	f.Add([]byte("COHTRACE"))
	f.Add([]byte{0xa3, 0x01, 0x60})
	f.Fuzz(func(t *testing.T, b []byte) {
		kind, frames, err := DecodeReplay(b, FixtureCreated)
		if err == nil && (len(frames) == 0 || kind == "") {
			t.Fatalf("accepted %d bytes with no frames", len(b))
		}
	})
}

// FuzzParseUIPage: a /proc/ui page or gen line from a hostile hive never
// panics the projector.
func FuzzParseUIPage(f *testing.F) {
	f.Add([]byte("worker-1 role=worker-heartbeat state=running ticks=5 ops=0 budget_ticks=10 budget_ops=- telemetry_end=100\n"))
	f.Add([]byte("gen=1 now_ms=1 workers=1 pages=1 lifecycle=ONLINE reachable=yes\n"))
	f.Add([]byte("x telemetry_end=-1\n\n=\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := newProjector()
		p.apply(Queen{}, parseUIPage(b), time.Unix(0, 0))
		p.apply(Queen{}, parseUIPage(b), time.Unix(2, 0))
		parseUIGen(b)
	})
}

// FuzzParseUISince: a /proc/ui/since answer from a hostile hive never
// panics the parser or the feed, and an accepted one has the lines its
// header counts.
func FuzzParseUISince(f *testing.F) {
	head := "gen=9 now_ms=1 workers=2 pages=1 lifecycle=ONLINE reachable=yes since=7 "
	f.Add([]byte(head + "full=no changed=1 removed=1\nworker-3 role=worker-heartbeat state=running ticks=5 ops=0 budget_ticks=10 budget_ops=- telemetry_end=100\nworker-1 removed\n"))
	f.Add([]byte(head + "full=yes changed=0 removed=0\n"))
	f.Add([]byte(head + "full=no changed=-1 removed=99999999999999999999\n removed\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, changed, removed, err := parseUISince(b)
		if err != nil {
			return
		}
		if len(changed) != h.changed || len(removed) != h.removed {
			t.Fatalf("accepted %d/%d lines for a header of %d/%d", len(changed), len(removed), h.changed, h.removed)
		}
		var fd feed
		fd.reset(h.since, changed)
		fd.apply(h.gen, changed, removed)
	})
}
