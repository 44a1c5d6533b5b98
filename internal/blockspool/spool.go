// Package blockspool is milestone 27's store-and-forward spool on a block
// device: an append-only ring of checksummed records (record.go) with an
// acknowledgement cursor, recovered at open by walking the record chain
// from a persisted anchor (DECISIONS P91, P92).
//
// Device layout: blocks 0 and 1 are the superblock, an abpage pair
// holding nonce u64 | anchor position u64 | anchor seq u64 | ack cursor
// u64; blocks 2.. are the ring. A record never straddles the ring's end:
// one that does not fit before it goes to offset 0 and the tail is left
// unused.
//
// Recovery reads the anchor (the oldest record kept) and follows the
// chain: the record with seq s+1 starts where record s ends, or at offset
// 0 after a wrap. The walk stops at the first place that holds no valid
// record with the next seq: a partial or corrupt tail is ignored and the
// spool continues after the last valid record. It reads each ring byte at
// most once, so its cost is bounded by the ring size (the scan budget),
// whatever the device holds.
//
// Policies: refuse never overwrites a record, so a full ring refuses
// appends; overwrite_acked reclaims the space of acknowledged records when
// the ring is full (moving the anchor past them with one superblock write)
// and refuses only when unacknowledged records fill it. Neither ever
// destroys an unacknowledged record.
package blockspool

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/cohesix/cohesix/internal/abpage"
	"github.com/cohesix/cohesix/internal/blockdev"
)

// Modes (persistence.spool.mode).
const (
	Refuse         = "refuse"
	OverwriteAcked = "overwrite_acked"
)

// Config is the spool's part of the manifest.
type Config struct {
	Mode           string
	MaxRecordBytes int // largest payload Append takes
	// Manifest is the running manifest's fingerprint, recorded in every
	// superblock written (milestone 27's identity binding); "" records
	// none.
	Manifest string
}

// maxManifestBytes bounds the fingerprint a superblock records: a
// SHA-256 in hex (generated.ManifestSHA256), with room for a prefix.
const maxManifestBytes = 4 * sha256.Size

// SuperBlocks is how many blocks the superblock pair takes at the start
// of the device.
const SuperBlocks = 2

var sbMagic = [4]byte{'C', 'S', 'S', 'B'}

// Errors an append or ack gets.
var (
	ErrTooLarge = errors.New("blockspool: record too large")
	ErrFull     = errors.New("blockspool: spool full")
	ErrAck      = errors.New("blockspool: ack outside the spool")
)

type rec struct {
	pos, size int64
	seq       uint64
}

// Spool is an open spool. One goroutine uses it.
type Spool struct {
	cfg    Config
	ring   blockdev.Device
	sb     *abpage.Store
	nonce  uint64
	bound  string // the manifest fingerprint the superblock records ("" none)
	cap    int64  // ring bytes
	anchor rec    // size unused
	ack    uint64
	live   []rec // oldest first
	head   int64 // where the next record goes if it fits before the end
	next   uint64
	broken error

	dropped, evicted uint64
	recovery         Recovery
	win              window // recovery's reads; dropped after Open
}

// Recovery is what Open found.
type Recovery struct {
	Records int    // records recovered
	Scanned int64  // ring bytes read by the walk
	Stop    string // why the walk stopped at the head: "" (clean) or the decoder's reason
}

