// Package blockdev is the block-device seam under the on-device stores of
// milestone 27 (the block spool and the A/B settings store): fixed-size
// blocks read and written whole, and a flush that makes every earlier write
// durable. The hosted root task backs it with a file (File); tests back it
// with memory (Mem) and cut its power at a chosen write (Cut). On seL4 the
// virtio-blk driver (roottask/platform/sel4/blk.go) implements it.
package blockdev

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Device is a fixed array of equal blocks.
type Device interface {
	// BlockSize is the size in bytes of every block.
	BlockSize() int
	// Blocks is the number of blocks.
	Blocks() int64
	// ReadBlock fills p (BlockSize bytes) with block n.
	ReadBlock(n int64, p []byte) error
	// WriteBlock replaces block n with p (BlockSize bytes). It is durable
	// only after the next Flush returns.
	WriteBlock(n int64, p []byte) error
	// Flush makes every earlier write durable (fsync semantics).
	Flush() error
	Close() error
}

// ErrRange is a block number or buffer outside the device.
var ErrRange = errors.New("blockdev: block out of range or wrong buffer size")

func check(d Device, n int64, p []byte) error {
	if n < 0 || n >= d.Blocks() || len(p) != d.BlockSize() {
		return fmt.Errorf("%w: block %d of %d, buffer %d of %d", ErrRange, n, d.Blocks(), len(p), d.BlockSize())
	}
	return nil
}

// Mem is a device in memory; its Data is the "platter" a test reopens
// after a simulated power cut.
type Mem struct {
	Size int
	Data []byte
}

// NewMem returns a zeroed memory device.
func NewMem(blockSize int, blocks int64) *Mem {
	return &Mem{Size: blockSize, Data: make([]byte, int64(blockSize)*blocks)}
}

// Clone copies the device's contents into a new Mem.
func (m *Mem) Clone() *Mem { return &Mem{Size: m.Size, Data: append([]byte(nil), m.Data...)} }

func (m *Mem) BlockSize() int { return m.Size }
func (m *Mem) Blocks() int64  { return int64(len(m.Data) / m.Size) }
func (m *Mem) ReadBlock(n int64, p []byte) error {
	if err := check(m, n, p); err != nil {
		return err
	}
	copy(p, m.Data[n*int64(m.Size):])
	return nil
}
func (m *Mem) WriteBlock(n int64, p []byte) error {
	if err := check(m, n, p); err != nil {
		return err
	}
	copy(m.Data[n*int64(m.Size):], p)
	return nil
}
func (m *Mem) Flush() error { return nil }
func (m *Mem) Close() error { return nil }

// File is a device backed by a regular file (or a partition) of
// blockSize×blocks bytes; Flush is fsync.
type File struct {
	f      *os.File
	size   int
	blocks int64
}

