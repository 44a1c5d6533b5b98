package secure9p

import (
	"context"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hugelgupf/p9/linux"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/gate"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/testutil"
	"github.com/cohesix/cohesix/internal/ticket"
)

// fakeClock moves only when told; it starts at the real time so that
// tickets minted with nowMs are in date.
type fakeClock struct{ ms atomic.Int64 }

func (c *fakeClock) Now() time.Time { return time.UnixMilli(c.ms.Load()) }

// startHiveClock is startHive with clock as the time of the server and of
// the namespace.
func startHiveClock(t testing.TB, clock *fakeClock) *hive {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	q := queen.New(unthrottled(), realClock{}, 64) // refusals here are the subject, not the throttle
	go q.Run(ctx, nil)
	for q.Snapshot().Lifecycle.State != "ONLINE" {
		time.Sleep(time.Millisecond)
	}
	ns := gate.New(q, gate.DefaultConfig(), bootText, nil)
	ns.SetClock(clock.Now)
	srv := NewServer(ns, DefaultConfig(), clock.Now)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.Serve(ctx, l); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return &hive{q: q, ns: ns, srv: srv, addr: l.Addr().String()}
}

// walk walks fid to newfid through names and returns the errno (0: ok).
func (r *raw) walk(fid, newfid uint32, names ...string) uint32 {
	fields := []any{fid, newfid, uint16(len(names))}
	for _, n := range names {
		fields = append(fields, n)
	}
	return r.call(frame(tTwalk, 2, fields...))
}

// closedByServer reports whether the server ends the connection: the next
// read sees EOF (or a reset) before the deadline.
func (r *raw) closedByServer() bool { return testutil.ClosedByPeer(r.nc, 10*time.Second) }

func TestFutureTicketRefusedAtAttach(t *testing.T) {
	clock := &fakeClock{}
	clock.ms.Store(int64(nowMs()))
	h := startHiveClock(t, clock)
	now := uint64(clock.ms.Load())
	skew := uint64(generated.TicketLimitsClockSkewMs)

	r := h.raw(t)
	r.version(8192)
	atSkew := mint(t, ticket.Claims{Role: ticket.RoleQueen, IssuedAtMs: now + skew})
	if e := r.attach(0, atSkew); e != 0 {
		t.Fatalf("attach with a ticket issued at now+skew = errno %d; want accepted", e)
	}
	beyond := mint(t, ticket.Claims{Role: ticket.RoleQueen, IssuedAtMs: now + skew + 1})
	r2 := h.raw(t)
	r2.version(8192)
	if e := r2.attach(0, beyond); e != uint32(linux.EPERM) {
		t.Fatalf("attach with a ticket issued at now+skew+1 = errno %d; want EPERM", e)
	}
	want := "ui-ticket outcome=deny reason=not-yet-valid role=queen ticket=" + ticket.MaskToken(beyond)
	if !strings.Contains(h.logText(), want) || !strings.Contains(h.logText(), "nine-door: attach denied role=queen reason=not-yet-valid") {
		t.Errorf("queen.log lacks %q and the attach denial:\n%s", want, h.logText())
	}
	// The refused connection is still usable for an honest attach.
	if e := r2.attach(0, queenTicket(t)); e != 0 {
		t.Errorf("attach after the refusal = errno %d; want accepted", e)
	}
}

func TestExpiredTicketEndsTheSession(t *testing.T) {
	clock := &fakeClock{}
	clock.ms.Store(int64(nowMs()))
	h := startHiveClock(t, clock)
	// The timer runs on real time, an hour away: only the operation
	// check can end this session within the test.
	ttl := uint64(3600)
	tok := mint(t, ticket.Claims{Role: ticket.RoleQueen, IssuedAtMs: uint64(clock.ms.Load()), TTLs: &ttl})
	r := h.raw(t)
	r.version(8192)
	if e := r.attach(0, tok); e != 0 {
		t.Fatalf("attach = errno %d", e)
	}
	if e := r.walk(0, 1, "proc"); e != 0 {
		t.Fatalf("walk before expiry = errno %d", e)
	}
	honest := h.mustDial(t, queenTicket(t))

	clock.ms.Add(int64(ttl) * 1000)
	if e := r.walk(0, 2, "log"); e != uint32(linux.EPERM) {
		t.Fatalf("walk at expiry = errno %d; want EPERM", e)
	}
	if !r.closedByServer() {
		t.Fatal("connection still open after the refused operation")
	}
	if !h.logEventually("session expired transport=9p session=") ||
		!strings.Contains(h.logText(), "ticket="+ticket.MaskToken(tok)) {
		t.Errorf("queen.log lacks the session expired line:\n%s", h.logText())
	}
	if _, err := readFile(honest, "/proc/boot"); err != nil {
		t.Errorf("another session after the expiry: %v", err)
	}
}

