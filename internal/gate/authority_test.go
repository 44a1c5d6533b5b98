package gate

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/ticket"
)

// closed returns a Watch.Close that reports on the channel.
func closed() (func(), <-chan struct{}) {
	ch := make(chan struct{}, 1)
	return func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}, ch
}

// waitClosed waits, bounded, for a connection close.
func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: connection not closed", what)
	}
}

func (f *fixture) logHas(prefix string) bool {
	return slices.ContainsFunc(f.log(), func(l string) bool { return strings.HasPrefix(l, prefix) })
}

func TestLiveEndsSessionAtTicketExpiry(t *testing.T) {
	f := newFixture(t, options{})
	f.ns.SetClock(f.clock.Now)
	now := uint64(f.clock.ms.Load())
	ttl := uint64(3)
	s := f.ns.OpenSession(ticket.RoleQueen, "", "cohesix-ticket-m…", queen.Peer{Transport: "9p"})
	closeConn, ch := closed()
	f.ns.Guard(s, Watch{Claims: ticket.Claims{Role: ticket.RoleQueen, IssuedAtMs: now, TTLs: &ttl}, SkewMs: 30_000, Close: closeConn})
	defer f.ns.CloseSession(s, "eof")

	f.clock.ms.Add(2999)
	if err := f.ns.Live(s); err != nil {
		t.Fatalf("Live 1 ms before expiry = %v; want nil", err)
	}
	f.clock.ms.Add(1)
	err := f.ns.Live(s)
	e, ok := AsSessionEnded(err)
	if !ok || e.Reason != EndExpired || !errors.Is(err, errs.ErrPermission) {
		t.Fatalf("Live at expiry = %v; want an expired SessionEnded of class permission", err)
	}
	if err := f.ns.Live(s); err != e {
		t.Errorf("Live after the end = %v; want the same end %v", err, e)
	}
	f.do(queen.LogAppend{})
	want := "session expired transport=9p session=" + strconv.FormatUint(s.ID, 10) + " role=queen subject=none ticket=cohesix-ticket-m…"
	n := 0
	for _, l := range f.log() {
		if l == want {
			n++
		}
	}
	if n != 1 {
		t.Errorf("log has %d lines %q; want exactly 1", n, want)
	}
	select {
	case <-ch:
		t.Error("Live closed the connection; the transport closes it after answering")
	default:
	}
}

func TestExpiryTimerClosesIdleSession(t *testing.T) {
	f := newFixture(t, options{})
	f.ns.SetClock(f.clock.Now)
	ttl := uint64(1)
	// Issued 900 ms ago with a 1 s TTL: the timer fires in about 100 ms.
	claims := ticket.Claims{Role: ticket.RoleQueen, IssuedAtMs: uint64(f.clock.ms.Load()) - 900, TTLs: &ttl}
	s := f.ns.OpenSession(ticket.RoleQueen, "", "m", queen.Peer{Transport: "tcp"})
	closeConn, ch := closed()
	f.ns.Guard(s, Watch{Claims: claims, Close: closeConn})
	waitClosed(t, ch, "idle session at expiry")
	if _, ok := AsSessionEnded(f.ns.Live(s)); !ok {
		t.Error("Live after the timer = nil; want the session ended")
	}
	f.ns.CloseSession(s, "error")
	if !f.logHas("session expired transport=tcp session=" + strconv.FormatUint(s.ID, 10)) {
		t.Error("log lacks the session expired line")
	}
	if s.g.timer != nil || len(f.ns.guarded.m) != 0 {
		t.Error("closed session still holds its timer or its registry entry")
	}
}

func TestCloseSessionStopsTheTimer(t *testing.T) {
	f := newFixture(t, options{})
	f.ns.SetClock(f.clock.Now)
	ttl := uint64(3600)
	s := f.ns.OpenSession(ticket.RoleQueen, "", "m", queen.Peer{Transport: "9p"})
	f.ns.Guard(s, Watch{Claims: ticket.Claims{IssuedAtMs: uint64(f.clock.ms.Load()), TTLs: &ttl}, Close: func() { t.Error("closer called after close") }})
	timer := s.g.timer
	if timer == nil {
		t.Fatal("no expiry timer armed")
	}
	f.ns.CloseSession(s, "eof")
	if timer.Stop() {
		t.Error("timer still armed after CloseSession")
	}
	if len(f.ns.guarded.m) != 0 {
		t.Errorf("registry holds %d sessions after close; want 0", len(f.ns.guarded.m))
	}
}

