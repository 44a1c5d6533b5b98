// Package spool is the hosted root task's append-only, checksummed record
// file (DECISIONS D9): every acknowledged governance record (audit
// journal, decisions, approvals, lifecycle) is written and fsynced before
// the ACK, and read back at the next start. A torn or corrupt tail, left
// by a crash in the middle of a write, is detected, reported and cut off;
// it is never misread as a record.
//
// Record layout: u32 little-endian payload length, u32 little-endian
// CRC-32C (Castagnoli) of the payload, payload bytes.
package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// MaxRecord bounds one record; a longer declared length is corruption.
const MaxRecord = 64 << 10

const headerLen = 8

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Torn describes a cut-off tail found at Open.
type Torn struct {
	Offset  int64  // where the last whole record ends
	Dropped int64  // bytes removed after it
	Reason  string // short-header, short-payload, bad-length, bad-checksum
}

// Spool is an open spool: one record stream on a file (Open) or on a
// block device region (OpenDevice). It is used by one goroutine (the
// queen's).
type Spool struct {
	m    medium
	size int64
	// broken is set when a compaction could neither finish nor put the
	// old generation back: the medium no longer appends to the live
	// stream, and appending would acknowledge records a restart does not
	// read.
	broken error
}

// medium is where a spool's record stream lives: the bytes are the same
// framed records on both (one Scan); only how they are stored differs.
type medium interface {
	// load returns the live stream's bytes, as far as they can hold
	// records.
	load() ([]byte, error)
	// salt is what the live stream's record checksums also cover (nil for
	// none).
	salt() []byte
	// write appends b at byte offset off of the stream and makes it
	// durable before it returns.
	write(off int64, b []byte) error
	// cut drops a torn tail from off on.
	cut(off int64) error
	// replace makes records the live stream, durably, and returns its
	// size; the old stream becomes the archive (a file medium moves it to
	// archive, "" for none). On failure the old stream stays live.
	replace(records [][]byte, archive string) (int64, error)
	// capacity is the most bytes the stream can hold; 0 for no bound.
	capacity() int64
	close() error
}

// tmpSuffix names the file a compaction writes before it renames it into
// place (Compact).
const tmpSuffix = ".tmp"

// Open opens or creates the spool file at path, returns its records in
// order and truncates a torn tail (reported in torn, nil if none).
func Open(path string) (s *Spool, records [][]byte, torn *Torn, err error) {
	if err := finishCompaction(path); err != nil {
		return nil, nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("open spool %s: %w", path, err)
	}
	return open(&fileMedium{f: f, path: path})
}

// open reads m's live stream, cuts a torn tail off and positions appends
// after the last whole record.
func open(m medium) (s *Spool, records [][]byte, torn *Torn, err error) {
	data, err := m.load()
	if err != nil {
		m.close()
		return nil, nil, nil, err
	}
	records, good, reason := scan(data, m.salt())
	if reason != "" {
		end := int64(len(data))
		if c := m.capacity(); c > 0 {
			end = min(end, c) // a device's load reads zeros past its room
		}
		torn = &Torn{Offset: good, Dropped: end - good, Reason: reason}
		if err := m.cut(good); err != nil {
			m.close()
			return nil, nil, nil, err
		}
	}
	return &Spool{m: m, size: good}, records, torn, nil
}

