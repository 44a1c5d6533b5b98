package hive

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/gate"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/tframe"
	"github.com/cohesix/cohesix/internal/ticket"
)

// newCBORHive is a test hive built with telemetry.frame_schema = cbor-v1.
func newCBORHive(t *testing.T) *testHive {
	t.Helper()
	clock := &fakeClock{}
	clock.ms.Store(epochMs)
	ticks := make(chan time.Time)
	cfg := queen.Default()
	cfg.FrameSchema = tframe.FrameSchemaCBOR
	h, err := New(Options{Clock: clock, Ticks: ticks, Queen: &cfg})
	if err != nil {
		t.Fatalf("New = %v", err)
	}
	t.Cleanup(func() { _ = h.Close() })
	th := &testHive{Hive: h, t: t, clock: clock, ticks: ticks}
	th.barrier()
	return th
}

func readFrames(t *testing.T, ns *gate.Namespace, s *gate.Session, path string) []tframe.Frame {
	t.Helper()
	n, _, err := ns.Resolve(s, path, gate.OpRead)
	if err != nil {
		t.Fatalf("Resolve(%s) = %v", path, err)
	}
	b, err := gate.ReadAll(n)
	if err != nil {
		t.Fatalf("ReadAll(%s) = %v", path, err)
	}
	var out []tframe.Frame
	for len(b) > 0 {
		f, k, err := tframe.DecodeFirst(b)
		if err != nil {
			t.Fatalf("ring holds a bad frame at %d: %v", len(out), err)
		}
		out = append(out, f)
		b = b[k:]
	}
	return out
}

// TestTelemetryCBORFrames: in cbor-v1 mode (DECISIONS D16, P28) heartbeats
// are telemetry-frame/v1 frames, a worker's appends must be one
// well-formed frame about itself (plain text is InvalidPayload, on 9P and
// the console alike), reads return whole frames back to back, and a wrap
// drops whole frames only.
func TestTelemetryCBORFrames(t *testing.T) {
	h := newCBORHive(t)
	q := h.session()
	if out, _ := q.Dispatch("attach queen"); out[0] != "OK ATTACH role=queen" {
		t.Fatalf("attach = %q", out)
	}
	if out, _ := q.Dispatch(`spawn {"spawn":"heartbeat","ticks":1000}`); !strings.HasPrefix(out[0], "OK SPAWN") {
		t.Fatalf("spawn = %q", out)
	}
	h.tick()
	h.tick()
	ns := h.Namespace()
	qs := ns.NewSession(ticket.RoleQueen, "")
	const path = "/worker/worker-1/telemetry"
	got := readFrames(t, ns, qs, path)
	if len(got) != 2 || got[0].Seq != 1 || got[1].Seq != 2 || got[1].WorkerID != "worker-1" || got[1].Role != "worker-heartbeat" || got[1].Payload["tick"] != uint64(2) {
		t.Fatalf("heartbeat frames = %+v", got)
	}

	ws := ns.NewSession(ticket.RoleWorkerHeartbeat, "worker-1")
	n, _, err := ns.Resolve(ws, path, gate.OpWrite)
	if err != nil {
		t.Fatalf("Resolve(write) = %v", err)
	}
	frame := func(id string, seq uint64) []byte {
		return tframe.Encode(tframe.Frame{WorkerID: id, Role: "worker-heartbeat", Seq: seq, EmittedMs: seq, Payload: map[string]any{"note": "w"}})
	}
	for name, data := range map[string][]byte{
		"plain":        []byte("{\"tick\":9}\n"),
		"other worker": frame("worker-2", 1),
		"two frames":   append(frame("worker-1", 1), frame("worker-1", 2)...),
		"truncated":    frame("worker-1", 1)[:8],
	} {
		if _, err := n.Append(ws, data, -1); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("append %s = %v; want invalid payload", name, err)
		}
	}
	if _, err := n.Append(ws, frame("worker-1", 100), -1); err != nil {
		t.Fatalf("append frame = %v", err)
	}
	got = readFrames(t, ns, qs, path)
	if len(got) != 3 || got[2].Seq != 100 || got[2].Payload["note"] != "w" {
		t.Fatalf("frames after append = %+v", got)
	}

	// The console is line-based: an echo to a cbor-v1 ring is a plain
	// append and is refused.
	if out, _ := q.Dispatch("echo " + path + " hello"); !strings.HasPrefix(out[0], "ERR ECHO reason=policy detail=invalid-payload") {
		t.Errorf("console echo = %q; want invalid-payload", out)
	}

	// Wrap: the ring keeps whole frames, its base moves by whole frames.
	for i := range 40 {
		if _, err := n.Append(ws, frame("worker-1", uint64(200+i)), -1); err != nil {
			t.Fatalf("append %d = %v", i, err)
		}
	}
	got = readFrames(t, ns, qs, path)
	if len(got) == 0 || got[len(got)-1].Seq != 239 {
		t.Fatalf("after wrap: %d frames, last %+v", len(got), got[len(got)-1])
	}
	ring := h.q.Snapshot().Workers()[0].Ring
	if len(ring.Data) > queen.Default().RingBytesPerWorker || ring.Base == 0 {
		t.Errorf("ring = %d bytes, base %d; want within the manifest's ring and wrapped", len(ring.Data), ring.Base)
	}
}
