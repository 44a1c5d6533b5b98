// Package cohtrace is the .trace codec of cohsh's --record-trace and
// --replay-trace (spec console §11, milestone 20g): request/response frames
// and ACK lines behind a COHTRACE header, sealed by a SHA-256 over every
// byte before it. Integers are little-endian, like 9P. Decoding is strict:
// a trace that is oversized, truncated, followed by extra bytes, or whose
// hash does not match is refused before any frame is used, so a tampered
// trace never reaches a hive. The package does no I/O.
package cohtrace

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cohesix/cohesix/generated"
)

// Magic opens every trace; Version is the only format this build reads.
const (
	Magic   = "COHTRACE"
	Version = 1
)

// Limits bound a trace (spec console §11; client_policies.trace.max_bytes,
// console.frame_max_bytes, console.ack_max_bytes).
type Limits struct {
	MaxBytes, MaxFrame, MaxAck int
}

// DefaultLimits reads the limits from the manifest.
func DefaultLimits() Limits {
	return Limits{MaxBytes: generated.ClientPoliciesTraceMaxBytes, MaxFrame: generated.ConsoleFrameMaxBytes, MaxAck: generated.ConsoleAckMaxBytes}
}

// Frame is one request and the response it got.
type Frame struct {
	Req, Resp []byte
}

// Trace is a recorded session.
type Trace struct {
	Frames []Frame
	Acks   []string
}

// Errors a decode can return, each wrapped with detail; check with errors.Is.
var (
	ErrTooLarge  = errors.New("trace too large")
	ErrMagic     = errors.New("trace bad magic")
	ErrVersion   = errors.New("trace unsupported version")
	ErrHash      = errors.New("trace hash mismatch")
	ErrTruncated = errors.New("trace truncated")
	ErrTrailing  = errors.New("trace trailing data")
	ErrFrame     = errors.New("trace frame too large")
)

const headerLen = len(Magic) + 1 + 1 + 4 + 4

// Encode renders t, refusing what Decode would refuse.
func Encode(t Trace, lim Limits) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(Magic)
	b.WriteByte(Version)
	b.WriteByte(0)
	le := binary.LittleEndian
	b.Write(le.AppendUint32(nil, uint32(len(t.Frames))))
	b.Write(le.AppendUint32(nil, uint32(len(t.Acks))))
	for i, f := range t.Frames {
		if len(f.Req) > lim.MaxFrame || len(f.Resp) > lim.MaxFrame {
			return nil, fmt.Errorf("%w: frame %d is %d/%d bytes, limit %d", ErrFrame, i, len(f.Req), len(f.Resp), lim.MaxFrame)
		}
		b.Write(le.AppendUint32(nil, uint32(len(f.Req))))
		b.Write(f.Req)
		b.Write(le.AppendUint32(nil, uint32(len(f.Resp))))
		b.Write(f.Resp)
	}
	for i, a := range t.Acks {
		if len(a) > lim.MaxAck {
			return nil, fmt.Errorf("%w: ack %d is %d bytes, limit %d", ErrFrame, i, len(a), lim.MaxAck)
		}
		b.Write(le.AppendUint32(nil, uint32(len(a))))
		b.WriteString(a)
	}
	sum := sha256.Sum256(b.Bytes())
	b.Write(sum[:])
	if b.Len() > lim.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, b.Len(), lim.MaxBytes)
	}
	return b.Bytes(), nil
}

// Decode parses and verifies a trace.
func Decode(data []byte, lim Limits) (Trace, error) {
	var t Trace
	if len(data) > lim.MaxBytes {
		return t, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), lim.MaxBytes)
	}
	if len(data) < headerLen+sha256.Size {
		return t, fmt.Errorf("%w: %d bytes", ErrTruncated, len(data))
	}
	if string(data[:len(Magic)]) != Magic {
		return t, ErrMagic
	}
	body, sum := data[:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return t, fmt.Errorf("%w: sha256 %x, trailer %x", ErrHash, got, sum)
	}
	if v := data[len(Magic)]; v != Version {
		return t, fmt.Errorf("%w %d", ErrVersion, v)
	}
	if data[len(Magic)+1] != 0 {
		return t, fmt.Errorf("%w: reserved byte %d", ErrVersion, data[len(Magic)+1])
	}
	le := binary.LittleEndian
	frames := le.Uint32(body[len(Magic)+2:])
	acks := le.Uint32(body[len(Magic)+6:])
	r := body[headerLen:]
	take := func(max int, what string) ([]byte, error) {
		if len(r) < 4 {
			return nil, fmt.Errorf("%w: %s length", ErrTruncated, what)
		}
		n := le.Uint32(r)
		r = r[4:]
		if uint64(n) > uint64(max) {
			return nil, fmt.Errorf("%w: %s of %d bytes, limit %d", ErrFrame, what, n, max)
		}
		if uint64(len(r)) < uint64(n) {
			return nil, fmt.Errorf("%w: %s", ErrTruncated, what)
		}
		b := r[:n:n]
		r = r[n:]
		return b, nil
	}
	// Every frame takes at least 8 bytes and every ack 4, so counts the
	// body cannot hold are refused before anything is allocated.
	if uint64(frames)*8+uint64(acks)*4 > uint64(len(r)) {
		return t, fmt.Errorf("%w: %d frames and %d acks in %d bytes", ErrTruncated, frames, acks, len(r))
	}
	for i := range frames {
		req, err := take(lim.MaxFrame, fmt.Sprintf("frame %d request", i))
		if err != nil {
			return Trace{}, err
		}
		resp, err := take(lim.MaxFrame, fmt.Sprintf("frame %d response", i))
		if err != nil {
			return Trace{}, err
		}
		t.Frames = append(t.Frames, Frame{Req: bytes.Clone(req), Resp: bytes.Clone(resp)})
	}
	for i := range acks {
		a, err := take(lim.MaxAck, fmt.Sprintf("ack %d", i))
		if err != nil {
			return Trace{}, err
		}
		t.Acks = append(t.Acks, string(a))
	}
	if len(r) != 0 {
		return Trace{}, fmt.Errorf("%w: %d bytes", ErrTrailing, len(r))
	}
	return t, nil
}
