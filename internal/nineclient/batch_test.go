package nineclient

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// frames returns n Tclunk-sized frames (11 bytes) back to back.
func frames(n int, size int) []byte {
	var out []byte
	for i := range n {
		f := make([]byte, size)
		binary.LittleEndian.PutUint32(f, uint32(size))
		f[4] = msgTclunk
		binary.LittleEndian.PutUint16(f[5:], uint16(i))
		out = append(out, f...)
	}
	return out
}

func TestSplitBatches(t *testing.T) {
	for _, tc := range []struct {
		name      string
		out       []byte
		maxFrames int
		msize     uint32
		want      []int // frames per batch
	}{
		{"one frame per batch", frames(3, 11), 1, 8192, []int{1, 1, 1}},
		{"batch_frames 0 is 1", frames(2, 11), 0, 8192, []int{1, 1}},
		{"whole window", frames(16, 11), 16, 8192, []int{16}},
		{"frame cap", frames(5, 11), 2, 8192, []int{2, 2, 1}},
		{"byte cap", frames(5, 100), 16, 250, []int{2, 2, 1}},
		{"frame of exactly msize", frames(2, 64), 16, 64, []int{1, 1}},
		{"empty", nil, 16, 8192, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SplitBatches(tc.out, tc.maxFrames, tc.msize)
			if err != nil {
				t.Fatal(err)
			}
			var counts []int
			for _, b := range got {
				n := 0
				for off := 0; off < len(b); off += int(binary.LittleEndian.Uint32(b[off:])) {
					n++
				}
				counts = append(counts, n)
			}
			if len(counts) != len(tc.want) {
				t.Fatalf("batches %v; want %v", counts, tc.want)
			}
			for i := range counts {
				if counts[i] != tc.want[i] {
					t.Fatalf("batches %v; want %v", counts, tc.want)
				}
			}
			if !bytes.Equal(bytes.Join(got, nil), tc.out) {
				t.Error("batches do not add up to the exchange")
			}
		})
	}
}

func TestSplitBatchesRefuses(t *testing.T) {
	if _, err := SplitBatches(frames(1, 300), 16, 256); !errors.Is(err, ErrBatchTooBig) {
		t.Errorf("frame over msize: %v; want ErrBatchTooBig", err)
	}
	if _, err := SplitBatches(frames(2, 11)[:15], 16, 8192); err == nil {
		t.Error("truncated frame accepted")
	}
	bad := frames(1, 11)
	binary.LittleEndian.PutUint32(bad, 3)
	if _, err := SplitBatches(bad, 16, 8192); err == nil {
		t.Error("frame below the header size accepted")
	}
}

// FuzzSplitBatches: any bytes either split into batches that add up to
// the input, each within the frame and byte caps, or are refused.
func FuzzSplitBatches(f *testing.F) {
	f.Add(frames(3, 11), 2, uint32(8192))
	f.Add(frames(4, 100), 16, uint32(250))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0}, 1, uint32(7))
	f.Fuzz(func(t *testing.T, out []byte, maxFrames int, msize uint32) {
		got, err := SplitBatches(out, maxFrames, msize)
		if err != nil {
			return
		}
		if !bytes.Equal(bytes.Join(got, nil), out) {
			t.Fatal("batches do not add up to the input")
		}
		for _, b := range got {
			if len(b) == 0 || uint64(len(b)) > uint64(msize) {
				t.Fatalf("batch of %d bytes, msize %d", len(b), msize)
			}
			n := 0
			for off := 0; off < len(b); off += int(binary.LittleEndian.Uint32(b[off:])) {
				n++
			}
			if n > max(maxFrames, 1) {
				t.Fatalf("batch of %d frames, cap %d", n, maxFrames)
			}
		}
	})
}
