package blockdev

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
)

// TestFileDevicePersists: what File writes and flushes a reopen reads back,
// and a file longer than the manifest's size is refused.
func TestFileDevicePersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "disk")
	d, err := OpenFile(path, 512, 8)
	if err != nil {
		t.Fatal(err)
	}
	msg := bytes.Repeat([]byte("cohesix!"), 100) // 800 bytes over two blocks
	if err := WriteAt(d, 300, msg); err != nil {
		t.Fatal(err)
	}
	if err := d.Flush(); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d, err = OpenFile(path, 512, 8)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if err := ReadAt(d, 300, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("read back %q, %v", got[:16], err)
	}
	// An aligned run of blocks through a Region is one ReadBlocks call on
	// the file; it reads what the block-by-block path reads.
	whole, run := make([]byte, 3*512), make([]byte, 3*512)
	for i := range int64(3) {
		if err := d.ReadBlock(i, whole[i*512:(i+1)*512]); err != nil {
			t.Fatal(err)
		}
	}
	if err := ReadAt(Region{D: d, Start: 0, Count: 8}, 0, run); err != nil || !bytes.Equal(run, whole) {
		t.Fatalf("ranged read differs: %v", err)
	}
	if err := d.ReadBlocks(7, run); !errors.Is(err, ErrRange) {
		t.Errorf("ranged read past the end: %v", err)
	}
	if err := WriteAt(d, 8*512-4, msg[:8]); !errors.Is(err, ErrRange) {
		t.Errorf("write past the end: %v, want ErrRange", err)
	}
	d.Close()
	if _, err := OpenFile(path, 512, 4); err == nil {
		t.Error("a 4 KiB file opened as a 2 KiB device")
	}
}

// TestCutStopsPersisting: a Cut device keeps exactly the writes before the
// cut, the torn one half, and nothing after.
func TestCutStopsPersisting(t *testing.T) {
	for _, torn := range []bool{false, true} {
		m := NewMem(16, 4)
		c := &Cut{D: m, Left: 2, Torn: torn}
		full := bytes.Repeat([]byte{0xAA}, 16)
		for i := int64(0); i < 4; i++ {
			err := c.WriteBlock(i, full)
			if (i < 2) != (err == nil) {
				t.Fatalf("torn=%v write %d: %v", torn, i, err)
			}
		}
		if c.Flush() == nil {
			t.Error("flush after the cut succeeded")
		}
		want := append(bytes.Repeat([]byte{0xAA}, 32), make([]byte, 32)...)
		if torn {
			copy(want[32:40], full)
		}
		if !bytes.Equal(m.Data, want) {
			t.Errorf("torn=%v platter %x, want %x", torn, m.Data, want)
		}
	}
}

// TestWriteAtKeepsNeighbours: a partial-block write leaves the block's
// other bytes as they were.
func TestWriteAtKeepsNeighbours(t *testing.T) {
	m := NewMem(8, 3)
	for i := range m.Data {
		m.Data[i] = byte(i)
	}
	old := m.Clone()
	if err := WriteAt(Region{D: m, Start: 1, Count: 2}, 3, []byte{0xFF, 0xFF}); err != nil {
		t.Fatal(err)
	}
	for i := range m.Data {
		want := old.Data[i]
		if i == 11 || i == 12 {
			want = 0xFF
		}
		if m.Data[i] != want {
			t.Fatalf("byte %d = %#x, want %#x", i, m.Data[i], want)
		}
	}
}

// TestSparseReadsWhatWasWritten: a sparse device reads zeros until a block
// is written, then that block.
func TestSparseReadsWhatWasWritten(t *testing.T) {
	s := NewSparse(4, 1<<20)
	got := []byte{9, 9, 9, 9}
	if err := s.ReadBlock(77, got); err != nil || !bytes.Equal(got, make([]byte, 4)) {
		t.Fatalf("unwritten block: %v, %v", got, err)
	}
	if err := WriteAt(s, 77*4+2, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	if err := ReadAt(s, 77*4, b); err != nil || !bytes.Equal(b, []byte{0, 0, 1, 2, 3, 0}) {
		t.Fatalf("read back %v, %v", b, err)
	}
	if len(s.data) != 2 {
		t.Errorf("%d blocks held after writing two", len(s.data))
	}
}

// TestCutReorder: with Reorder, of the writes since the last flush only
// the newest survives the cut; flushed writes all do.
func TestCutReorder(t *testing.T) {
	m := NewMem(4, 4)
	c := &Cut{D: m, Left: 3, Reorder: true}
	w := func(n int64, b byte) error { return c.WriteBlock(n, bytes.Repeat([]byte{b}, 4)) }
	if err := w(0, 1); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := w(1, 2); err != nil {
		t.Fatal(err)
	}
	if err := w(2, 3); err != nil {
		t.Fatal(err)
	}
	if err := w(3, 4); !errors.Is(err, ErrPowerCut) {
		t.Fatalf("write past the cut: %v", err)
	}
	want := []byte{1, 1, 1, 1, 0, 0, 0, 0, 3, 3, 3, 3, 0, 0, 0, 0}
	if !bytes.Equal(m.Data, want) {
		t.Errorf("platter %v, want %v", m.Data, want)
	}
}