// Open opens the spool on dev (SuperBlocks blocks and a ring). A device
// never formatted (no valid superblock) is formatted with a nonce drawn
// from entropy, which also invalidates whatever records it held.
func Open(dev blockdev.Device, cfg Config, entropy io.Reader) (*Spool, error) {
	if cfg.Mode != Refuse && cfg.Mode != OverwriteAcked {
		return nil, fmt.Errorf("blockspool: mode %q (refuse or overwrite_acked)", cfg.Mode)
	}
	if dev.Blocks() <= SuperBlocks {
		return nil, fmt.Errorf("blockspool: %d blocks leave no ring", dev.Blocks())
	}
	sb, err := abpage.Open(blockdev.Region{D: dev, Start: 0, Count: SuperBlocks}, sbMagic)
	if err != nil {
		return nil, err
	}
	s := &Spool{cfg: cfg, sb: sb, ring: blockdev.Region{D: dev, Start: SuperBlocks, Count: dev.Blocks() - SuperBlocks}}
	s.cap = s.ring.Blocks() * int64(s.ring.BlockSize()) / align * align
	if Size(cfg.MaxRecordBytes) > s.cap {
		return nil, fmt.Errorf("blockspool: a %d-byte record does not fit the %d-byte ring", cfg.MaxRecordBytes, s.cap)
	}
	if sb.Generation() == 0 {
		var n [8]byte
		if _, err := io.ReadFull(entropy, n[:]); err != nil {
			return nil, fmt.Errorf("blockspool: format: %w", err)
		}
		s.nonce, s.anchor, s.ack = binary.LittleEndian.Uint64(n[:]), rec{pos: 0, seq: 1}, 0
		if err := s.writeSuper(); err != nil {
			return nil, err
		}
	} else {
		v := sb.Value()
		bound, ok := superManifest(v)
		if !ok {
			return nil, fmt.Errorf("blockspool: superblock of %d bytes", len(v))
		}
		s.bound = bound
		s.nonce = binary.LittleEndian.Uint64(v)
		s.anchor = rec{pos: int64(binary.LittleEndian.Uint64(v[8:])), seq: binary.LittleEndian.Uint64(v[16:])}
		s.ack = binary.LittleEndian.Uint64(v[24:])
		if s.anchor.pos < 0 || s.anchor.pos > s.cap || s.anchor.seq == 0 {
			return nil, fmt.Errorf("blockspool: superblock anchor %d/%d ack %d outside a %d-byte ring", s.anchor.pos, s.anchor.seq, s.ack, s.cap)
		}
	}
	s.walk()
	s.win = window{}
	return s, nil
}

// writeSuper records the anchor, the ack cursor and the running
// manifest: nonce u64 | anchor position u64 | anchor seq u64 | ack u64 |
// manifest length u16 | manifest (the last two absent when there is no
// manifest to record, as in superblocks written before the binding: those
// read as bound to none).
func (s *Spool) writeSuper() error {
	m := s.cfg.Manifest[:min(len(s.cfg.Manifest), maxManifestBytes)]
	v := binary.LittleEndian.AppendUint64(nil, s.nonce)
	v = binary.LittleEndian.AppendUint64(v, uint64(s.anchor.pos))
	v = binary.LittleEndian.AppendUint64(v, s.anchor.seq)
	v = binary.LittleEndian.AppendUint64(v, s.ack)
	if m != "" {
		v = binary.LittleEndian.AppendUint16(v, uint16(len(m)))
		v = append(v, m...)
	}
	if err := s.sb.Write(v); err != nil {
		return err
	}
	s.bound = m
	return nil
}

// superManifest is the manifest a superblock value records: 32 bytes
// (none) or 34 plus the length it declares, exactly.
func superManifest(v []byte) (string, bool) {
	switch {
	case len(v) == 32:
		return "", true
	case len(v) < 34:
		return "", false
	}
	n := int(binary.LittleEndian.Uint16(v[32:]))
	if n > maxManifestBytes || len(v) != 34+n {
		return "", false
	}
	return string(v[34:]), true
}

// Manifest is the fingerprint of the manifest that last wrote the
// superblock ("" none).
func (s *Spool) Manifest() string { return s.bound }

// walk rebuilds the live records from the anchor (package comment).
func (s *Spool) walk() {
	pos, seq := s.anchor.pos, s.anchor.seq
	for {
		size, why := s.check(pos, seq)
		if why != "" && pos != 0 {
			if size0, why0 := s.check(0, seq); why0 == "" {
				pos, size, why = 0, size0, ""
			}
		}
		if why != "" || s.recovery.Scanned+size > s.cap {
			switch why {
			case "bad-header", "bad-length", "bad-checksum":
				s.recovery.Stop = why // a torn or corrupt tail
			}
			break
		}
		s.live = append(s.live, rec{pos: pos, size: size, seq: seq})
		s.recovery.Scanned += size
		pos, seq = pos+size, seq+1
	}
	s.head, s.next = pos, seq
	s.recovery.Records = len(s.live)
	// The cursor is written only after the records it covers are
	// durable, and the anchor only moves past acknowledged records, so
	// both clamps are defensive.
	s.ack = min(max(s.ack, s.anchor.seq-1), seq-1)
}