func TestExpiryTimerClosesAnIdleConnection(t *testing.T) {
	h := startHive(t)
	ttl := uint64(1)
	// Issued 900 ms ago with a 1 s TTL: expires in about 100 ms.
	tok := mint(t, ticket.Claims{Role: ticket.RoleQueen, IssuedAtMs: nowMs() - 900, TTLs: &ttl})
	r := h.raw(t)
	r.version(8192)
	if e := r.attach(0, tok); e != 0 {
		t.Fatalf("attach = errno %d", e)
	}
	if !r.closedByServer() {
		t.Fatal("idle connection still open after its ticket expired")
	}
}

func TestKillEndsTheWorkersConnection(t *testing.T) {
	h := startHive(t)
	qroot := h.mustDial(t, queenTicket(t))
	if err := writeFile(qroot, "/queen/ctl", `{"spawn":"heartbeat","ticks":100000}`+"\n"); err != nil {
		t.Fatal(err)
	}
	r := h.raw(t)
	r.version(8192)
	if e := r.attach(0, workerTicket(t, "worker-1")); e != 0 {
		t.Fatalf("worker attach = errno %d", e)
	}
	if e := r.walk(0, 1, "log", "queen.log"); e != 0 {
		t.Fatalf("walk to /log/queen.log = errno %d", e)
	}
	if err := writeFile(qroot, "/queen/ctl", `{"kill":"worker-1"}`+"\n"); err != nil {
		t.Fatal(err)
	}
	// The connection ends without the worker asking anything.
	if !r.closedByServer() {
		t.Fatal("killed worker's connection still open")
	}
	if !h.logEventually("session revoked worker=worker-1 reason=kill transport=9p session=") {
		t.Errorf("queen.log lacks the session revoked line:\n%s", h.logText())
	}
	if _, err := readFile(qroot, "/log/queen.log"); err != nil {
		t.Errorf("queen session after the kill: %v", err)
	}
}

// TestRevokedWorkerNextOperation checks the operation path: the worker's
// budget ends while a request is on its way; the request is refused as
// closed (EBADF) or finds the connection already closed.
func TestRevokedWorkerNextOperation(t *testing.T) {
	h := startHive(t)
	qroot := h.mustDial(t, queenTicket(t))
	if err := writeFile(qroot, "/queen/ctl", `{"spawn":"heartbeat","ticks":1}`+"\n"); err != nil {
		t.Fatal(err)
	}
	r := h.raw(t)
	r.version(8192)
	if e := r.attach(0, workerTicket(t, "worker-1")); e != 0 {
		t.Fatalf("worker attach = errno %d", e)
	}
	for range 3 {
		if _, err := h.q.Do(context.Background(), queen.Tick{}); err != nil {
			t.Fatal(err)
		}
	}
	r.send(frame(tTwalk, 2, uint32(0), uint32(1), uint16(1), "log"))
	var hdr [7 + 4]byte
	if _, err := io.ReadFull(r.nc, hdr[:]); err == nil {
		if hdr[4] != tRlerror || le.Uint32(hdr[7:]) != uint32(linux.EBADF) {
			t.Fatalf("walk after revocation: reply type %d errno %d; want Rlerror EBADF", hdr[4], le.Uint32(hdr[7:]))
		}
	}
	if !r.closedByServer() {
		t.Fatal("revoked worker's connection still open")
	}
	// The session is marked ended on the queen's goroutine before the
	// tick is answered; its audit line is submitted right after, so it
	// may land just after the close.
	if !h.logEventually("session revoked worker=worker-1 reason=ticks transport=9p") {
		t.Errorf("queen.log lacks the session revoked line:\n%s", h.logText())
	}
}
