package tests

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hugelgupf/p9/linux"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/client"
	"github.com/cohesix/cohesix/internal/ticket"
)

// Hostile peers, part "peers" of issue 12: throttling is per source
// address (and per presented ticket subject), AUTH is throttled and has one
// word for every wrong token, /proc/peers shows who is held back, and a
// peer's unauthenticated failures are summarised so they cannot push real
// lines out of /log/queen.log. The attacker dials from 127.0.0.x (x > 1),
// the operator from 127.0.0.1.

// forge flips the last MAC digit of tok.
func forge(tok string) string {
	return tok[:len(tok)-1] + map[bool]string{true: "1", false: "0"}[strings.HasSuffix(tok, "0")]
}

var peerLine = regexp.MustCompile(`^peer=(\S+) failures=(\d+) state=(throttled|locked) delay_ms=(\d+)$`)

// peerState reads /proc/peers through the operator and returns ip's
// state and remaining delay ("" when ip is not held back).
func peerState(t *testing.T, op *client.Conn, ip string) (state string, failures int, delay time.Duration) {
	t.Helper()
	for _, l := range do(t, op, "cat /proc/peers").Lines {
		m := peerLine.FindStringSubmatch(l)
		if m == nil || m[1] != ip {
			continue
		}
		failures, _ = strconv.Atoi(m[2])
		ms, _ := strconv.Atoi(m[4])
		return m[3], failures, time.Duration(ms) * time.Millisecond
	}
	return "", 0, 0
}

// waitBackoff waits (bounded) until ip's back-off has passed.
func waitBackoff(t *testing.T, op *client.Conn, ip string) {
	t.Helper()
	for range 20 {
		state, _, d := peerState(t, op, ip)
		switch state {
		case "":
			return
		case "locked":
			t.Fatalf("%s is locked; the test wanted a back-off", ip)
		}
		time.Sleep(d + 5*time.Millisecond)
	}
	t.Fatalf("%s still held back after 20 waits", ip)
}

// TestHostilePeersIsolation: 127.0.0.2 fails a console ATTACH, a Tattach
// and an AUTH, one per back-off, and is locked out on all three doors by
// the one per-peer count, while 127.0.0.1 authenticates and attaches on
// both transports throughout.
func TestHostilePeersIsolation(t *testing.T) {
	rt := startRootTask(t, binaries(t, "roottask"), false)
	const attacker = "127.0.0.2"
	forgedWorker := forge(mintTicket(t, ticket.Claims{Role: ticket.RoleWorkerHeartbeat, Subject: "worker-1", IssuedAtMs: uint64(time.Now().UnixMilli())}))

	// An insider with the console token but no ticket: one ATTACH guess.
	a := dialConsoleFrom(t, attacker, rt.ConsoleAddr)
	a.auth()
	a.send("attach worker-heartbeat " + forgedWorker)
	if got := a.recv(); got != "ERR ATTACH reason=policy detail=denied" {
		t.Fatalf("forged ATTACH = %q; want denied", got)
	}
	// The probes below run while the peer is locked (90 s), not inside
	// the first back-off (250 ms), so a slow machine cannot race them;
	// TestAuthThrottle (internal/hive) checks the back-off to the millisecond.
	op := operatorServed(t, rt, 0)

	// Second failure: a forged Tattach; third: a wrong AUTH. Locked.
	waitBackoff(t, op, attacker)
	if errno := dial9PFrom(t, attacker, rt.NinePAddr).attach(0, forge(queenTicketNow(t))); errno != linux.EPERM {
		t.Fatalf("forged Tattach = %v; want EPERM", errno)
	}
	waitBackoff(t, op, attacker)
	if got := helloFrom(t, attacker, rt.ConsoleAddr, "wrong"); got != "ERR AUTH reason=invalid-token" {
		t.Fatalf("wrong AUTH = %q; want invalid-token", got)
	}
	if state, n, _ := peerState(t, op, attacker); state != "locked" || n != generated.ConsoleAttachLockoutFailures {
		t.Errorf("/proc/peers for %s = %q failures=%d; want locked failures=%d", attacker, state, n, generated.ConsoleAttachLockoutFailures)
	}
	// Held back on every door, even with the right console token or a
	// valid ticket, which are not checked.
	if got := helloFrom(t, attacker, rt.ConsoleAddr, generated.ConsoleAuthToken); !strings.HasPrefix(got, "ERR AUTH reason=rate-limited delay_ms=") {
		t.Errorf("AUTH with the right token while locked = %q; want rate-limited", got)
	}
	a.send("attach queen")
	if got := a.recv(); !strings.HasPrefix(got, "ERR ATTACH reason=quota detail=rate-limited delay_ms=") {
		t.Errorf("ATTACH while locked = %q; want rate-limited", got)
	}
	if errno := dial9PFrom(t, attacker, rt.NinePAddr).attach(0, queenTicketNow(t)); errno != linux.EAGAIN {
		t.Errorf("Tattach with a valid ticket while locked = %v; want EAGAIN", errno)
	}

	op = operatorServed(t, rt, 0)
	log := strings.Join(do(t, op, "log").Lines, "\n")
	for _, want := range []string{
		"attach denied role=worker-heartbeat reason=policy detail=denied transport=tcp remote=127.0.0.2:",
		"attach accepted role=queen transport=tcp remote=127.0.0.1:",
		"nine-door: attach role=queen subject=none session=",
		"transport=9p remote=127.0.0.1:",
		"rate limited: peer=127.0.0.2 failures=3",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("queen.log lacks %q", want)
		}
	}
}

