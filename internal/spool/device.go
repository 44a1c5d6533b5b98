package spool

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/cohesix/cohesix/internal/blockdev"
)

// A device spool (OpenDevice) keeps the same record stream on a block
// device region, for a root task without a file system (seL4's
// virtio-blk; DECISIONS P105). The region is two halves; each is a header
// block (devMagic, generation, CRC-32C of both) and then the stream. A
// record's checksum also covers its half's generation, so bytes left over
// from an older generation never scan as live, and the stream ends at an
// all-zero record header (the terminator every write puts after its last
// record). The live half is the one whose header is valid with the higher
// generation; the other is the archive, the generation before it.
//
// A compaction writes the kept records into the other half, flushes, and
// only then writes and flushes that half's header under generation+1: a
// power cut anywhere leaves the old half live. An append that spans blocks
// writes and flushes every block but its first before the first (which
// holds the first new record header): until that block lands the old
// terminator still ends the stream, so a disk that reorders writes
// between flushes never shows a record whose later blocks are missing.

// devMagic opens a valid half header.
var devMagic = [8]byte{'C', 'O', 'H', 'S', 'P', 'O', 'O', 'L'}

// devHeaderLen is the used prefix of a header block: magic, generation,
// CRC-32C of both.
const devHeaderLen = 8 + 8 + 4

// devReadChunk is how much of a half load reads at a time: it stops at
// the stream's end instead of reading the whole half.
const devReadChunk = 64 << 10

type devMedium struct {
	d    blockdev.Device
	half int64  // blocks in each half
	live int64  // index of the live half, 0 or 1
	gen  uint64 // the live half's generation
	gens [2]uint64
	// last is the last write's final blocks by absolute number, as they
	// are on the disk: the next append's first block starts with them.
	last map[int64][]byte
}

// OpenDevice opens the spool on d (a region of at least two header
// blocks and a record block per half), formatting it when neither half
// has a valid header; it returns the live records and cuts a torn tail
// off as Open does.
func OpenDevice(d blockdev.Device) (s *Spool, records [][]byte, torn *Torn, err error) {
	m, err := openDev(d)
	if err != nil {
		return nil, nil, nil, err
	}
	return open(m)
}

func openDev(d blockdev.Device) (*devMedium, error) {
	if d.Blocks() < 4 || d.BlockSize() < devHeaderLen {
		return nil, fmt.Errorf("spool device: %d blocks of %d bytes, too small for two halves", d.Blocks(), d.BlockSize())
	}
	m := &devMedium{d: d, half: d.Blocks() / 2}
	for h := range int64(2) {
		g, err := m.header(h)
		if err != nil {
			return nil, err
		}
		m.gens[h] = g
	}
	switch {
	case m.gens[0] == 0 && m.gens[1] == 0:
		// A fresh region: half 0 starts generation 1 behind a terminator,
		// so whatever the disk held before never reads as records.
		if err := m.format(0, 1); err != nil {
			return nil, err
		}
	case m.gens[1] > m.gens[0]:
		m.live = 1
	}
	m.gen = m.gens[m.live]
	return m, nil
}

// header returns half h's generation, 0 if its header is not valid.
func (m *devMedium) header(h int64) (uint64, error) {
	b := make([]byte, m.d.BlockSize())
	if err := m.d.ReadBlock(h*m.half, b); err != nil {
		return 0, fmt.Errorf("spool device header: %w", err)
	}
	return decodeHeader(b), nil
}

// decodeHeader returns the generation a header block carries, 0 if the
// block is not a valid header.
func decodeHeader(b []byte) uint64 {
	if len(b) < devHeaderLen || !bytes.Equal(b[:8], devMagic[:]) {
		return 0
	}
	if crc32.Checksum(b[:16], castagnoli) != binary.LittleEndian.Uint32(b[16:]) {
		return 0
	}
	return binary.LittleEndian.Uint64(b[8:])
}

