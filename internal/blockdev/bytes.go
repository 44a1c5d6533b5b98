package blockdev

import "fmt"

// ReadAt reads len(p) bytes at byte offset off of d.
func ReadAt(d Device, off int64, p []byte) error {
	bs := int64(d.BlockSize())
	if off < 0 || off+int64(len(p)) > bs*d.Blocks() {
		return fmt.Errorf("%w: bytes [%d,%d) of %d", ErrRange, off, off+int64(len(p)), bs*d.Blocks())
	}
	if r, ok := d.(Ranger); ok && off%bs == 0 && int64(len(p))%bs == 0 {
		return r.ReadBlocks(off/bs, p)
	}
	buf := make([]byte, bs)
	for len(p) > 0 {
		n, in := off/bs, off%bs
		if err := d.ReadBlock(n, buf); err != nil {
			return err
		}
		c := copy(p, buf[in:])
		p, off = p[c:], off+int64(c)
	}
	return nil
}

// WriteAt writes p at byte offset off of d, one WriteBlock per block it
// touches, in ascending order. A block it covers only in part is read
// first and written back with its other bytes unchanged, so a torn write
// of that block cannot damage them: every version of the block that can
// reach the disk holds the same bytes there.
func WriteAt(d Device, off int64, p []byte) error {
	bs := int64(d.BlockSize())
	if off < 0 || off+int64(len(p)) > bs*d.Blocks() {
		return fmt.Errorf("%w: bytes [%d,%d) of %d", ErrRange, off, off+int64(len(p)), bs*d.Blocks())
	}
	buf := make([]byte, bs)
	for len(p) > 0 {
		n, in := off/bs, off%bs
		if in != 0 || int64(len(p)) < bs {
			if err := d.ReadBlock(n, buf); err != nil {
				return err
			}
		}
		c := copy(buf[in:], p)
		if err := d.WriteBlock(n, buf); err != nil {
			return err
		}
		p, off = p[c:], off+int64(c)
	}
	return nil
}

// Ranger is a device that reads a run of whole blocks in one call (one
// pread for a File): recovery reads the ring in large windows.
type Ranger interface {
	ReadBlocks(n int64, p []byte) error
}

func (d *File) ReadBlocks(n int64, p []byte) error {
	if n < 0 || len(p)%d.size != 0 || n+int64(len(p)/d.size) > d.blocks {
		return fmt.Errorf("%w: blocks [%d,+%d bytes) of %d", ErrRange, n, len(p), d.blocks)
	}
	_, err := d.f.ReadAt(p, n*int64(d.size))
	return err
}

func (r Region) ReadBlocks(n int64, p []byte) error {
	bs := int64(r.D.BlockSize())
	if n < 0 || int64(len(p))%bs != 0 || n+int64(len(p))/bs > r.Count {
		return fmt.Errorf("%w: blocks [%d,+%d bytes) of %d", ErrRange, n, len(p), r.Count)
	}
	return ReadAt(r.D, (r.Start+n)*bs, p)
}