// window is what recovery has read of the ring: the walk reads forward,
// so one large aligned read serves many records.
type window struct {
	off int64
	buf []byte
}

// windowBytes is how much of the ring one recovery read covers.
const windowBytes = 64 << 10

// at returns ring bytes [pos, pos+n), reading a new window when they are
// not all in the current one.
func (s *Spool) at(pos int64, n int64) ([]byte, error) {
	w := &s.win
	if pos >= w.off && pos+n <= w.off+int64(len(w.buf)) {
		return w.buf[pos-w.off : pos-w.off+n], nil
	}
	bs := int64(s.ring.BlockSize())
	start := pos / bs * bs
	end := min(max(pos+n, start+windowBytes), s.ring.Blocks()*bs)
	end = (end + bs - 1) / bs * bs
	w.off, w.buf = start, make([]byte, end-start)
	if err := blockdev.ReadAt(s.ring, start, w.buf); err != nil {
		w.buf = nil
		return nil, err
	}
	return w.buf[pos-start : pos-start+n], nil
}

// check reads the record at ring offset pos and returns its size, or why
// there is no valid record with seq there.
func (s *Spool) check(pos int64, seq uint64) (int64, string) {
	if pos+HeaderLen > s.cap {
		return 0, "range"
	}
	h, err := s.at(pos, HeaderLen)
	if err != nil {
		return 0, "read"
	}
	r, n, err := DecodeHeader(h, int(s.cap-HeaderLen))
	switch {
	case err != nil && [4]byte(h[:4]) != recMagic:
		return 0, "magic"
	case err != nil:
		return 0, "bad-header"
	case r.Seq != seq:
		return 0, "seq"
	case pos+Size(n) > s.cap:
		return 0, "bad-length"
	}
	b, err := s.at(pos, Size(n))
	if err != nil {
		return 0, "read"
	}
	if _, size, err := DecodeRecord(b, s.nonce, n); err != nil {
		return 0, "bad-checksum"
	} else {
		return size, ""
	}
}

// Append writes one record and flushes it; it is durable when Append
// returns its seq.
func (s *Spool) Append(kind uint8, ts int64, payload []byte) (uint64, error) {
	if s.broken != nil {
		return 0, s.broken
	}
	if len(payload) > s.cfg.MaxRecordBytes {
		s.dropped++
		return 0, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(payload), s.cfg.MaxRecordBytes)
	}
	size := Size(len(payload))
	pos, ok := s.fit(size)
	if !ok && s.cfg.Mode == OverwriteAcked && len(s.live) > 0 && s.live[0].seq <= s.ack {
		if err := s.reclaim(); err != nil {
			return 0, err
		}
		pos, ok = s.fit(size)
	}
	if !ok {
		s.dropped++
		return 0, fmt.Errorf("%w: %d bytes used, %d unacknowledged, mode %s", ErrFull, s.used(), s.unacked(), s.cfg.Mode)
	}
	r := Record{Seq: s.next, Kind: kind, TS: ts, Payload: payload}
	img := EncodeRecord(make([]byte, 0, size), s.nonce, r)
	if err := blockdev.WriteAt(s.ring, pos, img); err != nil {
		s.broken = fmt.Errorf("blockspool: append failed, reopen to recover: %w", err)
		return 0, err
	}
	if err := s.ring.Flush(); err != nil {
		s.broken = fmt.Errorf("blockspool: flush failed, reopen to recover: %w", err)
		return 0, err
	}
	s.live = append(s.live, rec{pos: pos, size: size, seq: s.next})
	s.head, s.next = pos+size, s.next+1
	return r.Seq, nil
}

