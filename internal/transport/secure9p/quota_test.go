package secure9p

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/hugelgupf/p9/linux"
	"github.com/hugelgupf/p9/p9"

	"github.com/cohesix/cohesix/internal/ticket"
)

// TestCursorQuotasOver9P: every Tread of a telemetry ring is a cursor
// advance and a read below the last end read is a resume (spec
// roles-tickets §5); exhaustion is EDQUOT (DECISIONS D2) with the
// ui-ticket audit line, a stale offset is EINVAL with the ring's base in
// the message, and the state is per ticket: a second connection with the
// same ticket finds it spent.
func TestCursorQuotasOver9P(t *testing.T) {
	h := startHive(t, func(c *Config) { c.TicketLimits.CursorResumes = 16 })
	qroot := h.mustDial(t, queenTicket(t))
	h.spawn(t, qroot)
	if err := writeFile(qroot, "/worker/worker-1/telemetry", "abcdef"); err != nil {
		t.Fatal(err)
	}
	ttl := uint64(300)
	tok := mint(t, ticket.Claims{Role: ticket.RoleWorkerHeartbeat, Subject: "worker-1", TTLs: &ttl, IssuedAtMs: nowMs(),
		Quotas: ticket.Quotas{CursorResumes: 1, CursorAdvances: 5}})
	root := h.mustDial(t, tok)
	const path = "/worker/worker-1/telemetry"
	_, f, err := root.Walk(split(path))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Open(p9.ReadOnly); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	read := func(off int64) (int, error) { // the client reports a 0-byte read as io.EOF
		n, err := f.ReadAt(buf, off)
		if errors.Is(err, io.EOF) {
			err = nil
		}
		return n, err
	}
	if n, err := read(0); err != nil || n != 7 { // advance 1, cursor end 7 ("abcdef\n")
		t.Fatalf("read 0 = %d, %v", n, err)
	}
	if n, err := read(7); err != nil || n != 0 { // advance 2, at the end
		t.Fatalf("read 7 = %d, %v", n, err)
	}
	if n, err := read(2); err != nil || n != 5 { // advance 3, resume 1
		t.Fatalf("read 2 = %d, %v", n, err)
	}
	if _, err := read(0); !errors.Is(err, linux.EDQUOT) { // resume 2 of 1
		t.Fatalf("second resume = %v, want EDQUOT", err)
	}
	want := "ui-ticket outcome=deny reason=cursor-resume role=worker-heartbeat ticket=" + ticket.MaskToken(tok) + " path=" + path + " verb=read limit=1"
	if !strings.Contains(h.logText(), want) {
		t.Errorf("log lacks %q", want)
	}
	// Same ticket, new connection: the resume quota stays spent.
	root2 := h.mustDial(t, tok)
	_, f2, err := root2.Walk(split(path))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f2.Open(p9.ReadOnly); err != nil {
		t.Fatal(err)
	}
	if _, err := f2.ReadAt(buf, 0); !errors.Is(err, linux.EDQUOT) {
		t.Fatalf("resume on a new connection = %v, want EDQUOT", err)
	}
	if n, err := f2.ReadAt(buf, 7); !errors.Is(err, io.EOF) || n != 0 { // advance 4
		t.Fatalf("read at end = %d, %v", n, err)
	}
	if n, err := f2.ReadAt(buf, 7); !errors.Is(err, io.EOF) || n != 0 { // advance 5
		t.Fatalf("read at end = %d, %v", n, err)
	}
	if _, err := f2.ReadAt(buf, 7); !errors.Is(err, linux.EDQUOT) {
		t.Fatalf("sixth advance = %v, want EDQUOT", err)
	}
	if !strings.Contains(h.logText(), "reason=cursor-advance role=worker-heartbeat ticket="+ticket.MaskToken(tok)+" path="+path+" verb=read limit=5") {
		t.Errorf("no cursor-advance audit line")
	}
}

// TestStaleCursorOver9P: once the ring has wrapped, a read below its base
// reports the stale offset and the oldest available one.
func TestStaleCursorOver9P(t *testing.T) {
	h := startHive(t)
	qroot := h.mustDial(t, queenTicket(t))
	h.spawn(t, qroot)
	chunk := strings.Repeat("x", 255) + "\n"
	for range 6 { // 1536 bytes through a 1024-byte ring
		if err := writeFile(qroot, "/worker/worker-1/telemetry", chunk); err != nil {
			t.Fatal(err)
		}
	}
	root := h.mustDial(t, workerTicket(t, "worker-1"))
	_, f, err := root.Walk(split("/worker/worker-1/telemetry"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Open(p9.ReadOnly); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadAt(make([]byte, 16), 0); !errors.Is(err, linux.EINVAL) {
		t.Fatalf("stale read = %v, want EINVAL", err)
	}
	base := h.q.Snapshot()
	w, _ := base.Worker("worker-1")
	if w.Ring.Base == 0 {
		t.Fatalf("ring did not wrap")
	}
	if n, err := f.ReadAt(make([]byte, 16), int64(w.Ring.Base)); err != nil || n != 16 {
		t.Fatalf("read at base = %d, %v", n, err)
	}
}
