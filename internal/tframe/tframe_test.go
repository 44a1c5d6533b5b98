package tframe

import (
	"bytes"
	"errors"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

func hb(seq uint64) Frame {
	return Frame{WorkerID: "worker-1", Role: "worker-heartbeat", Seq: seq, EmittedMs: seq * 100, Payload: map[string]any{"tick": seq, "ts_ms": seq * 100}}
}

func TestRoundTrip(t *testing.T) {
	b := Encode(hb(3))
	f, err := Decode(b)
	if err != nil {
		t.Fatalf("Decode(Encode) = %v", err)
	}
	if f.Schema != Schema || f.WorkerID != "worker-1" || f.Seq != 3 || f.EmittedMs != 300 || f.Payload["tick"] != uint64(3) {
		t.Errorf("Decode(Encode) = %+v", f)
	}
	if !bytes.Equal(Encode(f), b) {
		t.Errorf("re-encoding differs")
	}
	// Frames back to back: DecodeFirst walks them.
	two := append(Encode(hb(1)), Encode(hb(2))...)
	f1, n, err := DecodeFirst(two)
	if err != nil || f1.Seq != 1 {
		t.Fatalf("DecodeFirst = %+v, %v", f1, err)
	}
	if f2, err := Decode(two[n:]); err != nil || f2.Seq != 2 {
		t.Errorf("second frame = %+v, %v", f2, err)
	}
	if _, err := Decode(two); err == nil {
		t.Errorf("Decode(two frames) = nil; want trailing bytes refused")
	}
}

func TestRefusals(t *testing.T) {
	enc := func(v any) []byte {
		b, err := cbor.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := map[string]any{"schema": Schema, "worker_id": "w", "role": "worker-gpu", "seq": 1, "emitted_ms": 2, "payload": map[string]any{}}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for k2, v2 := range good {
			m[k2] = v2
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	if _, err := Decode(enc(good)); err != nil {
		t.Fatalf("good frame refused: %v", err)
	}
	rows := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"plain text", []byte("{\"tick\":1}\n")},
		{"array", enc([]any{1, 2})},
		{"truncated", enc(good)[:10]},
		{"wrong schema", enc(with("schema", "telemetry-frame/v2"))},
		{"no worker", enc(with("worker_id", nil))},
		{"empty worker", enc(with("worker_id", ""))},
		{"bad role", enc(with("role", "queen"))},
		{"seq negative", enc(with("seq", -1))},
		{"seq text", enc(with("seq", "1"))},
		{"emitted float", enc(with("emitted_ms", 1.5))},
		{"payload array", enc(with("payload", []any{}))},
		{"payload int keys", enc(with("payload", map[int]any{1: 2}))},
		{"extra field", enc(with("extra", 1))},
		{"indefinite map", append([]byte{0xbf}, append(enc("schema")[0:], 0xff)...)},
		{"duplicate key", append([]byte{0xa7}, append(enc(good)[1:], append(enc("seq"), enc(1)...)...)...)},
	}
	for _, r := range rows {
		if _, err := Decode(r.data); !errors.Is(err, ErrFrame) {
			t.Errorf("%s: Decode = %v; want ErrFrame", r.name, err)
		}
	}
}

// FuzzDecode: Decode never panics, and what it accepts re-encodes to a
// frame that decodes to the same fields.
func FuzzDecode(f *testing.F) {
	f.Add(Encode(hb(1)))
	f.Add(Encode(Frame{WorkerID: "g", Role: "worker-gpu", Payload: map[string]any{"job": "j1", "state": "RUNNING", "detail": "x"}}))
	f.Add([]byte("{\"tick\":1}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := Decode(data)
		if err != nil {
			return
		}
		back, err := Decode(Encode(fr))
		if err != nil {
			t.Fatalf("re-encoded frame refused: %v", err)
		}
		if back.WorkerID != fr.WorkerID || back.Role != fr.Role || back.Seq != fr.Seq || back.EmittedMs != fr.EmittedMs || len(back.Payload) != len(fr.Payload) {
			t.Fatalf("round trip changed the frame: %+v -> %+v", fr, back)
		}
	})
}