// fit says where a record of size bytes goes without overwriting a live
// record.
func (s *Spool) fit(size int64) (int64, bool) {
	if len(s.live) == 0 {
		if s.head+size <= s.cap {
			return s.head, true
		}
		return 0, size <= s.cap
	}
	o := s.live[0].pos
	if o < s.head { // live is [o, head): free after head, then before o
		if s.head+size <= s.cap {
			return s.head, true
		}
		return 0, size <= o
	}
	return s.head, s.head+size <= o // live wraps: free is [head, o)
}

// reclaim drops every acknowledged record: the anchor moves to the first
// unacknowledged one (or to the head) before any of their bytes is
// overwritten.
func (s *Spool) reclaim() error {
	k := 0
	for k < len(s.live) && s.live[k].seq <= s.ack {
		k++
	}
	old := s.anchor
	if k < len(s.live) {
		s.anchor = s.live[k]
	} else {
		s.anchor = rec{pos: s.head, seq: s.next}
	}
	if err := s.writeSuper(); err != nil {
		s.anchor = old
		return err
	}
	s.live = append(s.live[:0:0], s.live[k:]...)
	s.evicted += uint64(k)
	return nil
}

// Ack moves the cursor to seq: every record up to seq is acknowledged.
// Acking the cursor again is a no-op; behind it or past the newest record
// is ErrAck.
func (s *Spool) Ack(seq uint64) error {
	if s.broken != nil {
		return s.broken
	}
	if seq == s.ack {
		return nil
	}
	if seq < s.ack || seq >= s.next {
		return fmt.Errorf("%w: %d (cursor %d, newest %d)", ErrAck, seq, s.ack, s.next-1)
	}
	old := s.ack
	s.ack = seq
	if err := s.writeSuper(); err != nil {
		s.ack = old
		return err
	}
	return nil
}

// Read returns the records after seq after, oldest first, their payloads
// together at most maxBytes (always at least one record when one is
// there, so a reader with a smaller bound still moves).
func (s *Spool) Read(after uint64, maxBytes int) ([]Record, error) {
	var out []Record
	total := 0
	for _, r := range s.live {
		if r.seq <= after {
			continue
		}
		b := make([]byte, r.size)
		if err := blockdev.ReadAt(s.ring, r.pos, b); err != nil {
			return out, err
		}
		rr, _, err := DecodeRecord(b, s.nonce, int(r.size))
		if err != nil {
			return out, fmt.Errorf("blockspool: record %d changed under the spool: %w", r.seq, err)
		}
		if len(out) > 0 && total+len(rr.Payload) > maxBytes {
			break
		}
		total += len(rr.Payload)
		out = append(out, rr)
	}
	return out, nil
}

// Status is /proc/spool/status (21d): bytes are ring bytes taken by kept
// records; pressure is the percentage of the ring held by unacknowledged
// records (what makes appends refuse under overwrite_acked); dropped
// counts appends refused since open, evicted acknowledged records
// reclaimed since open.
type Status struct {
	UsedBytes, MaxBytes int64
	Records             int
	Dropped, Evicted    uint64
	Pressure            int
	Mode                string
	AckCursor           uint64
	NextSeq             uint64
}

func (s *Spool) used() int64 {
	var n int64
	for _, r := range s.live {
		n += r.size
	}
	return n
}

func (s *Spool) unacked() int64 {
	var n int64
	for _, r := range s.live {
		if r.seq > s.ack {
			n += r.size
		}
	}
	return n
}

// Status reports the spool's state.
func (s *Spool) Status() Status {
	return Status{
		UsedBytes: s.used(), MaxBytes: s.cap, Records: len(s.live),
		Dropped: s.dropped, Evicted: s.evicted, Pressure: int(s.unacked() * 100 / s.cap),
		Mode: s.cfg.Mode, AckCursor: s.ack, NextSeq: s.next,
	}
}

// Recovered is what Open found.
func (s *Spool) Recovered() Recovery { return s.recovery }

// Close releases the spool (the device belongs to the caller).
func (s *Spool) Close() error { return nil }
