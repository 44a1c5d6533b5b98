package tests

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hugelgupf/p9/linux"

	"github.com/cohesix/cohesix/internal/client"
	"github.com/cohesix/cohesix/internal/ticket"
)

// Issue 12 finding 6: authority is checked on every operation, not only at
// attach. The attacker holds a valid ticket and keeps its sessions open
// past the ticket's expiry or its worker's kill, from 127.0.0.2 (9P) and
// 127.0.0.3 (console); the operator on 127.0.0.1 is served throughout.

// authOperator is the honest queen on 127.0.0.1 with one worker spawned.
func authOperator(t *testing.T, rt *rootTask) *client.Conn {
	t.Helper()
	q := queenConsole(t, rt)
	expectAck(t, q, `spawn {"spawn":"heartbeat","ticks":100000}`, `OK SPAWN payload={"spawn":"heartbeat","ticks":100000}`)
	return q
}

// authLogHas reports whether a line of /log/queen.log starts with prefix
// within a few seconds: a session's end is marked before the operation
// that ends it is answered, and its audit line is submitted just after.
func authLogHas(t *testing.T, q *client.Conn, prefix string) bool {
	t.Helper()
	has := func() bool {
		return slices.ContainsFunc(logLines(t, q), func(l string) bool { return strings.HasPrefix(l, prefix) })
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if has() {
			return true
		}
	}
	return has()
}

