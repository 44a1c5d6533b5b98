package secure9p

import (
	"strings"
	"testing"

	"github.com/hugelgupf/p9/linux"
)

// TestControlCharacterNamesRefused: a walk name carrying CR, LF, ESC or
// DEL is an invalid name (EINVAL) before the role policy runs, so it never
// reaches a log line, and nothing in the log starts a forged entry.
func TestControlCharacterNamesRefused(t *testing.T) {
	h := startHive(t)
	h.spawn(t, h.mustDial(t, queenTicket(t))) // worker-1
	r := h.raw(t)
	r.version(8192)
	if e := r.attach(1, workerTicket(t, "worker-1")); e != 0 {
		t.Fatalf("worker attach: errno %d", e)
	}
	for i, name := range []string{"x\r\nattach accepted role=queen", "a\x1b[2Jb", "del\x7f", "tab\tname", "c1\u009bx"} {
		if e := r.call(frame(tTwalk, 2, uint32(1), uint32(10+i), uint16(1), name)); e != uint32(linux.EINVAL) {
			t.Errorf("walk %q: errno %d; want EINVAL", name, e)
		}
	}
	for _, l := range h.q.Snapshot().Log {
		if strings.HasPrefix(l, "attach accepted") || strings.ContainsAny(l, "\r\n\x1b\x7f") {
			t.Errorf("log line %q: forged or unescaped", l)
		}
	}
}

// walk sends a Twalk through p and answers it as the server would: a
// complete Rwalk when ok, else Rlerror ENOENT. It returns the policy's
// own refusal, 0 if forwarded.
func walkThrough(t *testing.T, p *Policy, tag uint16, fid, newfid uint32, ok bool) linux.Errno {
	t.Helper()
	_, reply, err := p.Inbound(frame(tTwalk, tag, fid, newfid, uint16(1), "proc"))
	if err != nil {
		t.Fatal(err)
	}
	if reply != nil {
		return replyErrno(t, reply)
	}
	if ok {
		p.Outbound(frame(tRwalk, tag, uint16(1), uint8(0x80), uint32(0), uint64(2)))
	} else {
		p.Outbound(rlerror(tag, linux.ENOENT))
	}
	return 0
}

func TestPolicyFidCap(t *testing.T) {
	lim := testLimits()
	lim.Fids = 4
	p := attached(t, lim, 0)
	for fid := uint32(1); fid < 4; fid++ {
		if e := walkThrough(t, p, 2, 0, fid, true); e != 0 {
			t.Fatalf("walk to fid %d: %v", fid, e)
		}
	}
	if e := walkThrough(t, p, 2, 0, 4, true); e != linux.EMFILE {
		t.Fatalf("walk past the cap: %v; want EMFILE", e)
	}
	if e := walkThrough(t, p, 2, 0, 0, true); e != 0 {
		t.Errorf("walk in place (fid = newfid) at the cap: %v; want forwarded", e)
	}
	// Clunk frees a slot; a failed walk does not keep one.
	if _, reply, _ := p.Inbound(frame(tTclunk, 3, uint32(3))); reply != nil {
		t.Fatalf("clunk refused: %v", replyErrno(t, reply))
	}
	p.Outbound(frame(tRclunk, 3))
	if e := walkThrough(t, p, 2, 0, 9, false); e != 0 {
		t.Fatalf("walk after clunk: %v", e)
	}
	if e := walkThrough(t, p, 2, 0, 10, true); e != 0 {
		t.Fatalf("walk after a failed walk: %v", e)
	}
	if got := p.Fids(); got != 4 {
		t.Errorf("Fids = %d; want 4", got)
	}
}

func TestPolicyNewFidInUse(t *testing.T) {
	p := attached(t, testLimits(), 1)
	if e := walkThrough(t, p, 2, 1, 2, true); e != 0 {
		t.Fatal(e)
	}
	if e := walkThrough(t, p, 2, 1, 2, true); e != linux.EBUSY {
		t.Errorf("walk onto live newfid: %v; want EBUSY", e)
	}
	if _, reply, _ := p.Inbound(frame(tTattach, 3, uint32(2), uint32(noFid), "", "", uint32(noFid))); replyErrno(t, reply) != linux.EBUSY {
		t.Errorf("attach onto live fid: want EBUSY")
	}
	// A newfid whose walk is still in flight is in use too.
	if _, reply, _ := p.Inbound(frame(tTwalk, 4, uint32(1), uint32(5), uint16(0))); reply != nil {
		t.Fatal("walk to 5 refused")
	}
	if _, reply, _ := p.Inbound(frame(tTwalk, 5, uint32(1), uint32(5), uint16(0))); replyErrno(t, reply) != linux.EBUSY {
		t.Errorf("walk onto a newfid being made: want EBUSY")
	}
	// DECISIONS P1: after a clunk the fid may be made again.
	p.Inbound(frame(tTclunk, 6, uint32(2)))
	p.Outbound(frame(tRclunk, 6))
	if e := walkThrough(t, p, 7, 1, 2, true); e != 0 {
		t.Errorf("walk reintroducing a clunked fid: %v; want forwarded", e)
	}
	// A partial walk does not make its newfid.
	p.Inbound(frame(tTwalk, 8, uint32(1), uint32(7), uint16(2), "a", "b"))
	p.Outbound(frame(tRwalk, 8, uint16(1), uint8(0x80), uint32(0), uint64(2)))
	if e := walkThrough(t, p, 9, 1, 7, true); e != 0 {
		t.Errorf("walk to the newfid of a partial walk: %v; want forwarded", e)
	}
}

