package blockspool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cohesix/cohesix/internal/blockdev"
)

// zero is the test's entropy: a fixed nonce keeps device images stable.
type zero struct{}

func (zero) Read(p []byte) (int, error) { clear(p); p[0] = 0x5a; return len(p), nil }

// 64-byte blocks: two superblock pages and a 768-byte ring, small enough
// that the script below wraps it several times.
func newDev() *blockdev.Mem { return blockdev.NewMem(64, SuperBlocks+12) }

var cfgOA = Config{Mode: OverwriteAcked, MaxRecordBytes: 120}

func open(t *testing.T, d blockdev.Device, cfg Config) *Spool {
	t.Helper()
	s, err := Open(d, cfg, zero{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type op struct {
	ack     uint64 // ack this seq (0: append)
	payload string
}

// script appends records of many sizes (some straddling blocks), acks
// with a lag so that overwrite_acked both reclaims and refuses, and
// wraps the ring several times.
func script() []op {
	var ops []op
	seq := uint64(0)
	for i := range 40 {
		ops = append(ops, op{payload: fmt.Sprintf("rec-%02d-%s", i, strings.Repeat("x", i*37%110))})
		seq++
		if i%10 == 9 {
			ops = append(ops, op{ack: seq - 4})
		}
	}
	return ops
}

type state struct {
	recs []string // "seq:payload"
	ack  uint64
}

func snap(t *testing.T, s *Spool) state {
	t.Helper()
	recs, err := s.Read(0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	st := state{ack: s.Status().AckCursor}
	for _, r := range recs {
		st.recs = append(st.recs, fmt.Sprintf("%d:%s", r.Seq, r.Payload))
	}
	return st
}

// play runs ops; a refusal by policy (full, ack outside) is an op that
// changed nothing. It stops at the first other error (the power cut).
func play(s *Spool, ops []op, after func(int)) (int, error) {
	for i, o := range ops {
		var err error
		if o.ack != 0 {
			err = s.Ack(o.ack)
		} else {
			_, err = s.Append(1, int64(i), []byte(o.payload))
		}
		if err != nil && !errors.Is(err, ErrFull) && !errors.Is(err, ErrAck) {
			return i, err
		}
		if after != nil {
			after(i + 1)
		}
	}
	return len(ops), nil
}

// cutModes are the ways the power goes at a write: the write lost, torn
// in half, or lost with every earlier write since the last flush but the
// newest (a disk that reorders between flushes).
var cutModes = []struct{ Torn, Reorder bool }{{false, false}, {true, false}, {false, true}, {true, true}}

// TestPowerCutEveryWrite cuts the power at every block write of a
// scripted sequence, in every cutModes way: the reopened spool holds the
// state before the interrupted operation or after it (or, when the cut
// fell between reclaiming acknowledged records and writing the new one,
// the state before minus those acknowledged records), never a corrupt or
// foreign record, and goes on appending after its last valid record.
func TestPowerCutEveryWrite(t *testing.T) {
	for _, cfg := range []Config{cfgOA, {Mode: Refuse, MaxRecordBytes: 120}} {
		ops := script()
		count := &blockdev.Counter{Device: newDev()}
		s := open(t, count, cfg)
		states := []state{snap(t, s)}
		var refused int
		if _, err := play(s, ops, func(int) { states = append(states, snap(t, s)) }); err != nil {
			t.Fatal(err)
		}
		refused = int(s.Status().Dropped)
		if st := s.Status(); cfg.Mode == OverwriteAcked && (st.Evicted == 0 || refused == 0) {
			t.Fatalf("%s: the script never reclaimed (%d) or refused (%d)", cfg.Mode, st.Evicted, refused)
		}
		for cut := 0; cut <= count.Writes; cut++ {
			for _, how := range cutModes {
				torn := how
				mem := newDev()
				done := 0
				s, err := Open(&blockdev.Cut{D: mem, Left: cut, Torn: how.Torn, Reorder: how.Reorder}, cfg, zero{})
				if err == nil { // a cut at 0 falls on the format
					done, err = play(s, ops, nil)
				}
				if (cut < count.Writes) != errors.Is(err, blockdev.ErrPowerCut) || (cut >= count.Writes && err != nil) {
					t.Fatalf("cut %d of %d: %d ops, %v", cut, count.Writes, done, err)
				}
				r := open(t, mem, cfg)
				got := snap(t, r)
				before, after := states[done], states[min(done+1, len(states)-1)]
				ok := slices.Equal(got.recs, after.recs) && got.ack == after.ack
				if !ok && got.ack == before.ack && len(got.recs) <= len(before.recs) {
					tail := before.recs[len(before.recs)-len(got.recs):]
					kept := len(before.recs) - len(got.recs)
					ok = slices.Equal(got.recs, tail) && (kept == 0 || uint64(seqOf(before.recs[kept-1])) <= before.ack)
				}
				if !ok {
					t.Fatalf("%s cut %d %+v after %d ops: %v ack %d\nwant %v ack %d\n  or %v ack %d", cfg.Mode, cut, torn, done,
						got.recs, got.ack, before.recs, before.ack, after.recs, after.ack)
				}
				// The spool goes on after its last valid record.
				if err := r.Ack(r.Status().NextSeq - 1); err != nil {
					t.Fatal(err)
				}
				seq, err := r.Append(2, 0, []byte("after the cut"))
				if err != nil && !(cfg.Mode == Refuse && errors.Is(err, ErrFull)) {
					t.Fatalf("cut %d: append after recovery: %v", cut, err)
				}
				if err == nil {
					again := snap(t, open(t, mem, cfg))
					if n := len(again.recs); n == 0 || again.recs[n-1] != fmt.Sprintf("%d:after the cut", seq) {
						t.Fatalf("cut %d: after recovery and one append, reopen reads %v", cut, again.recs)
					}
				}
			}
		}
	}
}

func seqOf(s string) int {
	var n int
	fmt.Sscanf(s, "%d:", &n)
	return n
}

// TestRefuse: refuse never overwrites, even acknowledged records; a full
// spool and a record over max_record_bytes are refused and counted.
func TestRefuse(t *testing.T) {
	s := open(t, newDev(), Config{Mode: Refuse, MaxRecordBytes: 120})
	if _, err := s.Append(1, 0, make([]byte, 121)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("121-byte record: %v, want ErrTooLarge", err)
	}
	n := 0
	for {
		_, err := s.Append(1, 0, make([]byte, 120)) // 152 ring bytes each
		if errors.Is(err, ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 768/152 {
		t.Errorf("%d records fit, want %d", n, 768/152)
	}
	if err := s.Ack(uint64(n)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(1, 0, []byte("x")); !errors.Is(err, ErrFull) {
		t.Errorf("after acking everything, refuse appended: %v", err)
	}
	st := s.Status()
	if st.Dropped != 3 || st.Records != n || st.Pressure != 0 || st.AckCursor != uint64(n) {
		t.Errorf("status %+v", st)
	}
}

// TestOverwriteAckedLag: the ack cursor behind the overwrite window holds
// the unacknowledged records (appends refused, pressure 100%), an ack
// releases exactly the acknowledged space, and offline accumulation
// drains in order across a restart.
func TestOverwriteAckedLag(t *testing.T) {
	mem := newDev()
	s := open(t, mem, cfgOA)
	var seqs []uint64
	for i := 0; ; i++ { // offline: nobody acks
		seq, err := s.Append(1, int64(i), []byte(fmt.Sprintf("offline-%03d-%s", i, strings.Repeat("p", 40))))
		if errors.Is(err, ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, seq)
	}
	if st := s.Status(); st.Pressure < 90 || st.Dropped != 1 || st.Evicted != 0 {
		t.Fatalf("full of unacknowledged records: %+v", st)
	}
	// Restart, then drain online: read from the cursor, ack, repeat,
	// appending as space comes back.
	s = open(t, mem, cfgOA)
	var drained []string
	for range 100 {
		recs, err := s.Read(s.Status().AckCursor, 128)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			drained = append(drained, string(r.Payload[:11]))
		}
		if err := s.Ack(recs[len(recs)-1].Seq); err != nil {
			t.Fatal(err)
		}
	}
	if len(drained) != len(seqs) || drained[0] != "offline-000" || drained[len(drained)-1] != fmt.Sprintf("offline-%03d", len(seqs)-1) {
		t.Fatalf("drained %v, want the %d offline records in order", drained, len(seqs))
	}
	if err := s.Ack(s.Status().AckCursor - 1); !errors.Is(err, ErrAck) {
		t.Errorf("ack behind the cursor: %v", err)
	}
	if err := s.Ack(s.Status().NextSeq); !errors.Is(err, ErrAck) {
		t.Errorf("ack past the newest record: %v", err)
	}
	for i := range len(seqs) {
		if _, err := s.Append(1, 0, []byte(fmt.Sprintf("online-%03d-%s", i, strings.Repeat("p", 40)))); err != nil {
			t.Fatalf("online append %d after the drain: %v", i, err)
		}
	}
	if st := s.Status(); st.Evicted != uint64(len(seqs)) || st.Records != len(seqs) {
		t.Errorf("after refilling: %+v", st)
	}
}

// TestForeignRecordsIgnored: records of an earlier formatting (another
// nonce) are not read as this spool's, and a record forged inside a
// payload is never reached by the walk.
func TestForeignRecordsIgnored(t *testing.T) {
	mem := newDev()
	ring := blockdev.Region{D: mem, Start: SuperBlocks, Count: 12}
	if err := blockdev.WriteAt(ring, 0, EncodeRecord(nil, 7, Record{Seq: 1, Payload: []byte("stale")})); err != nil {
		t.Fatal(err)
	}
	s := open(t, mem, cfgOA)
	if st := s.Status(); st.Records != 0 {
		t.Fatalf("a fresh spool read a record of another nonce: %+v", st)
	}
	forged := EncodeRecord(nil, s.nonce, Record{Seq: 2, Payload: []byte("forged")})
	if _, err := s.Append(1, 0, append(make([]byte, 8), forged...)); err != nil {
		t.Fatal(err)
	}
	recs, _ := open(t, mem, cfgOA).Read(0, 1<<20)
	if len(recs) != 1 || bytes.Contains(recs[0].Payload[:8], []byte("CSPL")) {
		t.Fatalf("reopen read %d records", len(recs))
	}
}

// TestTornTailReported: a torn record at the head is ignored and reported;
// the next append takes its place.
func TestTornTailReported(t *testing.T) {
	mem := newDev()
	s := open(t, mem, cfgOA)
	for i := range 3 {
		if _, err := s.Append(1, 0, []byte(fmt.Sprint("r", i))); err != nil {
			t.Fatal(err)
		}
	}
	// The record takes ring bytes [120, 256): the cut keeps its first two
	// blocks, header whole and payload partial.
	c := &blockdev.Cut{D: mem, Left: 2}
	s = open(t, c, cfgOA)
	if _, err := s.Append(1, 0, bytes.Repeat([]byte("t"), 100)); !errors.Is(err, blockdev.ErrPowerCut) {
		t.Fatalf("append across the cut: %v", err)
	}
	r := open(t, mem, cfgOA)
	if rec := r.Recovered(); rec.Records != 3 || rec.Stop != "bad-checksum" {
		t.Fatalf("recovery %+v, want 3 records and a bad-checksum tail", rec)
	}
	if seq, err := r.Append(1, 0, []byte("r3")); err != nil || seq != 4 {
		t.Fatalf("append after the torn tail: %d, %v", seq, err)
	}
	if rec := open(t, mem, cfgOA).Recovered(); rec.Records != 4 || rec.Stop != "" {
		t.Fatalf("after overwriting the tail: %+v", rec)
	}
}

// FuzzDecodeRecord: the decoder never panics, never accepts a payload over
// its bound, and what it accepts re-encodes to the bytes it read.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(EncodeRecord(nil, 0x5a, Record{Seq: 1, Kind: 1, TS: 1700000000000, Payload: []byte("telemetry")}))
	f.Add(EncodeRecord(nil, 0x5a, Record{Seq: 9, Payload: nil}))
	f.Add([]byte("CSPL\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		const max = 256
		r, size, err := DecodeRecord(b, 0x5a, max)
		if err != nil {
			return
		}
		if len(r.Payload) > max || size != Size(len(r.Payload)) {
			t.Fatalf("accepted %d payload bytes in %d", len(r.Payload), size)
		}
		if again := EncodeRecord(nil, 0x5a, r); !bytes.Equal(again, b[:size]) {
			t.Fatalf("decoded record re-encodes differently")
		}
	})
}

// TestSuperblockManifest: a superblock records the manifest of the spool
// that wrote it and reads back across a reopen; one written without a
// manifest (the format before the binding) reads as none; a declared
// length that does not match the value is refused.
func TestSuperblockManifest(t *testing.T) {
	d := newDev()
	s := open(t, d, Config{Mode: Refuse, MaxRecordBytes: 120, Manifest: "abc123"})
	if _, err := s.Append(1, 1, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if got := open(t, d, cfgOA).Manifest(); got != "abc123" {
		t.Errorf("reopened: manifest %q; want abc123", got)
	}
	if got := open(t, newDev(), cfgOA).Manifest(); got != "" {
		t.Errorf("formatted without a manifest: %q", got)
	}
	for _, tc := range []struct {
		v  []byte
		ok bool
	}{
		{make([]byte, 32), true},
		{append(make([]byte, 32), 3, 0, 'a', 'b', 'c'), true},
		{append(make([]byte, 32), 4, 0, 'a', 'b', 'c'), false},
		{append(make([]byte, 32), 0), false},
		{append(make([]byte, 32), 0xff, 0xff), false},
	} {
		if _, ok := superManifest(tc.v); ok != tc.ok {
			t.Errorf("superManifest(%x) ok = %v; want %v", tc.v, ok, tc.ok)
		}
	}
}

// FuzzSuperManifest: a superblock value is read as bound to a manifest
// only when it is exactly the fixed fields, a length within the bound and
// that many bytes; what it reads re-encodes to the value it read, and a
// value without the binding reads as none.
func FuzzSuperManifest(f *testing.F) {
	fixed := make([]byte, 32)
	f.Add(fixed)
	f.Add(append(binary.LittleEndian.AppendUint16(append([]byte(nil), fixed...), 6), "abc123"...))
	f.Add(append(binary.LittleEndian.AppendUint16(append([]byte(nil), fixed...), 0xffff), "abc"...))
	f.Add(fixed[:20])
	f.Fuzz(func(t *testing.T, v []byte) {
		m, ok := superManifest(v)
		if !ok {
			return
		}
		if len(m) > maxManifestBytes {
			t.Fatalf("accepted a manifest of %d bytes (at most %d)", len(m), maxManifestBytes)
		}
		again := append([]byte(nil), v[:32]...)
		if len(v) > 32 {
			again = append(binary.LittleEndian.AppendUint16(again, uint16(len(m))), m...)
		}
		if !bytes.Equal(again, v) {
			t.Fatalf("value %x reads as manifest %q, which writes %x", v, m, again)
		}
		if len(v) == 32 && m != "" {
			t.Fatalf("a value without the binding read as manifest %q", m)
		}
	})
}
