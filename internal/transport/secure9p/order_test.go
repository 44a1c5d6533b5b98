package secure9p

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hugelgupf/p9/linux"
	"github.com/hugelgupf/p9/p9"
)

// walkFrame is a Twalk of fid to newfid along path.
func walkFrame(tag uint16, fid, newfid uint32, path string) []byte {
	names := split(path)
	f := []any{fid, newfid, uint16(len(names))}
	for _, n := range names {
		f = append(f, n)
	}
	return frame(tTwalk, tag, f...)
}

// exchange sends frames in one write and returns the replies by tag.
func (r *raw) exchange(frames ...[]byte) map[uint16]reply {
	r.t.Helper()
	r.send(bytes.Join(frames, nil))
	out := make(map[uint16]reply, len(frames))
	for range frames {
		typ, tag, body := r.recv()
		out[tag] = reply{typ, body}
	}
	return out
}

type reply struct {
	typ  byte
	body []byte
}

// errno is the reply's Rlerror code, 0 for any other reply.
func (r reply) errno() uint32 {
	if r.typ == tRlerror {
		return le.Uint32(r.body)
	}
	return 0
}

// newSegment makes a segment of dev through the 9P client and returns its id.
func newSegment(t *testing.T, root p9.File, dev string) string {
	t.Helper()
	if err := writeFile(root, "/queen/telemetry/"+dev+"/ctl", `{"new":"segment","mime":"text/plain"}`+"\n"); err != nil {
		t.Fatal(err)
	}
	latest, err := readFile(root, "/queen/telemetry/"+dev+"/latest")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(latest))
}

