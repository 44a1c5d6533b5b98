// Package abpage keeps one small value on a block device in two fixed
// pages, A and B (milestone 27; DECISIONS P93). Each page holds a
// generation and a checksum; an update writes the inactive page whole,
// flushes it, reads it back and checks it, and from then on it wins by its
// higher generation. A power cut at any write therefore leaves the old
// value or the new one, never a mixture: a torn page fails its checksum
// and the other page, untouched, still holds the old value.
//
// Page layout (little-endian): magic [4] | version u8 | reserved [3] (0) |
// generation u64 | len u32 | crc u32 | payload [len] | zeros to the page
// end. crc is CRC-32C over the 20 header bytes before it and the payload.
package abpage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/cohesix/cohesix/internal/blockdev"
)

// Version is the page format's version byte.
const Version = 1

// HeaderLen is the bytes a page spends before its payload.
const HeaderLen = 24

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Store is the pair of pages on a device: the first half of its blocks is
// page A, the second half page B.
type Store struct {
	dev    blockdev.Device
	magic  [4]byte
	page   int64 // bytes per page
	active int   // 0 (A), 1 (B), -1: neither page valid
	gen    uint64
	value  []byte
}

// ErrTooLarge is a value that does not fit a page.
var ErrTooLarge = errors.New("abpage: value larger than a page")

// Open reads both pages of dev (an even number of blocks, at least two)
// and keeps the valid one with the higher generation; with neither valid
// the value is empty and generation 0.
func Open(dev blockdev.Device, magic [4]byte) (*Store, error) {
	if dev.Blocks() < 2 || dev.Blocks()%2 != 0 {
		return nil, fmt.Errorf("abpage: %d blocks; two equal pages need an even number", dev.Blocks())
	}
	s := &Store{dev: dev, magic: magic, page: dev.Blocks() / 2 * int64(dev.BlockSize()), active: -1}
	buf := make([]byte, s.page)
	for i := range 2 {
		if err := blockdev.ReadAt(dev, int64(i)*s.page, buf); err != nil {
			return nil, err
		}
		gen, v, err := Decode(buf, magic)
		if err == nil && (s.active < 0 || gen > s.gen) {
			s.active, s.gen, s.value = i, gen, bytes.Clone(v)
		}
	}
	return s, nil
}

// Value is the current value (nil when none was ever written).
func (s *Store) Value() []byte { return s.value }

// Generation is the current value's generation (0: none).
func (s *Store) Generation() uint64 { return s.gen }

// Active is the page holding the current value: 'A', 'B' or '-'.
func (s *Store) Active() byte {
	if s.active < 0 {
		return '-'
	}
	return "AB"[s.active]
}

// Capacity is the largest value a page holds.
func (s *Store) Capacity() int { return int(s.page) - HeaderLen }

// Write makes v the current value. On error the old value stays current
// (in memory and on the device).
func (s *Store) Write(v []byte) error {
	if len(v) > s.Capacity() {
		return fmt.Errorf("%w: %d bytes, page holds %d", ErrTooLarge, len(v), s.Capacity())
	}
	target := 0
	if s.active == 0 {
		target = 1
	}
	page := make([]byte, s.page)
	Encode(page, s.magic, s.gen+1, v)
	off := int64(target) * s.page
	if err := blockdev.WriteAt(s.dev, off, page); err != nil {
		return err
	}
	if err := s.dev.Flush(); err != nil {
		return err
	}
	back := make([]byte, s.page)
	if err := blockdev.ReadAt(s.dev, off, back); err != nil {
		return err
	}
	if _, _, err := Decode(back, s.magic); err != nil {
		return fmt.Errorf("abpage: page %c did not read back: %w", "AB"[target], err)
	}
	s.active, s.gen, s.value = target, s.gen+1, bytes.Clone(v)
	return nil
}

// Encode lays out a page of generation gen holding v into page (zeroed
// past the payload).
func Encode(page []byte, magic [4]byte, gen uint64, v []byte) {
	clear(page)
	copy(page, magic[:])
	page[4] = Version
	binary.LittleEndian.PutUint64(page[8:], gen)
	binary.LittleEndian.PutUint32(page[16:], uint32(len(v)))
	copy(page[HeaderLen:], v)
	crc := crc32.Update(crc32.Checksum(page[:20], castagnoli), castagnoli, v)
	binary.LittleEndian.PutUint32(page[20:], crc)
}

// ErrCorrupt is a page that is not a valid page of this store.
var ErrCorrupt = errors.New("abpage: corrupt page")

// Decode checks page and returns its generation and payload (a slice of
// page). Everything is checked: magic, version, reserved bytes, a length
// inside the page, the checksum, zeros after the payload, generation > 0.
func Decode(page []byte, magic [4]byte) (gen uint64, v []byte, err error) {
	if len(page) < HeaderLen {
		return 0, nil, fmt.Errorf("%w: %d bytes", ErrCorrupt, len(page))
	}
	if !bytes.Equal(page[:4], magic[:]) {
		return 0, nil, fmt.Errorf("%w: magic", ErrCorrupt)
	}
	if page[4] != Version || page[5]|page[6]|page[7] != 0 {
		return 0, nil, fmt.Errorf("%w: version %d", ErrCorrupt, page[4])
	}
	gen = binary.LittleEndian.Uint64(page[8:])
	n := binary.LittleEndian.Uint32(page[16:])
	if gen == 0 || uint64(n) > uint64(len(page)-HeaderLen) {
		return 0, nil, fmt.Errorf("%w: generation %d length %d", ErrCorrupt, gen, n)
	}
	v = page[HeaderLen : HeaderLen+int(n)]
	crc := crc32.Update(crc32.Checksum(page[:20], castagnoli), castagnoli, v)
	if crc != binary.LittleEndian.Uint32(page[20:]) {
		return 0, nil, fmt.Errorf("%w: checksum", ErrCorrupt)
	}
	for _, b := range page[HeaderLen+int(n):] {
		if b != 0 {
			return 0, nil, fmt.Errorf("%w: bytes after the payload", ErrCorrupt)
		}
	}
	return gen, v, nil
}