// OpenFile opens or creates the file at path as a device of blocks blocks
// of blockSize bytes, extending a shorter file with zeros. A longer file
// is refused: its tail would be a store this device cannot see.
func OpenFile(path string, blockSize int, blocks int64) (*File, error) {
	if blockSize <= 0 || blocks <= 0 {
		return nil, fmt.Errorf("blockdev %s: %d blocks of %d bytes", path, blocks, blockSize)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	want := int64(blockSize) * blocks
	st, err := f.Stat()
	if err == nil && st.Mode().IsRegular() {
		switch {
		case st.Size() > want:
			err = fmt.Errorf("blockdev %s: %d bytes, larger than the %d the manifest sizes", path, st.Size(), want)
		case st.Size() < want:
			if err = f.Truncate(want); err == nil {
				err = f.Sync()
			}
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &File{f: f, size: blockSize, blocks: blocks}, nil
}

func (d *File) BlockSize() int { return d.size }
func (d *File) Blocks() int64  { return d.blocks }
func (d *File) ReadBlock(n int64, p []byte) error {
	if err := check(d, n, p); err != nil {
		return err
	}
	_, err := d.f.ReadAt(p, n*int64(d.size))
	return err
}
func (d *File) WriteBlock(n int64, p []byte) error {
	if err := check(d, n, p); err != nil {
		return err
	}
	_, err := d.f.WriteAt(p, n*int64(d.size))
	return err
}
func (d *File) Flush() error { return d.f.Sync() }
func (d *File) Close() error { return d.f.Close() }

// Region is blocks [Start, Start+Count) of D seen as a device of its own,
// so one disk holds both stores.
type Region struct {
	D            Device
	Start, Count int64
}

func (r Region) BlockSize() int { return r.D.BlockSize() }
func (r Region) Blocks() int64  { return r.Count }
func (r Region) ReadBlock(n int64, p []byte) error {
	if err := check(r, n, p); err != nil {
		return err
	}
	return r.D.ReadBlock(r.Start+n, p)
}
func (r Region) WriteBlock(n int64, p []byte) error {
	if err := check(r, n, p); err != nil {
		return err
	}
	return r.D.WriteBlock(r.Start+n, p)
}
func (r Region) Flush() error { return r.D.Flush() }
func (r Region) Close() error { return nil }

// ErrPowerCut is what a Cut device answers once its power is gone.
var ErrPowerCut = errors.New("blockdev: power cut")

// Cut is the power-cut double: it passes the first Left writes through to
// D, then the power goes. The write that meets the cut persists nothing,
// or with Torn its first half only (a block torn mid-transfer), and every
// later call fails with ErrPowerCut and persists nothing. Writes reach D
// in order, so a cut after write N leaves exactly writes 1..N, unless
// Reorder models a disk that reorders between flushes: the stores must
// flush between writes that depend on each other.
type Cut struct {
	D    Device
	Left int
	Torn bool
	// Reorder models a disk that reorders writes between flushes: when
	// the power goes, of the writes since the last Flush only the newest
	// stays on D (the others are rolled back), the worst order for a
	// store that wrote a record's blocks first to last.
	Reorder bool
	Writes  int // writes that reached D, whole
	dead    bool
	undo    []undo // since the last Flush, oldest first
}

type undo struct {
	n   int64
	old []byte
}

func (c *Cut) BlockSize() int { return c.D.BlockSize() }
func (c *Cut) Blocks() int64  { return c.D.Blocks() }
func (c *Cut) ReadBlock(n int64, p []byte) error {
	if c.dead {
		return ErrPowerCut
	}
	return c.D.ReadBlock(n, p)
}
func (c *Cut) WriteBlock(n int64, p []byte) error {
	if c.dead {
		return ErrPowerCut
	}
	if c.Left == 0 {
		c.dead = true
		if c.Reorder && len(c.undo) > 1 {
			last := c.undo[len(c.undo)-1]
			keep := make([]byte, len(p))
			if err := c.D.ReadBlock(last.n, keep); err != nil {
				return err
			}
			for i := len(c.undo) - 1; i >= 0; i-- {
				_ = c.D.WriteBlock(c.undo[i].n, c.undo[i].old)
			}
			_ = c.D.WriteBlock(last.n, keep)
		}
		if c.Torn {
			half := make([]byte, len(p))
			if err := c.D.ReadBlock(n, half); err != nil {
				return err
			}
			copy(half[:len(p)/2], p)
			_ = c.D.WriteBlock(n, half)
		}
		return ErrPowerCut
	}
	if c.Reorder {
		old := make([]byte, len(p))
		if err := c.D.ReadBlock(n, old); err != nil {
			return err
		}
		c.undo = append(c.undo, undo{n, old})
	}
	c.Left--
	c.Writes++
	return c.D.WriteBlock(n, p)
}
func (c *Cut) Flush() error {
	if c.dead {
		return ErrPowerCut
	}
	c.undo = c.undo[:0]
	return c.D.Flush()
}
func (c *Cut) Close() error { return nil }

// Counter counts the writes and flushes that pass through it, so a test
// knows how many write boundaries a scripted sequence has.
type Counter struct {
	Device
	Writes, Flushes int
}

func (c *Counter) WriteBlock(n int64, p []byte) error { c.Writes++; return c.Device.WriteBlock(n, p) }
func (c *Counter) Flush() error                       { c.Flushes++; return c.Device.Flush() }

// Sparse is a memory device that holds only the blocks written to it
// (unwritten blocks read as zeros): a hive without a state directory
// keeps its spool in memory without setting the whole ring aside at boot.
type Sparse struct {
	size   int
	blocks int64
	data   map[int64][]byte
}

// NewSparse returns an empty sparse device.
func NewSparse(blockSize int, blocks int64) *Sparse {
	return &Sparse{size: blockSize, blocks: blocks, data: map[int64][]byte{}}
}

func (s *Sparse) BlockSize() int { return s.size }
func (s *Sparse) Blocks() int64  { return s.blocks }
func (s *Sparse) ReadBlock(n int64, p []byte) error {
	if err := check(s, n, p); err != nil {
		return err
	}
	if b, ok := s.data[n]; ok {
		copy(p, b)
	} else {
		clear(p)
	}
	return nil
}
func (s *Sparse) WriteBlock(n int64, p []byte) error {
	if err := check(s, n, p); err != nil {
		return err
	}
	s.data[n] = append(s.data[n][:0], p...)
	return nil
}
func (s *Sparse) Flush() error { return nil }
func (s *Sparse) Close() error { return nil }

// OpenStore gives a store of blocks blocks of bs bytes its device, from
// the first place that is set: disk, the platform's (the store takes its
// first blocks; one of another block size or too few blocks is refused,
// naming sizedBy, the manifest keys that size the store), else the file
// name under dir (created), else a sparse memory device. own is what the
// store's Close closes; on error nothing is left open and disk is closed.
func OpenStore(disk Device, dir, name string, bs int, blocks int64, sizedBy string) (dev, own Device, err error) {
	switch {
	case disk != nil:
		if disk.BlockSize() != bs || disk.Blocks() < blocks {
			disk.Close()
			return nil, nil, fmt.Errorf("%s device: %d blocks of %d bytes, the manifest sizes %d of %d (%s)", strings.TrimSuffix(name, ".blk"), disk.Blocks(), disk.BlockSize(), blocks, bs, sizedBy)
		}
		return Region{D: disk, Start: 0, Count: blocks}, disk, nil
	case dir == "":
		m := NewSparse(bs, blocks)
		return m, m, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	f, err := OpenFile(filepath.Join(dir, name), bs, blocks)
	if err != nil {
		return nil, nil, err
	}
	return f, f, nil
}
