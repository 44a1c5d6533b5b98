package fleetbench

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// ticks renders the hive's tick lines from..to as queen.State.tick does.
func ticks(from, to, iv uint64) []byte {
	var b bytes.Buffer
	for k := from; k <= to; k++ {
		fmt.Fprintf(&b, "{\"tick\":%d,\"ts_ms\":%d}\n", k, k*iv)
	}
	return b.Bytes()
}

func TestTickBytes(t *testing.T) {
	for _, iv := range []uint64{1, 7, 100, 1000, 12345} {
		for _, n := range []uint64{0, 1, 9, 10, 11, 99, 100, 101, 1234, 10001} {
			if got, want := TickBytes(n, iv), uint64(len(ticks(1, n, iv))); got != want {
				t.Errorf("TickBytes(%d, %d) = %d; want %d", n, iv, got, want)
			}
		}
	}
}

func TestRecordSize(t *testing.T) {
	pad := rand.New(rand.NewPCG(1, 2))
	for _, id := range []string{"worker-1", "worker-123456", strings.Repeat("w", 32)} {
		for _, seq := range []uint64{1, 99999, ^uint64(0)} {
			r := Record("legacy-plaintext", id, seq, MinRecordBytes, pad)
			if len(r) != MinRecordBytes || r[len(r)-1] != '\n' || bytes.Count(r, []byte("\n")) != 1 {
				t.Errorf("Record(%s, %d, %d) = %q (%d bytes); want exactly %d bytes, one final newline", id, seq, MinRecordBytes, r, len(r), MinRecordBytes)
			}
			if r := Record("legacy-plaintext", id, seq, 100, pad); len(r) != 100 && len(id) < 40 {
				t.Errorf("Record(%s, %d, 100) is %d bytes; want 100", id, seq, len(r))
			}
		}
	}
	a := Record("legacy-plaintext", "worker-1", 1, 100, rand.New(rand.NewPCG(7, 0)))
	b := Record("legacy-plaintext", "worker-1", 1, 100, rand.New(rand.NewPCG(7, 0)))
	if !bytes.Equal(a, b) {
		t.Errorf("Record with the same seed differs: %q, %q", a, b)
	}
}

// ring builds a worker's whole telemetry stream: the hive's ticks with
// hb heartbeats of size bytes interleaved, one after every third tick.
func ring(nTicks, iv uint64, hb, size int) []byte {
	var b bytes.Buffer
	pad := rand.New(rand.NewPCG(3, 4))
	sent := 0
	for k := uint64(1); k <= nTicks; k++ {
		b.Write(ticks(k, k, iv))
		if k%3 == 0 && sent < hb {
			sent++
			b.Write(Record("legacy-plaintext", "worker-5", uint64(sent), size, pad))
		}
	}
	for ; sent < hb; sent++ {
		b.Write(Record("legacy-plaintext", "worker-5", uint64(sent+1), size, pad))
	}
	return b.Bytes()
}

func TestCountFromTail(t *testing.T) {
	for _, c := range []struct {
		name       string
		nTicks, iv uint64
		hb, size   int
		window     int
		want       int
		wantErr    string
	}{
		{"whole ring", 40, 100, 12, 100, 1 << 20, 12, ""},
		{"tail mid-line", 400, 100, 120, 100, 400, 120, ""},
		{"tail of heartbeats then ticks", 1000, 100, 30, 100, 200, 30, ""},
		{"no ticks yet, whole ring", 0, 100, 3, 100, 1 << 20, 3, ""},
		{"no tick in the window", 30, 100, 40, 100, 300, 0, "no hive heartbeat"},
		{"a heartbeat of another size", 30, 100, 5, 90, 1 << 20, 0, "not a whole number"},
	} {
		t.Run(c.name, func(t *testing.T) {
			all := ring(c.nTicks, c.iv, c.hb, c.size)
			off := len(all) - min(len(all), c.window)
			size := 100
			got, err := countFromTail(all[off:], uint64(off), size)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Errorf("countFromTail = %d, %v; want an error with %q", got, err, c.wantErr)
				}
				return
			}
			if err != nil || got != c.want {
				t.Errorf("countFromTail = %d, %v; want %d", got, err, c.want)
			}
		})
	}
}