func TestKillEndsTheWorkersSessions(t *testing.T) {
	f := newFixture(t, options{})
	f.spawn(2, "1000")
	bound := f.ns.OpenSession(ticket.RoleWorkerHeartbeat, "worker-1", "m1", queen.Peer{Transport: "9p"})
	closeBound, boundClosed := closed()
	f.ns.Guard(bound, Watch{Worker: "worker-1", Close: closeBound})
	defer f.ns.CloseSession(bound, "eof")
	// Attached on the console before its worker existed: not bound, but
	// it speaks for worker-3, so worker-3's kill ends it too.
	early := f.ns.OpenSession(ticket.RoleWorkerHeartbeat, "worker-3", "m3", queen.Peer{Transport: "tcp"})
	closeEarly, earlyClosed := closed()
	f.ns.Guard(early, Watch{Close: closeEarly})
	defer f.ns.CloseSession(early, "eof")
	other := f.ns.OpenSession(ticket.RoleWorkerHeartbeat, "worker-2", "m2", queen.Peer{Transport: "9p"})
	f.ns.Guard(other, Watch{Worker: "worker-2"})
	defer f.ns.CloseSession(other, "eof")
	q := f.queen()

	f.mustWrite(q, "/queen/ctl", `{"kill":"worker-1"}`)
	waitClosed(t, boundClosed, "worker-1 session after kill")
	err := f.ns.Live(bound)
	if e, ok := AsSessionEnded(err); !ok || e.Reason != EndRevoked || e.Worker != "worker-1" || e.Cause != "kill" || !errors.Is(err, errs.ErrClosed) {
		t.Fatalf("Live of the killed worker's session = %v; want revoked by kill, class closed", err)
	}
	if err := f.ns.Live(other); err != nil {
		t.Errorf("Live of another worker's session = %v; want nil", err)
	}

	f.spawn(1, "1000") // worker-3
	f.mustWrite(q, "/queen/ctl", `{"kill":"worker-3"}`)
	waitClosed(t, earlyClosed, "worker-3 session after kill")
	f.do(queen.LogAppend{})
	for _, want := range []string{
		"session revoked worker=worker-1 reason=kill transport=9p session=" + strconv.FormatUint(bound.ID, 10) + " role=worker-heartbeat ticket=m1",
		"session revoked worker=worker-3 reason=kill transport=tcp session=" + strconv.FormatUint(early.ID, 10),
	} {
		if !f.logHas(want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

func TestBudgetEndRevokesTheWorkersSessions(t *testing.T) {
	f := newFixture(t, options{})
	f.spawn(1, "1")
	s := f.ns.OpenSession(ticket.RoleWorkerHeartbeat, "worker-1", "m", queen.Peer{Transport: "9p"})
	closeConn, ch := closed()
	f.ns.Guard(s, Watch{Worker: "worker-1", Close: closeConn})
	defer f.ns.CloseSession(s, "eof")
	f.tick(3)
	waitClosed(t, ch, "session of a worker whose ticks ran out")
	if e, ok := AsSessionEnded(f.ns.Live(s)); !ok || e.Cause != "ticks" {
		t.Errorf("Live = %v; want revoked for ticks", e)
	}
}

// TestGuardSeesRevocationBeforeRegistration: a worker killed after the
// attach bound the session (RunningWorker) but before Guard registered
// it, when OnRevoke could not find it, still ends the session at Guard.
func TestGuardSeesRevocationBeforeRegistration(t *testing.T) {
	f := newFixture(t, options{})
	f.spawn(1, "1000")
	bound := f.ns.RunningWorker(ticket.RoleWorkerHeartbeat, "worker-1")
	s := f.ns.OpenSession(ticket.RoleWorkerHeartbeat, "worker-1", "m", queen.Peer{Transport: "9p"})
	defer f.ns.CloseSession(s, "eof")
	f.mustWrite(f.queen(), "/queen/ctl", `{"kill":"worker-1"}`)
	closeConn, ch := closed()
	f.ns.Guard(s, Watch{Worker: bound, Close: closeConn})
	waitClosed(t, ch, "session guarded after its worker's kill")
	if e, ok := AsSessionEnded(f.ns.Live(s)); !ok || e.Reason != EndRevoked {
		t.Errorf("Live = %v; want revoked", e)
	}
}

func TestRunningWorkerBindsOnlyALiveWorkerOfTheRole(t *testing.T) {
	f := newFixture(t, options{})
	f.spawn(1, "1")
	if got := f.ns.RunningWorker(ticket.RoleWorkerHeartbeat, "worker-1"); got != "worker-1" {
		t.Errorf("RunningWorker(heartbeat, worker-1) = %q; want worker-1", got)
	}
	for _, tc := range []struct {
		role    ticket.Role
		subject string
	}{{ticket.RoleWorkerGPU, "worker-1"}, {ticket.RoleQueen, "worker-1"}, {ticket.RoleWorkerHeartbeat, "worker-9"}, {ticket.RoleWorkerHeartbeat, ""}} {
		if got := f.ns.RunningWorker(tc.role, tc.subject); got != "" {
			t.Errorf("RunningWorker(%s, %q) = %q; want none", tc.role, tc.subject, got)
		}
	}
	f.tick(3) // its one tick spent: revoked, still listed (DECISIONS P5)
	if got := f.ns.RunningWorker(ticket.RoleWorkerHeartbeat, "worker-1"); got != "" {
		t.Errorf("RunningWorker of a revoked worker = %q; want none", got)
	}
}