func encodeHeader(b []byte, gen uint64) {
	clear(b)
	copy(b, devMagic[:])
	binary.LittleEndian.PutUint64(b[8:], gen)
	binary.LittleEndian.PutUint32(b[16:], crc32.Checksum(b[:16], castagnoli))
}

// format writes a terminator at the start of half h's stream, flushes,
// then writes its header under gen and flushes.
func (m *devMedium) format(h int64, gen uint64) error {
	if err := m.writeStream(h, 0, m.terminate(0, nil)); err != nil {
		return err
	}
	return m.writeHeader(h, gen)
}

func (m *devMedium) writeHeader(h int64, gen uint64) error {
	b := make([]byte, m.d.BlockSize())
	encodeHeader(b, gen)
	if err := m.d.WriteBlock(h*m.half, b); err != nil {
		return fmt.Errorf("spool device header: %w", err)
	}
	if err := m.d.Flush(); err != nil {
		return fmt.Errorf("spool device flush: %w", err)
	}
	m.gens[h] = gen
	return nil
}

// writeStream writes b at byte offset off of half h's stream and flushes:
// every block but the first, flush, then the first, flush (see above).
// Blocks go out whole: the first keeps the stream's bytes before off
// (from the last write's blocks, read back only when they are not those),
// and the last is zeros after b (nothing past a terminator is read), so an
// append costs no read.
func (m *devMedium) writeStream(h, off int64, b []byte) error {
	bs := int64(m.d.BlockSize())
	first, in := h*m.half+1+off/bs, off%bs // absolute block of off
	n := (in + int64(len(b)) + bs - 1) / bs
	buf := make([]byte, n*bs)
	if in > 0 {
		if c, ok := m.last[first]; ok {
			copy(buf, c[:in])
		} else if err := m.d.ReadBlock(first, buf[:bs]); err != nil {
			return fmt.Errorf("spool device read: %w", err)
		}
	}
	copy(buf[in:], b)
	clear(buf[in+int64(len(b)):])
	m.last = nil // until the blocks are on the disk
	write := func(i int64) error {
		if err := m.d.WriteBlock(first+i, buf[i*bs:(i+1)*bs]); err != nil {
			return fmt.Errorf("spool device write: %w", err)
		}
		return nil
	}
	for i := int64(1); i < n; i++ {
		if err := write(i); err != nil {
			return err
		}
	}
	if n > 1 {
		if err := m.d.Flush(); err != nil {
			return fmt.Errorf("spool device flush: %w", err)
		}
	}
	if err := write(0); err != nil {
		return err
	}
	if err := m.d.Flush(); err != nil {
		return fmt.Errorf("spool device flush: %w", err)
	}
	// The next append starts in one of the last two blocks (a terminator
	// is shorter than a block).
	m.last = map[int64][]byte{}
	for i := max(0, n-2); i < n; i++ {
		m.last[first+i] = buf[i*bs : (i+1)*bs]
	}
	return nil
}

func (m *devMedium) capacity() int64 { return (m.half - 1) * int64(m.d.BlockSize()) }
func (m *devMedium) salt() []byte    { return genSalt(m.gen) }
func (m *devMedium) close() error    { return nil }

func genSalt(gen uint64) []byte { return binary.LittleEndian.AppendUint64(nil, gen) }

func (m *devMedium) load() ([]byte, error) { return m.loadHalf(m.live, m.gen) }