func TestHostileAuthorityExpiredTicket(t *testing.T) {
	bin := binaries(t, "roottask")
	rt := startRootTask(t, bin, false)
	q := authOperator(t, rt)

	const ttlS = 3
	issued := uint64(time.Now().UnixMilli())
	ttl := uint64(ttlS)
	tok := mintTicket(t, ticket.Claims{Role: ticket.RoleWorkerHeartbeat, Subject: "worker-1", IssuedAtMs: issued, TTLs: &ttl})

	nine := dial9PFrom(t, "127.0.0.2", rt.NinePAddr)
	if e := nine.attach(0, tok); e != 0 {
		t.Fatalf("9P attach with a fresh 3 s ticket = %v", e)
	}
	nine.open(1, "worker/worker-1/telemetry", 1) // O_WRONLY
	early := []byte("early\n")
	nine.ok("write before expiry", p9Twrite, uint32(1), uint64(0), uint32(len(early)), early)
	con := authedConsoleFrom(t, "127.0.0.3", rt.ConsoleAddr)
	if got, err := con.do("attach worker " + tok); got != "OK ATTACH role=worker-heartbeat" {
		t.Fatalf("console attach = %q, %v", got, err)
	}
	if got, err := con.do("cat /log/queen.log"); !strings.HasPrefix(got, "OK CAT") {
		t.Fatalf("console cat before expiry = %q, %v", got, err)
	}
	con.drain()

	time.Sleep(time.Until(time.UnixMilli(int64(issued + ttlS*1000 + 200))))
	late := []byte("late\n")
	nine.refusedThenClosed("write after expiry", linux.EPERM, p9Twrite, uint32(1), uint64(0), uint32(len(late)), late)
	con.refusedThenClosed("cat /log/queen.log", "ERR CAT reason=quota detail=expired")

	// The operator is served; the late write never landed.
	lines := cat(t, q, "/worker/worker-1/telemetry")
	if !slices.Contains(lines, "early") || slices.Contains(lines, "late") {
		t.Errorf("worker-1 telemetry = %q; want early and not late", lines)
	}
	for _, want := range []string{"session expired transport=9p session=", "session expired transport=tcp session="} {
		if !authLogHas(t, q, want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

func TestHostileAuthorityFutureTicket(t *testing.T) {
	bin := binaries(t, "roottask")
	rt := startRootTask(t, bin, false)
	q := authOperator(t, rt)

	future := uint64(time.Now().Add(27 * time.Hour).UnixMilli())
	ttl := uint64(3)
	tok := mintTicket(t, ticket.Claims{Role: ticket.RoleWorkerHeartbeat, Subject: "worker-1", IssuedAtMs: future, TTLs: &ttl})
	if e := dial9PFrom(t, "127.0.0.2", rt.NinePAddr).attach(0, tok); e != linux.EPERM {
		t.Errorf("9P attach with a ticket issued 27 h ahead = errno %v; want EPERM", e)
	}
	con := authedConsoleFrom(t, "127.0.0.3", rt.ConsoleAddr)
	if got, err := con.do("attach worker " + tok); got != "ERR ATTACH reason=quota detail=invalid-claims" {
		t.Errorf("console attach with a ticket issued 27 h ahead = %q, %v; want ERR ATTACH reason=quota detail=invalid-claims", got, err)
	}
	if got, _ := con.do("cat /log/queen.log"); got != "ERR CAT reason=policy detail=unauthenticated" {
		t.Errorf("after the refused attach, cat = %q; want unauthenticated", got)
	}
	masked := ticket.MaskToken(tok)
	if !authLogHas(t, q, "ui-ticket outcome=deny reason=not-yet-valid role=worker-heartbeat ticket="+masked) {
		t.Error("log lacks the not-yet-valid refusal with the masked ticket")
	}
	if !authLogHas(t, q, "nine-door: attach denied role=worker-heartbeat reason=not-yet-valid") {
		t.Error("log lacks the 9P attach denial")
	}
	// A ticket issued now is still good on both transports.
	now := mintTicket(t, ticket.Claims{Role: ticket.RoleWorkerHeartbeat, Subject: "worker-1", IssuedAtMs: uint64(time.Now().UnixMilli())})
	// (From another address: 127.0.0.2 is held back by its refusal, P7.)
	if e := dial9PFrom(t, "127.0.0.4", rt.NinePAddr).attach(0, now); e != 0 {
		t.Errorf("9P attach with a ticket issued now = errno %v", e)
	}
}

func TestHostileAuthorityKilledWorker(t *testing.T) {
	bin := binaries(t, "roottask")
	rt := startRootTask(t, bin, false)
	q := authOperator(t, rt)
	tok := mintTicket(t, ticket.Claims{Role: ticket.RoleWorkerHeartbeat, Subject: "worker-1", IssuedAtMs: uint64(time.Now().UnixMilli())})

	nine := dial9PFrom(t, "127.0.0.2", rt.NinePAddr)
	if e := nine.attach(0, tok); e != 0 {
		t.Fatalf("9P attach = %v", e)
	}
	nine.open(1, "log/queen.log", 0) // O_RDONLY
	nine.ok("read before the kill", p9Tread, uint32(1), uint64(0), uint32(512))
	con := authedConsoleFrom(t, "127.0.0.3", rt.ConsoleAddr)
	if got, err := con.do("attach worker " + tok); got != "OK ATTACH role=worker-heartbeat" {
		t.Fatalf("console attach = %q, %v", got, err)
	}
	if got, err := con.do("cat /log/queen.log"); !strings.HasPrefix(got, "OK CAT") {
		t.Fatalf("console cat before the kill = %q, %v", got, err)
	}
	con.drain()

	expectAck(t, q, "kill worker-1", "OK KILL id=worker-1")
	nine.refusedThenClosed("read after the kill", linux.EBADF, p9Tread, uint32(1), uint64(0), uint32(512))
	con.refusedThenClosed("cat /log/queen.log", "ERR CAT reason=policy detail=revoked")

	// The operator keeps working, and the log names worker and sessions.
	for _, want := range []string{
		"session revoked worker=worker-1 reason=kill transport=9p session=",
		"session revoked worker=worker-1 reason=kill transport=tcp session=",
	} {
		if !authLogHas(t, q, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	// The dead worker's ticket attaches nowhere again.
	again := authedConsoleFrom(t, "127.0.0.4", rt.ConsoleAddr)
	if got, err := again.do("attach worker " + tok); got != "ERR ATTACH reason=policy detail=revoked" {
		t.Errorf("console attach with the killed worker's ticket = %q, %v; want ERR ATTACH reason=policy detail=revoked", got, err)
	}
	if e := dial9PFrom(t, "127.0.0.5", rt.NinePAddr).attach(0, tok); e != linux.ENOENT {
		t.Errorf("9P attach with the killed worker's ticket = errno %v; want ENOENT (worker not found)", e)
	}
	expectAck(t, q, `spawn {"spawn":"heartbeat","ticks":100000}`, `OK SPAWN payload={"spawn":"heartbeat","ticks":100000}`)
}