// TestPipelinedExchanges: a client may put a whole exchange on the wire at
// once (DECISIONS P29): walk, open, getattr, reads and clunk of one new
// fid; and a ctl write followed by a read of latest, which must see the
// segment the write made. hugelgupf/p9 handles requests concurrently, so
// without the ordering the open could run before the walk made its fid.
func TestPipelinedExchanges(t *testing.T) {
	h := startHive(t)
	root := h.mustDial(t, queenTicket(t))
	const dev = "/queen/telemetry/ex"
	seg := newSegment(t, root, "ex")
	rec := append(bytes.Repeat([]byte{'r'}, 4095), '\n')
	var want []byte
	for i := range 8 {
		if err := appendAt(root, dev+"/seg/"+seg, rec, uint64(i*len(rec))); err != nil {
			t.Fatal(err)
		}
		want = append(want, rec...)
	}
	r := h.raw(t)
	r.version(8192)
	if e := r.attach(1, queenTicket(t)); e != 0 {
		t.Fatalf("attach: errno %d", e)
	}
	const chunk = 8192 - ioHeader
	for round := range 50 {
		frames := [][]byte{
			walkFrame(1, 1, 2, dev+"/seg/"+seg),
			frame(tTlopen, 2, uint32(2), uint32(p9.ReadOnly)),
			frame(tTgetattr, 3, uint32(2), uint64(0x200)),
		}
		for i := range 5 {
			frames = append(frames, frame(tTread, uint16(4+i), uint32(2), uint64(i*chunk), uint32(chunk)))
		}
		frames = append(frames, frame(tTclunk, 9, uint32(2)))
		got := r.exchange(frames...)
		var data []byte
		for tag := uint16(1); tag <= 9; tag++ {
			if e := got[tag].errno(); e != 0 {
				t.Fatalf("round %d: tag %d: errno %d", round, tag, e)
			}
			if tag >= 4 && tag <= 8 {
				body := got[tag].body
				data = append(data, body[4:4+le.Uint32(body)]...)
			}
		}
		if size := le.Uint64(got[3].body[49:]); size != uint64(len(want)) {
			t.Fatalf("round %d: getattr size %d; want %d", round, size, len(want))
		}
		if !bytes.Equal(data, want) {
			t.Fatalf("round %d: read %d bytes, not the segment's %d", round, len(data), len(want))
		}

		// The read of latest waits for the ctl write before it.
		got = r.exchange(walkFrame(1, 1, 3, dev+"/ctl"), frame(tTlopen, 2, uint32(3), uint32(p9.WriteOnly)))
		if e := max(got[1].errno(), got[2].errno()); e != 0 {
			t.Fatalf("round %d: open ctl: errno %d", round, e)
		}
		line := []byte(`{"new":"segment","mime":"text/plain"}` + "\n")
		got = r.exchange(
			frame(tTwrite, 1, uint32(3), uint64(0), uint32(len(line)), line),
			walkFrame(2, 1, 4, dev+"/latest"),
			frame(tTlopen, 3, uint32(4), uint32(p9.ReadOnly)),
			frame(tTread, 4, uint32(4), uint64(0), uint32(64)),
			frame(tTclunk, 5, uint32(4)),
			frame(tTclunk, 6, uint32(3)),
		)
		for tag := uint16(1); tag <= 6; tag++ {
			if e := got[tag].errno(); e != 0 {
				t.Fatalf("round %d: tag %d: errno %d", round, tag, e)
			}
		}
		body := got[4].body
		latest := strings.TrimSpace(string(body[4 : 4+le.Uint32(body)]))
		if !strings.HasPrefix(latest, "seg-") || latest <= seg {
			t.Fatalf("round %d: latest read in the ctl write's exchange = %q; want the segment it made", round, latest)
		}
		seg = latest
		for i := range 8 {
			if err := appendAt(root, dev+"/seg/"+seg, rec, uint64(i*len(rec))); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestOrderedWritesBesideOpens: pipelined writes waiting for their turn
// hold their file's path lock for reading inside hugelgupf/p9; a Tlopen
// or Tsetattr of the same file among them would wait for that lock for
// writing and stop the writes before it. The reader keeps the two kinds
// apart, so every request is answered and the records land in order.
func TestOrderedWritesBesideOpens(t *testing.T) {
	h := startHive(t)
	root := h.mustDial(t, queenTicket(t))
	r := h.raw(t)
	r.version(8192)
	if e := r.attach(1, queenTicket(t)); e != 0 {
		t.Fatalf("attach: errno %d", e)
	}
	rec := func(i int) []byte { return append(bytes.Repeat([]byte{'a' + byte(i)}, 4095), '\n') }
	write := func(tag uint16, i int) []byte {
		return frame(tTwrite, tag, uint32(2), uint64(i*4096), uint32(4096), rec(i))
	}
	for round := range 30 {
		seg := newSegment(t, root, "mix")
		path := "/queen/telemetry/mix/seg/" + seg
		got := r.exchange(
			walkFrame(1, 1, 2, path),
			frame(tTlopen, 2, uint32(2), uint32(p9.WriteOnly)),
			write(3, 0),
			write(4, 1),
			walkFrame(5, 1, 5, path),
			frame(tTlopen, 6, uint32(5), uint32(p9.ReadOnly)),
			frame(tTsetattr, 7, uint32(2), uint32(0x08), uint32(0), uint32(0), uint32(0), uint64(0), uint64(0), uint64(0), uint64(0), uint64(0)),
			write(8, 2),
			write(9, 3),
			frame(tTclunk, 10, uint32(5)),
			frame(tTclunk, 11, uint32(2)),
		)
		for _, tag := range []uint16{1, 2, 3, 4, 5, 6, 8, 9, 10, 11} {
			if e := got[tag].errno(); e != 0 {
				t.Fatalf("round %d: tag %d: errno %d", round, tag, e)
			}
		}
		if e := got[7].errno(); e != uint32(linux.EPERM) && e != uint32(linux.EINVAL) && e != 0 {
			t.Fatalf("round %d: truncating a segment: errno %d", round, e)
		}
		data, err := readFile(root, path)
		if err != nil {
			t.Fatal(err)
		}
		if want := bytes.Join([][]byte{rec(0), rec(1), rec(2), rec(3)}, nil); !bytes.Equal(data, want) {
			t.Fatalf("round %d: segment holds %d bytes, not the four records in order", round, len(data))
		}
	}
}

// TestOrderingRules states which request waits for which (DECISIONS P29).
func TestOrderingRules(t *testing.T) {
	walk := request{typ: tTwalk, fid: 1, newfid: 2, nwname: 3}
	open := request{typ: tTlopen, fid: 2}
	read := request{typ: tTread, fid: 2}
	write := request{typ: tTwrite, fid: 2, ordered: true}
	appendMax := request{typ: tTwrite, fid: 2}
	clunk := request{typ: tTclunk, fid: 2}
	other := request{typ: tTread, fid: 7}
	setattr := request{typ: tTsetattr, fid: 7}
	for _, tc := range []struct {
		name       string
		next, prev request
		mustWait   bool
	}{
		{"open after the walk making its fid", open, walk, true},
		{"read after the open of its fid", read, open, true},
		{"read after the walk making its fid", read, walk, true},
		{"clunk after a read of its fid", clunk, read, true},
		{"clunk after the walk making its fid", clunk, walk, true},
		{"walk from a fid being clunked", request{typ: tTwalk, fid: 2, newfid: 3}, clunk, true},
		{"walk to a fid being clunked", request{typ: tTwalk, fid: 1, newfid: 2}, clunk, true},
		{"read of another file after a write", other, write, true},
		{"ordered write after a setattr", write, setattr, true},
		{"setattr after an ordered write", setattr, write, true},
		{"open after an ordered write", request{typ: tTlopen, fid: 9}, write, true},
		{"reads of one fid overlap", read, read, false},
		{"ordered writes overlap (Turn orders them)", write, write, false},
		{"a u64::MAX write waits for no write", appendMax, write, false},
		{"a read waits for no u64::MAX write", other, appendMax, false},
		{"another fid's read", other, open, false},
		{"a walk from the root beside reads", request{typ: tTwalk, fid: 1, newfid: 4}, read, false},
	} {
		if got := after(tc.next, tc.prev); got != tc.mustWait {
			t.Errorf("%s: after = %v; want %v", tc.name, got, tc.mustWait)
		}
	}
}

// awaitReturns runs Await(f) and reports its result, or fails the test if
// it is still waiting after 10 s.
func awaitReturns(t *testing.T, p *Policy, f []byte, during func()) error {
	t.Helper()
	res := make(chan error, 1)
	go func() { res <- p.Await(f) }()
	during()
	select {
	case err := <-res:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Await still waiting 10 s after the connection ended")
		return nil
	}
}

// TestAwaitEndsWithTheConnection: a request waiting on one that may never
// be answered does not hold the reader forever: Await gives up once the
// connection is ending (End), and at once afterwards.
func TestAwaitEndsWithTheConnection(t *testing.T) {
	p := versioned(t, testLimits())
	if fwd, _, _ := p.Inbound(frame(tTclunk, 2, uint32(99))); fwd == nil {
		t.Fatal("Tclunk of fid 99 refused")
	}
	next := frame(tTclunk, 3, uint32(99)) // waits for tag 2's reply
	if err := awaitReturns(t, p, next, p.End); !errors.Is(err, ErrEnded) {
		t.Errorf("Await after End = %v; want ErrEnded", err)
	}
	if err := p.Await(frame(tTgetattr, 4, uint32(1), uint64(0))); !errors.Is(err, ErrEnded) {
		t.Errorf("Await of an independent request after End = %v; want ErrEnded", err)
	}
}

// TestLostRequestEndsTheConnection: hugelgupf/p9 answers a request it
// cannot decode (here a Tgetattr without its mask) under NOTAG and forgets
// its tag. The policy takes that reply as a lost request and ends the
// connection, so a Tclunk of the same fid does not wait for a reply that
// never comes. A reply under NOTAG to a Tversion is an ordinary reply.
func TestLostRequestEndsTheConnection(t *testing.T) {
	p := versioned(t, testLimits())
	if p.Ended() {
		t.Fatal("Rversion under NOTAG ended the connection")
	}
	// NOTAG is Tversion's alone, so a reply under it names no other request.
	if _, reply, _ := p.Inbound(frame(tTclunk, noTag, uint32(1))); replyErrno(t, reply) != linux.EINVAL {
		t.Errorf("Tclunk under NOTAG: want EINVAL")
	}
	if fwd, _, _ := p.Inbound(frame(tTgetattr, 2, uint32(1))); fwd == nil {
		t.Fatal("short Tgetattr refused by the policy")
	}
	next := frame(tTclunk, 3, uint32(1))
	lost := func() { p.Outbound(rlerror(noTag, linux.EINVAL)) }
	if err := awaitReturns(t, p, next, lost); !errors.Is(err, ErrEnded) {
		t.Errorf("Await after a lost request = %v; want ErrEnded", err)
	}
	if !p.Ended() {
		t.Error("Ended() = false after a NOTAG Rlerror for no Tversion; want true")
	}
}

// TestLostWriteReleasesItsSuccessors: a write waiting for its turn behind
// an explicit-offset Twrite that hugelgupf/p9 lost (answered under NOTAG)
// goes once the loss is seen, so its handler, and with it the end of the
// connection, is not held forever.
func TestLostWriteReleasesItsSuccessors(t *testing.T) {
	p := attached(t, testLimits(), 1) // fid 1 is qid path 1
	for i, f := range [][]byte{
		frame(tTwrite, 2, uint32(1), uint64(0), uint32(5), []byte("abcd")), // count ≠ data: lost
		frame(tTwrite, 3, uint32(1), uint64(4), uint32(4), []byte("efgh")),
	} {
		if fwd, _, _ := p.Inbound(f); fwd == nil {
			t.Fatalf("write %d refused", i)
		}
	}
	turned := make(chan struct{})
	go func() { p.Turn(1, 4, 4)(); close(turned) }()
	p.Outbound(rlerror(noTag, linux.EINVAL))
	select {
	case <-turned:
	case <-time.After(10 * time.Second):
		t.Fatal("write still waiting for its turn 10 s after its predecessor was lost")
	}
}
