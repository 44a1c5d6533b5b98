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

// Spool is an open spool file. It is used by one goroutine (the queen's).
type Spool struct {
	f    *os.File
	path string
	size int64
	// broken is set when a compaction could neither finish nor put the
	// old file back: s.f is then no longer the live file, and appending
	// to it would acknowledge records a restart does not read.
	broken error
}

// tmpSuffix names the file a compaction writes before it renames it into
// place (Compact).
const tmpSuffix = ".tmp"

// Open opens or creates the spool at path, returns its records in order
// and truncates a torn tail (reported in torn, nil if none).
func Open(path string) (s *Spool, records [][]byte, torn *Torn, err error) {
	if err := finishCompaction(path); err != nil {
		return nil, nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("open spool %s: %w", path, err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, nil, nil, fmt.Errorf("read spool %s: %w", path, err)
	}
	records, good, reason := Scan(data)
	if good < int64(len(data)) {
		torn = &Torn{Offset: good, Dropped: int64(len(data)) - good, Reason: reason}
		if err := f.Truncate(good); err != nil {
			f.Close()
			return nil, nil, nil, fmt.Errorf("truncate spool %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, nil, nil, fmt.Errorf("sync spool %s: %w", path, err)
		}
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, nil, nil, err
	}
	return &Spool{f: f, path: path, size: good}, records, torn, nil
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
	off := 0
	for off < len(data) {
		if len(data)-off < headerLen {
			return records, int64(off), "short-header"
		}
		n := binary.LittleEndian.Uint32(data[off:])
		sum := binary.LittleEndian.Uint32(data[off+4:])
		if n > MaxRecord {
			return records, int64(off), "bad-length"
		}
		if len(data)-off-headerLen < int(n) {
			return records, int64(off), "short-payload"
		}
		p := data[off+headerLen : off+headerLen+int(n)]
		if crc32.Checksum(p, castagnoli) != sum {
			return records, int64(off), "bad-checksum"
		}
		records = append(records, append([]byte(nil), p...))
		off += headerLen + int(n)
	}
	return records, int64(off), ""
}

// Encode appends one framed record to b.
func Encode(b, payload []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(payload)))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(payload, castagnoli))
	return append(b, payload...)
}

// ErrTooBig refuses a record over MaxRecord.
var ErrTooBig = errors.New("spool record too big")

// Append writes the records in one write and fsyncs; only then may the
// caller acknowledge. On failure the file is cut back to its old size.
func (s *Spool) Append(records ...[]byte) error {
	if s.broken != nil {
		return s.broken
	}
	var b []byte
	for _, r := range records {
		if len(r) > MaxRecord {
			return ErrTooBig
		}
		b = Encode(b, r)
	}
	if len(b) == 0 {
		return nil
	}
	if _, err := s.f.Write(b); err != nil {
		_ = s.f.Truncate(s.size)
		_, _ = s.f.Seek(s.size, io.SeekStart)
		return fmt.Errorf("spool append: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("spool sync: %w", err)
	}
	s.size += int64(len(b))
	return nil
}

// Compact rewrites the spool to the records keep selects from the ones it
// holds, moving the old file to archive (replacing an older archive), so
// the previous generation stays readable until the next compaction. The
// new file is written and synced under a temporary name first; a crash at
// any step leaves either the old or the new file live (Open settles it).
func (s *Spool) Compact(archive string, keep func(records [][]byte) [][]byte) error {
	data, err := os.ReadFile(s.path)
	if err != nil {
		return fmt.Errorf("compact spool: %w", err)
	}
	records, _, _ := Scan(data)
	var b []byte
	for _, r := range keep(records) {
		b = Encode(b, r)
	}
	tmp := s.path + tmpSuffix
	if err := writeSynced(tmp, b); err != nil {
		return err
	}
	// Opened before the renames, the handle follows the new file to its
	// live name, so appends never go to the archive.
	nf, err := os.OpenFile(tmp, os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("compact spool: %w", err)
	}
	if err := os.Rename(s.path, archive); err != nil {
		nf.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("compact spool: %w", err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		nf.Close()
		if berr := os.Rename(archive, s.path); berr != nil {
			s.broken = fmt.Errorf("spool %s unusable after a failed compaction: %v; restart the hive (Open settles it)", s.path, err)
			return s.broken
		}
		return fmt.Errorf("compact spool: %w", err)
	}
	s.f.Close()
	s.f, s.size = nf, int64(len(b))
	// Should the directory entry not be durable yet, a crash leaves the
	// new file under its temporary name, which Open promotes.
	if err := syncDir(filepath.Dir(s.path)); err != nil {
		return err
	}
	return nil
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

// Size is the spool's length in bytes.
func (s *Spool) Size() int64 { return s.size }

// Close closes the file.
func (s *Spool) Close() error { return s.f.Close() }