// finishCompaction settles a compaction a crash interrupted: the
// compacted file was complete and synced before the live one was moved
// aside, so with no live file it becomes the live one; next to a live file
// it is a half-written leftover and is removed.
func finishCompaction(path string) error {
	tmp := path + tmpSuffix
	if _, err := os.Stat(tmp); err != nil {
		return nil
	}
	if _, err := os.Stat(path); err == nil {
		return os.Remove(tmp)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("finish spool compaction %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// ReadFile returns the whole records of the spool at path without opening
// it for writing (an operator's reader); a missing file has none.
func ReadFile(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	records, _, _ := Scan(data)
	return records, nil
}

// Scan splits data into whole, checksummed records; good is the offset
// just past the last one and reason says why scanning stopped early.
func Scan(data []byte) (records [][]byte, good int64, reason string) {
	good, reason = walk(data, nil, func(p []byte) { records = append(records, append([]byte(nil), p...)) })
	return records, good, reason
}

// scan is Scan for records whose checksum also covers salt; the records
// share data's memory (data is the caller's fresh read).
func scan(data, salt []byte) (records [][]byte, good int64, reason string) {
	good, reason = walk(data, salt, func(p []byte) { records = append(records, p[:len(p):len(p)]) })
	return records, good, reason
}

// walk hands each whole record of data to each (nil: none) and returns
// where the last one ends and why the walk stopped early. Checksums also
// cover salt (a block medium's generation: a record left over from
// another generation never checks); with a salt, an all-zero header ends
// the stream cleanly: it is the terminator a block medium writes after
// its last record (and reads past the end of its room).
func walk(data, salt []byte, each func(p []byte)) (good int64, reason string) {
	off := 0
	for off < len(data) {
		if len(data)-off < headerLen {
			return int64(off), "short-header"
		}
		n := binary.LittleEndian.Uint32(data[off:])
		sum := binary.LittleEndian.Uint32(data[off+4:])
		if salt != nil && n == 0 && sum == 0 {
			return int64(off), ""
		}
		if n > MaxRecord {
			return int64(off), "bad-length"
		}
		if len(data)-off-headerLen < int(n) {
			return int64(off), "short-payload"
		}
		p := data[off+headerLen : off+headerLen+int(n)]
		if checksum(salt, p) != sum {
			return int64(off), "bad-checksum"
		}
		if each != nil {
			each(p)
		}
		off += headerLen + int(n)
	}
	return int64(off), ""
}

func checksum(salt, p []byte) uint32 {
	return crc32.Update(crc32.Checksum(salt, castagnoli), castagnoli, p)
}

// Encode appends one framed record to b.
func Encode(b, payload []byte) []byte { return encode(b, nil, payload) }

func encode(b, salt, payload []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(payload)))
	b = binary.LittleEndian.AppendUint32(b, checksum(salt, payload))
	return append(b, payload...)
}

// ErrTooBig refuses a record over MaxRecord.
var ErrTooBig = errors.New("spool record too big")

// ErrFull refuses an append that does not fit a bounded medium (a block
// device region): the caller refuses the write, as with a failing disk.
var ErrFull = errors.New("spool full")

// Append writes the records in one write and makes them durable; only
// then may the caller acknowledge. On failure the stream is cut back to
// its old size.
func (s *Spool) Append(records ...[]byte) error {
	if s.broken != nil {
		return s.broken
	}
	b, err := s.encode(records)
	if err != nil || len(b) == 0 {
		return err
	}
	if c := s.m.capacity(); c > 0 && s.size+int64(len(b)) > c {
		return fmt.Errorf("%w: %d of %d bytes used, %d more refused", ErrFull, s.size, c, len(b))
	}
	if err := s.m.write(s.size, b); err != nil {
		return err
	}
	s.size += int64(len(b))
	return nil
}

func (s *Spool) encode(records [][]byte) ([]byte, error) {
	salt := s.m.salt()
	var b []byte
	for _, r := range records {
		if len(r) > MaxRecord {
			return nil, ErrTooBig
		}
		b = encode(b, salt, r)
	}
	return b, nil
}

// Compact rewrites the spool to the records keep selects from the ones it
// holds; the previous generation stays readable as the archive until the
// next compaction (a file spool moves it to archive, "" for none; a
// device spool keeps it in the region's other half). A crash at any step
// leaves either the old or the new generation live (Open settles it).
func (s *Spool) Compact(archive string, keep func(records [][]byte) [][]byte) error {
	if s.broken != nil {
		return s.broken
	}
	data, err := s.m.load()
	if err != nil {
		return fmt.Errorf("compact spool: %w", err)
	}
	records, _, _ := scan(data[:min(s.size, int64(len(data)))], s.m.salt())
	return s.Rewrite(archive, keep(records))
}

// Rewrite is Compact to records the caller already has (a store that
// mirrors its live state), without reading the spool back.
func (s *Spool) Rewrite(archive string, records [][]byte) error {
	if s.broken != nil {
		return s.broken
	}
	size, err := s.m.replace(records, archive)
	if err != nil {
		if errors.Is(err, errBroken) {
			s.broken = err
		}
		return err
	}
	s.size = size
	return nil
}

// errBroken marks a medium left without a live stream it can append to.
var errBroken = errors.New("spool unusable")

// Size is the live stream's length in bytes.
func (s *Spool) Size() int64 { return s.size }

// Capacity is the most bytes the live stream can hold (a device region's
// half); 0 for a file, which has no bound of its own.
func (s *Spool) Capacity() int64 { return s.m.capacity() }

// Close closes the medium.
func (s *Spool) Close() error { return s.m.close() }

// fileMedium is a spool file: appends go to its end, a compaction writes
// a new file and renames it into place.
type fileMedium struct {
	f    *os.File
	path string
}

func (m *fileMedium) load() ([]byte, error) {
	if _, err := m.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(m.f)
	if err != nil {
		return nil, fmt.Errorf("read spool %s: %w", m.path, err)
	}
	return data, nil
}

func (m *fileMedium) salt() []byte    { return nil }
func (m *fileMedium) capacity() int64 { return 0 }
func (m *fileMedium) close() error    { return m.f.Close() }

func (m *fileMedium) write(off int64, b []byte) error {
	if _, err := m.f.WriteAt(b, off); err != nil {
		_ = m.f.Truncate(off)
		return fmt.Errorf("spool append: %w", err)
	}
	if err := m.f.Sync(); err != nil {
		return fmt.Errorf("spool sync: %w", err)
	}
	return nil
}

func (m *fileMedium) cut(off int64) error {
	if err := m.f.Truncate(off); err != nil {
		return fmt.Errorf("truncate spool %s: %w", m.path, err)
	}
	if err := m.f.Sync(); err != nil {
		return fmt.Errorf("sync spool %s: %w", m.path, err)
	}
	return nil
}

// replace writes and syncs the new file under a temporary name first.
func (m *fileMedium) replace(records [][]byte, archive string) (int64, error) {
	var b []byte
	for _, r := range records {
		b = Encode(b, r)
	}
	tmp := m.path + tmpSuffix
	if err := writeSynced(tmp, b); err != nil {
		return 0, err
	}
	// Opened before the renames, the handle follows the new file to its
	// live name, so appends never go to the archive.
	nf, err := os.OpenFile(tmp, os.O_RDWR, 0o600)
	if err != nil {
		_ = os.Remove(tmp)
		return 0, fmt.Errorf("compact spool: %w", err)
	}
	if archive != "" {
		if err := os.Rename(m.path, archive); err != nil {
			nf.Close()
			_ = os.Remove(tmp)
			return 0, fmt.Errorf("compact spool: %w", err)
		}
	}
	if err := os.Rename(tmp, m.path); err != nil {
		nf.Close()
		if archive == "" {
			_ = os.Remove(tmp)
			return 0, fmt.Errorf("compact spool: %w", err)
		}
		if berr := os.Rename(archive, m.path); berr != nil {
			return 0, fmt.Errorf("%w: spool %s after a failed compaction: %v; restart the hive (Open settles it)", errBroken, m.path, err)
		}
		return 0, fmt.Errorf("compact spool: %w", err)
	}
	m.f.Close()
	m.f = nf
	// Should the directory entry not be durable yet, a crash leaves the
	// new file under its temporary name, which Open promotes (with an
	// archive; without one the old file stays live).
	if err := syncDir(filepath.Dir(m.path)); err != nil {
		return int64(len(b)), err
	}
	return int64(len(b)), nil
}

func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("compact spool: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("compact spool: %w", err)
	}
	return nil
}

// syncDir makes renames in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}