// loadHalf reads half h's stream a chunk at a time until the walk under
// gen ends inside the data read (or the half ends).
func (m *devMedium) loadHalf(h int64, gen uint64) ([]byte, error) {
	bs := int64(m.d.BlockSize())
	base, c := (h*m.half+1)*bs, m.capacity()
	chunk := max(devReadChunk/bs*bs, bs)
	var data []byte
	good, salt := 0, genSalt(gen)
	for off := int64(0); off < c; {
		n := min(chunk, c-off)
		if len(data)+int(n) > cap(data) { // double: a long stream is read in few copies
			data = append(make([]byte, 0, min(c, max(4*chunk, 2*int64(cap(data))))), data...)
		}
		p := data[len(data) : len(data)+int(n)]
		if err := blockdev.ReadAt(m.d, base+off, p); err != nil {
			return nil, fmt.Errorf("spool device read: %w", err)
		}
		data = data[:len(data)+int(n)]
		off += n
		// Only a record cut off by the end of what was read needs more:
		// a terminator or a bad record ends the stream here.
		g, reason := walk(data[good:], salt, nil)
		if good += int(g); good < len(data) && reason != "short-header" && reason != "short-payload" {
			return data, nil
		}
	}
	// The whole half is read: a terminator past its end (the zeros a
	// write leaves in the last few bytes of room, see terminator) ends a
	// stream that fills it.
	return append(data, make([]byte, headerLen)...), nil
}

// write appends b and a terminator after it.
func (m *devMedium) write(off int64, b []byte) error {
	return m.writeStream(m.live, off, m.terminate(off, b))
}

// terminate appends to b, written at off, a terminator: an all-zero
// record header, cut short by the end of the room (load reads zeros past
// it), so no stale byte ever follows the stream.
func (m *devMedium) terminate(off int64, b []byte) []byte {
	n := min(headerLen, m.capacity()-off-int64(len(b)))
	return append(b, make([]byte, max(n, 0))...)
}

// cut puts a terminator where the torn tail began, so the next open finds
// a clean end.
func (m *devMedium) cut(off int64) error {
	if off >= m.capacity() {
		return nil
	}
	return m.writeStream(m.live, off, m.terminate(off, nil))
}

// replace writes records into the other half under the next generation,
// then its header; the old live half becomes the archive.
func (m *devMedium) replace(records [][]byte, _ string) (int64, error) {
	to, gen := 1-m.live, m.gen+1
	salt := genSalt(gen)
	var b []byte
	for _, r := range records {
		b = encode(b, salt, r)
	}
	size := int64(len(b))
	if size > m.capacity() {
		return 0, fmt.Errorf("compact spool: %w: %d bytes kept, the half holds %d", ErrFull, size, m.capacity())
	}
	if err := m.writeStream(to, 0, m.terminate(0, b)); err != nil {
		return 0, fmt.Errorf("compact spool: %w", err)
	}
	if err := m.writeHeader(to, gen); err != nil {
		return 0, fmt.Errorf("compact spool: %w", err)
	}
	m.live, m.gen = to, gen
	return size, nil
}

// ReadDevice returns the records of the spool on d without writing to it
// (an operator's or a test's reader): the archive (the generation before
// the live one, if the other half holds it) and the live records.
func ReadDevice(d blockdev.Device) (archive, live [][]byte, err error) {
	if d.Blocks() < 4 || d.BlockSize() < devHeaderLen {
		return nil, nil, nil
	}
	m := &devMedium{d: d, half: d.Blocks() / 2}
	for h := range int64(2) {
		if m.gens[h], err = m.header(h); err != nil {
			return nil, nil, err
		}
	}
	if m.gens[1] > m.gens[0] {
		m.live = 1
	}
	m.gen = m.gens[m.live]
	if m.gen == 0 {
		return nil, nil, nil
	}
	read := func(h int64) ([][]byte, error) {
		data, err := m.loadHalf(h, m.gens[h])
		if err != nil {
			return nil, err
		}
		recs, _, _ := scan(data, genSalt(m.gens[h]))
		return recs, nil
	}
	if live, err = read(m.live); err != nil {
		return nil, nil, err
	}
	if old := 1 - m.live; m.gens[old] != 0 && m.gens[old] == m.gen-1 {
		if archive, err = read(old); err != nil {
			return nil, nil, err
		}
	}
	return archive, live, nil
}
