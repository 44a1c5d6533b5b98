package tests

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hugelgupf/p9/linux"

	"github.com/cohesix/cohesix/internal/nineclient"
)

// The trusted-forwarder rule (DECISIONS P48) on a real root task: the dev
// manifest trusts loopback (network.trusted_forwarders), so a client on
// 127.0.0.1 attaching with uname via=<ip:port> is a forwarder like
// hive-gateway, one Secure9P session per HTTP client. A hostile HTTP client
// whose forged tickets the gateway forwards must lock out itself, not the
// gateway's address and every operator behind it.
func TestHostileForwardedClientLockout(t *testing.T) {
	rt := startRootTask(t, binaries(t, "roottask"), false)
	op := operatorServed(t, rt, 0)
	const hostile, honest = "192.0.2.7", "198.51.100.9:5000"
	timeout := 5 * time.Second
	forged := forge(queenTicketNow(t))
	for i := range 3 {
		waitBackoff(t, op, hostile) // one guess per back-off, as a patient attacker sends them
		_, err := nineclient.DialAs(rt.NinePAddr, forged, "via="+hostile+":4000"+string(rune('1'+i)), timeout)
		if !errors.Is(err, linux.EPERM) {
			t.Fatalf("forged attach %d forwarded for %s: %v; want EPERM", i+1, hostile, err)
		}
	}
	if state, failures, _ := peerState(t, op, hostile); state != "locked" || failures != 3 {
		t.Errorf("/proc/peers %s = %s after %d failures; want locked after 3", hostile, state, failures)
	}
	if state, _, _ := peerState(t, op, "127.0.0.1"); state != "" {
		t.Errorf("/proc/peers holds the forwarder 127.0.0.1 back (%s); the lockout must fall on the client", state)
	}

	// The hostile client, even with a genuine ticket, waits out its lockout.
	if _, err := nineclient.DialAs(rt.NinePAddr, queenTicketNow(t), "via="+hostile+":40009", timeout); !errors.Is(err, linux.EAGAIN) {
		t.Errorf("genuine attach forwarded for the locked client: %v; want EAGAIN", err)
	}
	// Every other client behind the same forwarder is served, with its
	// Pipeline (the gateway's bulk session) attached the same way.
	c, err := nineclient.DialAs(rt.NinePAddr, queenTicketNow(t), "via="+honest, timeout)
	if err != nil {
		t.Fatalf("attach forwarded for an honest client: %v", err)
	}
	defer c.Close()
	if b, err := c.Read("/proc/boot", 0); err != nil || !strings.HasPrefix(string(b), bootLine) {
		t.Fatalf("honest client read /proc/boot = %q, %v", b, err)
	}
	p, err := c.Pipeline()
	if err != nil {
		t.Fatalf("honest client's pipeline: %v", err)
	}
	p.Close()
	// And the forwarder's own address attaches directly.
	operator9P(t, rt)

	log := do(t, op, "log").Lines
	for _, parts := range [][]string{
		{"nine-door: attach denied role=queen reason=ticket-rejected transport=9p remote=127.0.0.1:", "via=" + hostile + ":40001"},
		{"nine-door: attach rate limited: peer=" + hostile + " failures=3", "via=" + hostile + ":40003"},
		{"nine-door: attach role=queen subject=none", "transport=9p remote=127.0.0.1:", "via=" + honest},
	} {
		if !containsAll(log, parts...) {
			t.Errorf("/log/queen.log has no line with %q:\n%s", parts, strings.Join(log, "\n"))
		}
	}
	if containsAll(log, "peer=127.0.0.1 ") {
		t.Errorf("a forwarded failure was counted against the forwarder:\n%s", strings.Join(log, "\n"))
	}
}
