package swarmui

import (
	"fmt"
	"time"

	"github.com/cohesix/cohesix/internal/cohtrace"
)

// Fixture times: the committed snapshots are created at FixtureCreated and
// expire at FixtureExpires, far ahead, so tests and the page can replay
// them for years; everything else in them is a function of the worker
// count, so regenerating them gives the same bytes.
var (
	FixtureCreated = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	FixtureExpires = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

var fixtureRoles = []string{"worker-heartbeat", "worker-heartbeat", "worker-heartbeat", "worker-gpu", "worker-bus", "worker-lora"}

// FixtureFrames is a deterministic hive of n workers over frames frames:
// workers appear in spawn order across the first half, every seventh is
// cut from the root, pressure and sparklines follow the worker's index.
func FixtureFrames(n, frames int) []Frame {
	out := make([]Frame, 0, frames)
	for f := range frames {
		live := n
		if frames > 1 && f < frames/2 {
			live = n * (f + 1) / (frames/2 + 1)
		}
		fr := Frame{Seq: uint64(f + 1), TMs: int64(f) * 250, Queen: Queen{Lifecycle: "ONLINE", Reachable: true, Workers: live, Gen: uint64(100 + f)}}
		fr.Workers = make([]Worker, 0, live)
		for i := range live {
			spark := make([]float64, 0, SparkMax)
			for k := range min(SparkMax, f+1+i%8) {
				spark = append(spark, float64((i*7+k*13+f*5)%40))
			}
			state := "ACTIVE"
			if i%11 == 10 {
				state = "EXITED"
			}
			fr.Workers = append(fr.Workers, Worker{
				ID: fmt.Sprintf("worker-%d", i+1), Role: fixtureRoles[i%len(fixtureRoles)], State: state,
				Pressure: float64((i*37+f*3)%100) / 100, Reachable: i%7 != 6, Cut: i%7 == 6, Spark: spark,
			})
		}
		out = append(out, fr)
	}
	return out
}

// FixtureTrace is a recorded cohsh session: attach, three spawns, a tail,
// a kill, quit (the shape of 20e's canonical flow).
func FixtureTrace() ([]byte, error) {
	ctl := `echo /queen/ctl `
	t := cohtrace.Trace{}
	add := func(req, resp string) {
		t.Frames = append(t.Frames, cohtrace.Frame{Req: []byte(req), Resp: []byte(resp)})
		t.Acks = append(t.Acks, resp)
	}
	add("attach queen", "OK ATTACH role=queen")
	for range 3 {
		add(ctl+`{"spawn":"heartbeat","ticks":20}`, "OK ECHO path=/queen/ctl bytes=32")
	}
	add("tail /worker/worker-2/telemetry", "OK TAIL path=/worker/worker-2/telemetry")
	add(ctl+`{"kill":"worker-1"}`, "OK ECHO path=/queen/ctl bytes=19")
	add("quit", "OK QUIT")
	return cohtrace.Encode(t, cohtrace.DefaultLimits())
}
