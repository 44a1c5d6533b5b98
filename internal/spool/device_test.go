package spool

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/cohesix/cohesix/internal/blockdev"
)

const testBS = 512

// TestDeviceAppendReopenCompact: records survive a reopen; a compaction
// keeps what keep chose, later appends follow it, and the previous
// generation reads back as the archive (ReadDevice), only one generation
// back.
func TestDeviceAppendReopenCompact(t *testing.T) {
	mem := blockdev.NewMem(testBS, 64)
	s, recs, torn, err := OpenDevice(mem)
	if err != nil || len(recs) != 0 || torn != nil {
		t.Fatalf("fresh device: %q, %+v, %v", recs, torn, err)
	}
	big := bytes.Repeat([]byte("x"), 3*testBS) // spans blocks
	if err := s.Append([]byte("a"), big, []byte("c")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, recs, torn, err = OpenDevice(mem)
	if err != nil || torn != nil || !slices.EqualFunc(recs, [][]byte{[]byte("a"), big, []byte("c")}, bytes.Equal) {
		t.Fatalf("reopen: %d records, %+v, %v", len(recs), torn, err)
	}
	last := func(r [][]byte) [][]byte { return r[len(r)-1:] }
	if err := s.Compact("ignored", last); err != nil {
		t.Fatal(err)
	}
	if err := s.Append([]byte("d")); err != nil {
		t.Fatal(err)
	}
	archive, live, err := ReadDevice(mem)
	if err != nil || len(archive) != 3 || !slices.Equal(strs(live), []string{"c", "d"}) {
		t.Fatalf("ReadDevice: archive %d records, live %q, %v", len(archive), live, err)
	}
	if err := s.Compact("", last); err != nil {
		t.Fatal(err)
	}
	archive, live, _ = ReadDevice(mem)
	if !slices.Equal(strs(archive), []string{"c", "d"}) || !slices.Equal(strs(live), []string{"d"}) {
		t.Fatalf("second compaction: archive %q live %q", archive, live)
	}
	s.Close()
	_, recs, torn, err = OpenDevice(mem)
	if err != nil || torn != nil || !slices.Equal(strs(recs), []string{"d"}) {
		t.Fatalf("reopen after compactions: %q, %+v, %v", recs, torn, err)
	}
}

// TestDeviceFull: an append that does not fit the half is refused with
// ErrFull and leaves the spool as it was; a half filled to its last byte,
// or to a few bytes short of it (no room for a whole terminator), reopens
// clean; a compaction that frees room lets appends go on.
func TestDeviceFull(t *testing.T) {
	mem := blockdev.NewMem(testBS, 8) // halves of 4 blocks: 3 of records
	for i := range mem.Data {
		mem.Data[i] = 0xaa // what an unformatted disk may hold
	}
	s, _, _, err := OpenDevice(mem)
	if err != nil {
		t.Fatal(err)
	}
	if c := s.Capacity(); c != 3*testBS {
		t.Fatalf("capacity %d, want %d", c, 3*testBS)
	}
	rec := bytes.Repeat([]byte("r"), testBS-headerLen)
	for i := range 3 {
		if err := s.Append(rec); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	if err := s.Append([]byte("one more")); !errors.Is(err, ErrFull) {
		t.Fatalf("append to a full half: %v, want ErrFull", err)
	}
	if _, recs, torn, err := OpenDevice(mem.Clone()); err != nil || torn != nil || len(recs) != 3 {
		t.Fatalf("reopen of a full half: %d records, torn %+v, %v", len(recs), torn, err)
	}
	if err := s.Compact("", func(r [][]byte) [][]byte { return r[2:] }); err != nil {
		t.Fatal(err)
	}
	// Two records of the same size and one 4 bytes shorter: 4 bytes of
	// room stay, too few for a terminator.
	if err := s.Append(rec, rec[4:]); err != nil {
		t.Fatal(err)
	}
	if _, recs, torn, err := OpenDevice(mem.Clone()); err != nil || torn != nil || len(recs) != 3 {
		t.Fatalf("reopen of a half 4 bytes short of full: %d records, torn %+v, %v", len(recs), torn, err)
	}
	if err := s.Compact("", func(r [][]byte) [][]byte { return r[:1] }); err != nil {
		t.Fatal(err)
	}
	if err := s.Append([]byte("one more")); err != nil {
		t.Fatalf("append after compaction: %v", err)
	}
	_, recs, _, err := OpenDevice(mem)
	if err != nil || len(recs) != 2 || string(recs[1]) != "one more" {
		t.Fatalf("reopen: %d records, %v", len(recs), err)
	}
}

// cutStep is one step of the power-cut script: an append of a batch, or
// a compaction keeping the newest keep records.
type cutStep struct {
	batch [][]byte
	keep  int
}

func cutScript() []cutStep {
	rec := func(i, n int) []byte { return bytes.Repeat([]byte{byte('a' + i%26)}, n) }
	var steps []cutStep
	for i := range 20 {
		switch {
		case i%5 == 4:
			steps = append(steps, cutStep{keep: 3})
		case i%3 == 0:
			// A batch spanning several blocks (group commit).
			steps = append(steps, cutStep{batch: [][]byte{rec(i, 40), rec(i+1, 2*testBS+7), rec(i+2, 300)}})
		default:
			steps = append(steps, cutStep{batch: [][]byte{rec(i, 20+i*37)}})
		}
	}
	return steps
}

// run plays steps on d from a fresh open, stopping at the first error.
// acked is the live records after the last step that returned, and
// inflight the step that failed (nil if all returned).
func runScript(d blockdev.Device, steps []cutStep) (acked [][]byte, inflight *cutStep) {
	s, _, _, err := OpenDevice(d)
	if err != nil {
		return nil, &cutStep{}
	}
	for i := range steps {
		st := steps[i]
		if st.batch != nil {
			err = s.Append(st.batch...)
		} else {
			err = s.Compact("", func(r [][]byte) [][]byte { return r[max(0, len(r)-st.keep):] })
		}
		if err != nil {
			return acked, &st
		}
		if st.batch != nil {
			acked = append(acked, st.batch...)
		} else {
			acked = acked[max(0, len(acked)-st.keep):]
		}
	}
	return acked, nil
}

// allowed reports whether recovered is what a cut during inflight may
// leave after acked: acked itself, acked plus a prefix of the batch in
// flight, or the compaction's result.
func allowed(recovered, acked [][]byte, inflight *cutStep) bool {
	eq := func(a, b [][]byte) bool { return slices.EqualFunc(a, b, bytes.Equal) }
	if eq(recovered, acked) {
		return true
	}
	if inflight == nil {
		return false
	}
	if inflight.batch != nil {
		for j := 1; j <= len(inflight.batch); j++ {
			if eq(recovered, append(slices.Clone(acked), inflight.batch[:j]...)) {
				return true
			}
		}
		return false
	}
	return eq(recovered, acked[max(0, len(acked)-inflight.keep):])
}

// TestDevicePowerCutEveryWrite cuts the power at every write of a
// scripted run of appends (some spanning blocks, some batched) and
// compactions, whole, torn mid-block, and with the disk reordering writes
// between flushes: a reopen recovers exactly the acknowledged records
// (plus possibly the ones in flight), never an archived generation as
// live, and the recovered spool takes an append that reads back.
func TestDevicePowerCutEveryWrite(t *testing.T) {
	steps := cutScript()
	count := &blockdev.Counter{Device: blockdev.NewMem(testBS, 40)}
	if all, inflight := runScript(count, steps); inflight != nil || len(all) == 0 {
		t.Fatalf("uncut run stopped at %+v", inflight)
	}
	if count.Writes <= len(steps) {
		t.Fatalf("the script makes %d writes in %d steps; an append or compaction makes at least one", count.Writes, len(steps))
	}
	modes := []struct {
		name          string
		torn, reorder bool
	}{{"whole", false, false}, {"torn", true, false}, {"reorder", false, true}, {"torn+reorder", true, true}}
	for _, mode := range modes {
		for k := 0; k <= count.Writes; k++ {
			mem := blockdev.NewMem(testBS, 40)
			cut := &blockdev.Cut{D: mem, Left: k, Torn: mode.torn, Reorder: mode.reorder}
			acked, inflight := runScript(cut, steps)
			s, recs, _, err := OpenDevice(mem)
			if err != nil {
				t.Fatalf("%s cut at write %d: reopen: %v", mode.name, k, err)
			}
			if !allowed(recs, acked, inflight) {
				t.Fatalf("%s cut at write %d: recovered %d records %q, acknowledged %d %q (in flight %+v)",
					mode.name, k, len(recs), short(recs), len(acked), short(acked), inflight != nil)
			}
			if err := s.Append([]byte("after")); err != nil {
				t.Fatalf("%s cut at write %d: append after recovery: %v", mode.name, k, err)
			}
			_, again, torn, err := OpenDevice(mem)
			if err != nil || torn != nil || !slices.EqualFunc(again, append(recs, []byte("after")), bytes.Equal) {
				t.Fatalf("%s cut at write %d: second reopen %q, %+v, %v", mode.name, k, short(again), torn, err)
			}
		}
	}
}

func short(recs [][]byte) []string {
	var out []string
	for _, r := range recs {
		out = append(out, fmt.Sprintf("%c×%d", r[0], len(r)))
	}
	return out
}

// TestDeviceOldGenerationNotLive: records of an older generation left in
// a half right after the new generation's stream never scan as live, even
// where the new stream's terminator is lost.
func TestDeviceOldGenerationNotLive(t *testing.T) {
	mem := blockdev.NewMem(testBS, 16)
	s, _, _, err := OpenDevice(mem)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		if err := s.Append([]byte(fmt.Sprintf("gen1-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	gen1 := slices.Clone(mem.Data[testBS : 2*testBS]) // half 0's first record block
	none := func([][]byte) [][]byte { return nil }
	if err := s.Compact("", none); err != nil { // half 1, generation 2
		t.Fatal(err)
	}
	// Half 0 again, generation 3: one record as long as a generation 1
	// record, so the next generation 1 record starts where it ends.
	if err := s.Compact("", func([][]byte) [][]byte { return [][]byte{[]byte("keep-0")} }); err != nil {
		t.Fatal(err)
	}
	end := headerLen + len("keep-0")
	if _, live, _ := ReadDevice(mem); !slices.Equal(strs(live), []string{"keep-0"}) {
		t.Fatalf("generation 3 reads %q", live)
	}
	// Lose the terminator: generation 1's second record follows.
	copy(mem.Data[testBS+end:], gen1[end:end+headerLen])
	_, recs, torn, err := OpenDevice(mem)
	if err != nil || !slices.Equal(strs(recs), []string{"keep-0"}) || torn == nil || torn.Reason != "bad-checksum" {
		t.Fatalf("reopen: %q, torn %+v, %v; want keep-0 alone and a bad-checksum tail", recs, torn, err)
	}
}

// fuzzBS and fuzzBlocks shape the device FuzzDeviceOpen decodes: small
// blocks so records span them and both halves fit a short input.
const fuzzBS, fuzzBlocks = 64, 16

// FuzzDeviceOpen decodes arbitrary bytes as a device spool's region: Open
// never fails on a readable device, returns what ReadDevice reads as
// live, and the spool it leaves takes an append that a reopen reads back
// after the same records with no torn tail.
func FuzzDeviceOpen(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		mem := blockdev.NewMem(fuzzBS, fuzzBlocks)
		copy(mem.Data, data)
		_, before, err := ReadDevice(mem.Clone())
		if err != nil {
			t.Fatal(err)
		}
		s, recs, torn, err := OpenDevice(mem)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(recs, before, bytes.Equal) {
			t.Fatalf("Open read %d records, ReadDevice %d", len(recs), len(before))
		}
		if torn != nil && torn.Reason == "" {
			t.Fatalf("torn tail without a reason: %+v", torn)
		}
		if err := s.Append([]byte("fuzz")); errors.Is(err, ErrFull) {
			return
		} else if err != nil {
			t.Fatal(err)
		}
		_, again, torn, err := OpenDevice(mem)
		if err != nil || torn != nil || !slices.EqualFunc(again, append(recs, []byte("fuzz")), bytes.Equal) {
			t.Fatalf("reopen: %d records (want %d), torn %+v, %v", len(again), len(recs)+1, torn, err)
		}
	})
}

// TestDeviceRecordAcrossReadChunk: a record whose header straddles the
// end of one of load's read chunks, its first bytes zero (a length under
// 2^24 in little-endian), reads back whole rather than as the stream's end.
func TestDeviceRecordAcrossReadChunk(t *testing.T) {
	for _, before := range []int{1, 3, 7} {
		mem := blockdev.NewMem(testBS, 2*(devReadChunk/testBS+16))
		s, _, _, err := OpenDevice(mem)
		if err != nil {
			t.Fatal(err)
		}
		// Fill the stream to before bytes short of the first chunk's end.
		var want [][]byte
		for left := devReadChunk - before; left > 0; {
			n := min(left-headerLen, 1000)
			if left-(headerLen+n) < headerLen && left-(headerLen+n) > 0 {
				n = left - 2*headerLen // leave room for one last frame
			}
			r := bytes.Repeat([]byte{'f'}, n)
			if err := s.Append(r); err != nil {
				t.Fatal(err)
			}
			want = append(want, r)
			left -= headerLen + n
		}
		if s.Size() != devReadChunk-int64(before) {
			t.Fatalf("stream at %d, want %d", s.Size(), devReadChunk-before)
		}
		r := bytes.Repeat([]byte{'z'}, 256) // header 00 01 00 00 ...
		if err := s.Append(r, []byte("after")); err != nil {
			t.Fatal(err)
		}
		want = append(want, r, []byte("after"))
		_, recs, torn, err := OpenDevice(mem)
		if err != nil || torn != nil || !slices.EqualFunc(recs, want, bytes.Equal) {
			t.Fatalf("header %d bytes before the chunk's end: reopen read %d records (want %d), torn %+v, %v", before, len(recs), len(want), torn, err)
		}
	}
}

// readCounter counts block reads.
type readCounter struct {
	blockdev.Device
	reads int
}

func (r *readCounter) ReadBlock(n int64, p []byte) error { r.reads++; return r.Device.ReadBlock(n, p) }

// TestDeviceAppendReadsNothing: an append starts in a block the previous
// write left, so it writes whole blocks without reading one back (on
// virtio-blk a read is a request as dear as the write); after a
// compaction too.
func TestDeviceAppendReadsNothing(t *testing.T) {
	d := &readCounter{Device: blockdev.NewMem(testBS, 64)}
	s, _, _, err := OpenDevice(d)
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	for i := range 40 {
		if i == 20 {
			if err := s.Compact("", func(r [][]byte) [][]byte { return r }); err != nil {
				t.Fatal(err)
			}
		}
		r := bytes.Repeat([]byte{byte('a' + i%26)}, 37*i%700+1)
		before := d.reads
		if err := s.Append(r); err != nil {
			t.Fatal(err)
		}
		if d.reads != before {
			t.Fatalf("append %d read %d blocks", i, d.reads-before)
		}
		want = append(want, r)
	}
	_, recs, torn, err := OpenDevice(d.Device)
	if err != nil || torn != nil || !slices.EqualFunc(recs, want, bytes.Equal) {
		t.Fatalf("reopen: %d records (want %d), torn %+v, %v", len(recs), len(want), torn, err)
	}
}