// TestHostilePeersAuthGuesses: a peer guessing the console token as fast
// as it can gets at most LockoutFailures verdicts before the lockout, whatever
// its rate; every other hello is refused unchecked. A token of the wrong
// length is invalid-token like any other.
func TestHostilePeersAuthGuesses(t *testing.T) {
	rt := startRootTask(t, binaries(t, "roottask"), false)
	if got := helloFrom(t, "127.0.0.4", rt.ConsoleAddr, "x"); got != "ERR AUTH reason=invalid-token" {
		t.Errorf("one-byte token = %q; want invalid-token (no length hint)", got)
	}
	const attacker = "127.0.0.3"
	verdicts, refused, attempts := 0, 0, 0
	// Guess as fast as possible until the lockout answers (bounded in
	// count and time): the back-offs before it last 250+500 ms.
	deadline := time.Now().Add(10 * time.Second)
	locked := false
	for ; !locked && attempts < 100000 && time.Now().Before(deadline); attempts++ {
		guess := strings.Repeat("g", 1+attempts%(2*len(generated.ConsoleAuthToken)))
		switch got := helloFrom(t, attacker, rt.ConsoleAddr, guess); {
		case got == "ERR AUTH reason=invalid-token":
			verdicts++
		case strings.HasPrefix(got, "ERR AUTH reason=throttled delay_ms="):
			refused++
		case strings.HasPrefix(got, "ERR AUTH reason=rate-limited delay_ms="):
			refused++
			locked = true
		default:
			t.Fatalf("guess %d = %q; want invalid-token or a throttle", attempts, got)
		}
	}
	t.Logf("%d guesses until the lockout: %d checked, %d refused unchecked", attempts, verdicts, refused)
	if verdicts < 1 || verdicts > generated.ConsoleAttachLockoutFailures {
		t.Errorf("the attacker's token was checked %d times; want 1..%d (the back-off and lockout)", verdicts, generated.ConsoleAttachLockoutFailures)
	}
	if refused == 0 {
		t.Errorf("no guess was refused unchecked")
	}
	op := operatorServed(t, rt, 0)
	if state, _, _ := peerState(t, op, attacker); state != "locked" {
		t.Errorf("/proc/peers state of %s = %q; want locked", attacker, state)
	}
}

// TestHostilePeersAuditSummary: 600 bad AUTHs and 600 bad Tattach on one
// 9P connection leave the earlier real lines in /log/queen.log; the peer's
// failures are one written line and one summary line per window.
func TestHostilePeersAuditSummary(t *testing.T) {
	rt := startRootTask(t, binaries(t, "roottask"), false)
	op := operatorServed(t, rt, 0)
	const marker = "real line before the attack"
	do(t, op, "echo /log/queen.log "+marker)
	const attacker = "127.0.0.2"
	for range 600 {
		if got := helloFrom(t, attacker, rt.ConsoleAddr, "wrong"); !strings.HasPrefix(got, "ERR AUTH reason=") {
			t.Fatalf("bad AUTH = %q", got)
		}
	}
	nine := dial9PFrom(t, attacker, rt.NinePAddr)
	forged := forge(queenTicketNow(t))
	for i := range 600 {
		if errno := nine.attach(uint32(i), forged); errno != linux.EPERM && errno != linux.EAGAIN {
			t.Fatalf("bad Tattach %d = %v; want EPERM or EAGAIN", i, errno)
		}
	}
	// The window ends AuditSummaryWindowMs after the first failure; a
	// heartbeat tick then writes the summaries. Poll, bounded.
	var log []string
	var tcpSum, nineSum bool
	deadline := time.Now().Add(time.Duration(3*generated.NetworkAuditSummaryWindowMs) * time.Millisecond)
	for !(tcpSum && nineSum) && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		log = do(t, op, "log").Lines
		tcpSum = containsAll(log, "peer failures summary peer=127.0.0.2 transport=tcp", "failures=")
		nineSum = containsAll(log, "peer failures summary peer=127.0.0.2 transport=9p", "failures=")
	}
	if !tcpSum || !nineSum {
		t.Errorf("summary lines for 127.0.0.2: tcp %v, 9p %v; want both", tcpSum, nineSum)
	}
	if !containsAll(log, marker) {
		t.Errorf("the line written before the attack was pushed out of /log/queen.log")
	}
	n := 0
	for _, l := range log {
		if strings.Contains(l, "127.0.0.2") {
			n++
		}
	}
	t.Logf("%d of %d log lines name 127.0.0.2", n, len(log))
	// Per transport: the window's first line, lockout lines (one per
	// cooldown), the summary; far below the 1,200 failures.
	if n > 20 {
		t.Errorf("%d log lines name 127.0.0.2 after 1,200 failures; want a summary", n)
	}
}

// containsAll reports whether one line contains every part.
func containsAll(lines []string, parts ...string) bool {
	for _, l := range lines {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			return true
		}
	}
	return false
}
