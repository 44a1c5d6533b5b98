package nineclient

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrBatchTooBig is a frame that no batch within the negotiated msize can
// carry (spec secure9p §3, "batch exceeds negotiated msize"). Nothing of
// the exchange has been sent, so the session is intact.
var ErrBatchTooBig = errors.New("9p: batch exceeds negotiated msize")

// SplitBatches cuts out, complete 9P frames back to back, into the spec's
// batches (secure9p §4): each one transport write of at most maxFrames
// frames (secure9p.batch_frames; below 1 counts as 1) and msize bytes. It
// checks every frame's size before anything is sent: one below the 7-byte
// header or past the end is an error, one over msize ErrBatchTooBig.
func SplitBatches(out []byte, maxFrames int, msize uint32) ([][]byte, error) {
	maxFrames = max(maxFrames, 1)
	var batches [][]byte
	start, frames := 0, 0
	for off := 0; off < len(out); {
		if len(out)-off < 7 {
			return nil, fmt.Errorf("9p: truncated frame at byte %d", off)
		}
		size := binary.LittleEndian.Uint32(out[off:])
		switch {
		case size < 7:
			return nil, fmt.Errorf("9p: frame of %d bytes at byte %d", size, off)
		case size > msize:
			return nil, fmt.Errorf("%w: a frame of %d bytes, msize %d", ErrBatchTooBig, size, msize)
		case uint64(size) > uint64(len(out)-off):
			return nil, fmt.Errorf("9p: truncated frame at byte %d", off)
		}
		if frames == maxFrames || off+int(size)-start > int(msize) {
			batches = append(batches, out[start:off])
			start, frames = off, 0
		}
		off += int(size)
		frames++
	}
	if start < len(out) {
		batches = append(batches, out[start:])
	}
	return batches, nil
}