// TestPolicyRetiredBounded: clunking many distinct fids keeps at most
// Fids retired entries, and the newest are still refused.
func TestPolicyRetiredBounded(t *testing.T) {
	lim := testLimits()
	lim.Fids = 8
	p := attached(t, lim, 0)
	for fid := uint32(1); fid < 1000; fid++ {
		if e := walkThrough(t, p, 2, 0, fid, true); e != 0 {
			t.Fatalf("walk %d: %v", fid, e)
		}
		p.Inbound(frame(tTclunk, 3, fid))
		p.Outbound(frame(tRclunk, 3))
	}
	if n := len(p.clunked.set); n > lim.Fids || len(p.clunked.order) > lim.Fids {
		t.Errorf("retired set holds %d (%d ordered); want <= %d", n, len(p.clunked.order), lim.Fids)
	}
	if _, reply, _ := p.Inbound(frame(tTgetattr, 4, uint32(999), uint64(0))); replyErrno(t, reply) != linux.EINVAL {
		t.Errorf("getattr on the newest clunked fid: want EINVAL")
	}
	// Clunks of fids never made are not remembered.
	for fid := uint32(5000); fid < 6000; fid++ {
		p.Inbound(frame(tTclunk, 5, fid))
		p.Outbound(rlerror(5, linux.EBADF))
	}
	if p.clunked.has(5500) {
		t.Error("a clunk of a fid never made was remembered")
	}
}

// TestFidCapAndInUseOnTheWire drives the real server: past the cap a walk
// is EMFILE and reaches no handler, a walk or attach onto a live fid is
// EBUSY, and another connection is served meanwhile.
func TestFidCapAndInUseOnTheWire(t *testing.T) {
	const fids = 16
	h := startHive(t, func(c *Config) { c.Fids = fids })
	r := h.raw(t)
	r.version(8192)
	if e := r.attach(0, queenTicket(t)); e != 0 {
		t.Fatalf("attach: %d", e)
	}
	for fid := uint32(1); fid < fids; fid++ {
		if e := r.call(frame(tTwalk, 2, uint32(0), fid, uint16(1), "proc")); e != 0 {
			t.Fatalf("walk to fid %d: errno %d", fid, e)
		}
	}
	if e := r.call(frame(tTwalk, 2, uint32(0), uint32(fids), uint16(1), "proc")); e != uint32(linux.EMFILE) {
		t.Errorf("walk past the cap: errno %d; want EMFILE", e)
	}
	if e := r.call(frame(tTwalk, 2, uint32(0), uint32(3), uint16(1), "log")); e != uint32(linux.EBUSY) {
		t.Errorf("walk onto live newfid: errno %d; want EBUSY", e)
	}
	if e := r.attach(3, queenTicket(t)); e != uint32(linux.EBUSY) {
		t.Errorf("attach onto live fid: errno %d; want EBUSY", e)
	}
	// Fid 3 still names /proc: the refused walk to /log did not replace it.
	r.send(frame(tTwalk, 2, uint32(3), uint32(fids), uint16(0)))
	if typ, _, _ := r.recv(); typ != tRlerror {
		t.Error("walk from fid 3 while at the cap: want EMFILE")
	}
	if e := r.call(frame(tTclunk, 2, uint32(5))); e != 0 {
		t.Fatalf("clunk: %d", e)
	}
	if e := r.call(frame(tTwalk, 2, uint32(3), uint32(5), uint16(1), "boot")); e != 0 {
		t.Errorf("walk /proc/boot from fid 3 after a clunk: errno %d; want 0", e)
	}
	other := h.mustDial(t, queenTicket(t))
	if _, err := readFile(other, "/proc/boot"); err != nil {
		t.Errorf("another connection: %v", err)
	}
}

// TestDuplicateTagKeepsFidCounted: a refusal the policy answers itself
// (here a duplicate tag) must not settle the request in flight under that
// tag, or the fid it makes would go uncounted and the cap could be
// walked past.
func TestDuplicateTagKeepsFidCounted(t *testing.T) {
	h := startHive(t)
	r := h.raw(t)
	r.version(8192)
	if e := r.attach(0, queenTicket(t)); e != 0 {
		t.Fatalf("attach: %d", e)
	}
	for i := range uint32(50) {
		fid := 100 + 2*i
		first := frame(tTwalk, 5, uint32(0), fid, uint16(1), "proc")
		dup := frame(tTwalk, 5, uint32(0), fid+1, uint16(1), "proc")
		r.send(append(first, dup...))
		r.recv()
		r.recv()
		if e := r.call(frame(tTwalk, 6, uint32(0), fid, uint16(1), "log")); e != uint32(linux.EBUSY) {
			t.Fatalf("round %d: walk onto fid %d made under a duplicated tag: errno %d; want EBUSY", i, fid, e)
		}
	}
}
