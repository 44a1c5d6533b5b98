// Package tframe is the worker telemetry frame telemetry-frame/v1 (spec
// gpu-telemetry §5.2), the record format of worker telemetry rings when
// the manifest sets telemetry.frame_schema = "cbor-v1" (DECISIONS D16,
// P28): one CBOR map per frame, frames back to back in the ring.
package tframe

import (
	"errors"
	"fmt"
	"slices"

	"github.com/fxamacker/cbor/v2"
)

// Schema is the frame's schema field.
const Schema = "telemetry-frame/v1"

// FrameSchemaCBOR is the manifest's telemetry.frame_schema value that
// selects CBOR frames.
const FrameSchemaCBOR = "cbor-v1"

// Roles may emit frames.
var Roles = []string{"worker-heartbeat", "worker-gpu"}

// Frame is one decoded telemetry-frame/v1.
type Frame struct {
	Schema    string         `cbor:"schema"`
	WorkerID  string         `cbor:"worker_id"`
	Role      string         `cbor:"role"`
	Seq       uint64         `cbor:"seq"`
	EmittedMs uint64         `cbor:"emitted_ms"`
	Payload   map[string]any `cbor:"payload"`
}

var (
	decMode, _ = cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthForbidden,
		MaxNestedLevels:  16,
		MaxArrayElements: 1024,
		MaxMapPairs:      1024,
	}.DecMode()
	encMode, _ = cbor.CoreDetEncOptions().EncMode()
)

// ErrFrame is wrapped by every decoding refusal.
var ErrFrame = errors.New("invalid telemetry frame")

func bad(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrFrame, fmt.Sprintf(format, a...))
}

const (
	majorUint = 0
	majorText = 3
	majorMap  = 5
)

func major(raw cbor.RawMessage) int {
	if len(raw) == 0 {
		return -1
	}
	return int(raw[0] >> 5)
}

// DecodeFirst decodes the frame at the start of data and returns it with
// its encoded length. It refuses anything but a definite-length CBOR map
// with exactly the six fields of spec gpu-telemetry §5.2, each of its
// type: schema telemetry-frame/v1, non-empty worker_id, role
// worker-heartbeat or worker-gpu, uint seq and emitted_ms, map payload.
func DecodeFirst(data []byte) (Frame, int, error) {
	if len(data) == 0 {
		return Frame{}, 0, bad("empty")
	}
	if data[0]>>5 != majorMap {
		return Frame{}, 0, bad("not a CBOR map")
	}
	var fields map[string]cbor.RawMessage
	rest, err := decMode.UnmarshalFirst(data, &fields)
	if err != nil {
		return Frame{}, 0, bad("%v", err)
	}
	n := len(data) - len(rest)
	want := map[string]int{"schema": majorText, "worker_id": majorText, "role": majorText, "seq": majorUint, "emitted_ms": majorUint, "payload": majorMap}
	if len(fields) != len(want) {
		return Frame{}, 0, bad("want exactly the fields schema, worker_id, role, seq, emitted_ms, payload")
	}
	for k, m := range want {
		raw, ok := fields[k]
		if !ok {
			return Frame{}, 0, bad("missing %s", k)
		}
		if major(raw) != m {
			return Frame{}, 0, bad("%s has the wrong CBOR type", k)
		}
	}
	var f Frame
	for _, d := range []struct {
		k string
		v any
	}{{"schema", &f.Schema}, {"worker_id", &f.WorkerID}, {"role", &f.Role}, {"seq", &f.Seq}, {"emitted_ms", &f.EmittedMs}, {"payload", &f.Payload}} {
		if err := decMode.Unmarshal(fields[d.k], d.v); err != nil {
			return Frame{}, 0, bad("%s: %v", d.k, err)
		}
	}
	switch {
	case f.Schema != Schema:
		return Frame{}, 0, bad("schema %q", f.Schema)
	case f.WorkerID == "":
		return Frame{}, 0, bad("empty worker_id")
	case !slices.Contains(Roles, f.Role):
		return Frame{}, 0, bad("role %q", f.Role)
	}
	return f, n, nil
}

// Decode decodes data that must be exactly one frame.
func Decode(data []byte) (Frame, error) {
	f, n, err := DecodeFirst(data)
	if err != nil {
		return Frame{}, err
	}
	if n != len(data) {
		return Frame{}, bad("%d bytes after the frame", len(data)-n)
	}
	return f, nil
}

// Encode returns f in deterministic (core) CBOR; Schema is set for the
// caller. A nil payload encodes as an empty map.
func Encode(f Frame) []byte {
	f.Schema = Schema
	if f.Payload == nil {
		f.Payload = map[string]any{}
	}
	b, err := encMode.Marshal(f)
	if err != nil {
		panic(err) // every Frame field is encodable
	}
	return b
}
