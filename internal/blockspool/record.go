package blockspool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Record header (little-endian, DECISIONS P91): magic "CSPL" | version u8 |
// kind u8 | reserved u16 (0) | seq u64 | ts i64 (unix ms) | len u32 |
// crc u32, then len payload bytes, then zeros to the next multiple of 8.
// crc is CRC-32C over the spool's 8-byte nonce (from its superblock), the
// 28 header bytes before it and the payload: a record of another
// formatting of the device, or one forged inside a payload by a writer
// who cannot read the nonce, does not verify.
const (
	HeaderLen = 32
	Version   = 1
	align     = 8
)

var (
	recMagic   = [4]byte{'C', 'S', 'P', 'L'}
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

// Record is one spooled record.
type Record struct {
	Seq     uint64
	Kind    uint8
	TS      int64 // unix milliseconds, as the appender gave it
	Payload []byte
}

// Size is the bytes a record of n payload bytes takes on the ring.
func Size(n int) int64 { return (int64(HeaderLen+n) + align - 1) / align * align }

// ErrCorrupt is bytes that are not a valid record where one was expected.
var ErrCorrupt = errors.New("blockspool: no valid record")

// EncodeRecord appends r's on-ring image (padded to Size) to b.
func EncodeRecord(b []byte, nonce uint64, r Record) []byte {
	start := len(b)
	b = append(b, recMagic[:]...)
	b = append(b, Version, r.Kind, 0, 0)
	b = binary.LittleEndian.AppendUint64(b, r.Seq)
	b = binary.LittleEndian.AppendUint64(b, uint64(r.TS))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(r.Payload)))
	crc := recCRC(nonce, b[start:start+28], r.Payload)
	b = binary.LittleEndian.AppendUint32(b, crc)
	b = append(b, r.Payload...)
	for int64(len(b)-start) < Size(len(r.Payload)) {
		b = append(b, 0)
	}
	return b
}

func recCRC(nonce uint64, head, payload []byte) uint32 {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], nonce)
	c := crc32.Checksum(n[:], castagnoli)
	c = crc32.Update(c, castagnoli, head)
	return crc32.Update(c, castagnoli, payload)
}

// DecodeHeader checks the header in b (at least HeaderLen bytes) and
// returns its record without payload, and the payload length. maxLen
// bounds the length before anything is read past the header.
func DecodeHeader(b []byte, maxLen int) (r Record, n int, err error) {
	if len(b) < HeaderLen {
		return r, 0, fmt.Errorf("%w: short header", ErrCorrupt)
	}
	if [4]byte(b[:4]) != recMagic {
		return r, 0, fmt.Errorf("%w: magic", ErrCorrupt)
	}
	if b[4] != Version || b[6]|b[7] != 0 {
		return r, 0, fmt.Errorf("%w: version %d", ErrCorrupt, b[4])
	}
	r.Kind = b[5]
	r.Seq = binary.LittleEndian.Uint64(b[8:])
	r.TS = int64(binary.LittleEndian.Uint64(b[16:]))
	l := binary.LittleEndian.Uint32(b[24:])
	if r.Seq == 0 || uint64(l) > uint64(maxLen) {
		return r, 0, fmt.Errorf("%w: seq %d length %d (at most %d)", ErrCorrupt, r.Seq, l, maxLen)
	}
	return r, int(l), nil
}

// DecodeRecord decodes the record at the start of b: header, a payload of
// at most maxLen bytes, checksum and zero padding. It returns the record
// (Payload aliases b) and its size on the ring.
func DecodeRecord(b []byte, nonce uint64, maxLen int) (Record, int64, error) {
	r, n, err := DecodeHeader(b, maxLen)
	if err != nil {
		return r, 0, err
	}
	size := Size(n)
	if int64(len(b)) < size {
		return r, 0, fmt.Errorf("%w: short payload", ErrCorrupt)
	}
	r.Payload = b[HeaderLen : HeaderLen+n]
	if recCRC(nonce, b[:28], r.Payload) != binary.LittleEndian.Uint32(b[28:]) {
		return r, 0, fmt.Errorf("%w: checksum", ErrCorrupt)
	}
	for _, c := range b[HeaderLen+n : size] {
		if c != 0 {
			return r, 0, fmt.Errorf("%w: padding", ErrCorrupt)
		}
	}
	return r, size, nil
}
