package fleetbench

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"

	"github.com/cohesix/cohesix/internal/tframe"
)

// A heartbeat in legacy-plaintext is one JSON line of exactly
// RecordBytes bytes: {"w":"<id>","seq":<n>,"pad":"<letters>"}\n. The
// fixed size is what lets ServerCount recover the number of heartbeats
// from the ring's end offset.
const recordTail = `"}` + "\n"

func recordHead(id string, seq uint64) string {
	return `{"w":"` + id + `","seq":` + strconv.FormatUint(seq, 10) + `,"pad":"`
}

// Record returns heartbeat seq of worker id, size bytes long, its padding
// drawn from pad (a seeded source), in the hive's frame schema: a
// telemetry-frame/v1 for cbor-v1 (its size then only about size).
func Record(schema, id string, seq uint64, size int, pad *rand.Rand) []byte {
	head := recordHead(id, seq)
	n := max(0, size-len(head)-len(recordTail))
	p := make([]byte, n)
	for i := range p {
		p[i] = 'a' + byte(pad.IntN(26))
	}
	if schema == tframe.FrameSchemaCBOR {
		return tframe.Encode(tframe.Frame{WorkerID: id, Role: "worker-heartbeat", Seq: seq, Payload: map[string]any{"bench": seq, "pad": string(p)}})
	}
	b := make([]byte, 0, size)
	b = append(b, head...)
	b = append(b, p...)
	return append(b, recordTail...)
}

// tickLine is the hive's own heartbeat in a legacy-plaintext ring
// (queen.State.tick): {"tick":k,"ts_ms":k*interval}.
var tickLine = regexp.MustCompile(`^\{"tick":([0-9]+),"ts_ms":([0-9]+)\}$`)

// tickConst is a tick line's bytes other than its two numbers, newline
// included.
const tickConst = len(`{"tick":,"ts_ms":}`) + 1

// TickBytes is the total size of the hive's tick lines 1..n with the
// given interval in ms: each is tickConst + digits(k) + digits(k*iv).
func TickBytes(n, iv uint64) uint64 {
	return uint64(tickConst)*n + digitSum(n, 1) + digitSum(n, iv)
}

// digitSum is the sum over k = 1..n of the decimal digits of k*m (m >= 1).
func digitSum(n, m uint64) uint64 {
	var sum uint64
	lo := uint64(1) // smallest value with d digits
	for d := uint64(1); d <= 20; d++ {
		hi := lo*10 - 1 // largest value with d digits
		if d == 20 {
			hi = ^uint64(0)
		}
		// k with lo <= k*m <= hi: ceil(lo/m) <= k <= floor(hi/m).
		kLo, kHi := (lo+m-1)/m, hi/m
		kHi = min(kHi, n)
		if kLo <= kHi {
			sum += d * (kHi - kLo + 1)
		}
		if kHi >= n || d == 20 {
			break
		}
		lo *= 10
	}
	return sum
}

// errNoTick means the window read had no whole tick line.
var errNoTick = errors.New("no hive heartbeat line in the window read")

// countFromTail is ServerCount's arithmetic: tail is the ring's bytes
// from off to its end (off may fall inside a line); the count of
// size-byte records appended besides the hive's ticks.
func countFromTail(tail []byte, off uint64, size int) (int, error) {
	end := off + uint64(len(tail))
	lines := tail
	if off > 0 {
		i := bytes.IndexByte(tail, '\n')
		if i < 0 {
			return 0, errNoTick
		}
		lines = tail[i+1:]
	}
	var n, ts uint64
	found := false
	for _, l := range bytes.Split(lines, []byte("\n")) {
		m := tickLine.FindSubmatch(l)
		if m == nil {
			continue
		}
		n, _ = strconv.ParseUint(string(m[1]), 10, 64)
		ts, _ = strconv.ParseUint(string(m[2]), 10, 64)
		found = true
	}
	switch {
	case !found && off > 0:
		return 0, errNoTick
	case !found: // the whole ring, and the hive has not ticked yet
		n, ts = 0, 0
	case n == 0 || ts%n != 0:
		return 0, fmt.Errorf("hive heartbeat tick=%d ts_ms=%d: not a multiple", n, ts)
	}
	ticks := uint64(0)
	if n > 0 {
		ticks = TickBytes(n, ts/n)
	}
	if ticks > end || (end-ticks)%uint64(size) != 0 {
		return 0, fmt.Errorf("ring end %d less %d bytes of %d hive heartbeats is not a whole number of %d-byte records", end, ticks, n, size)
	}
	return int((end - ticks) / uint64(size)), nil
}
