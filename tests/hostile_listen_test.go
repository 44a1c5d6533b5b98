package tests

// Hostile peers against the listeners (issue 12, "listeners never die"):
// descriptor exhaustion, the per-peer connection cap and the handshake
// deadlines, each played from 127.0.0.2 and up while an honest operator on
// 127.0.0.1 is served. Shared helpers are in hostile_helpers_test.go.

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/client"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/testutil"
)

// listenPeer is the i-th attacking source address, 127.0.0.2 and up.
func listenPeer(i, peers int) string { return fmt.Sprintf("127.0.0.%d", 2+i%peers) }

// listenCounters parses /proc/net/<listener> into its counters.
func listenCounters(t *testing.T, c *client.Conn, listener string) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	for _, kv := range strings.Fields(catLine(t, c, "/proc/net/"+listener)) {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("/proc/net/%s: %q is not key=count", listener, kv)
		}
		out[k] = n
	}
	return out
}

// listenAlive fails the test if the process pid has exited.
func listenAlive(t *testing.T, pid int) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatalf("root task gone: %v", err)
	}
	// The state follows the parenthesised command name.
	if f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:])); len(f) == 0 || f[0] == "Z" || f[0] == "X" {
		t.Fatalf("root task exited: /proc/%d/stat %q", pid, b)
	}
}

// listenOpenFDs is the number of descriptors pid has open.
func listenOpenFDs(pid int) int {
	es, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(es)
}

// TestHostileListenDescriptorExhaustion: idle connections from several
// peers exhaust a low descriptor limit. The listeners back off and stay
// up, an already attached operator is served throughout and sees the
// accept errors in /proc/net, and once the attackers are gone a new
// operator authenticates, attaches and reads /proc/boot.
func TestHostileListenDescriptorExhaustion(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("needs Linux /proc")
	}
	const fdLimit = 64 // both soft and hard: Go raises the soft limit to the hard one
	bin := binaries(t)
	wrap := t.TempDir()
	script := fmt.Sprintf("#!/bin/sh\nulimit -S -n %d && ulimit -H -n %d || exit 97\nexec %q \"$@\"\n", fdLimit, fdLimit, filepath.Join(bin, "roottask"))
	if err := os.WriteFile(filepath.Join(wrap, "roottask"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	rt := startRootTask(t, wrap, false)
	pid := rt.cmd.Process.Pid
	op := operatorServed(t, rt, 10*time.Second)

	// More idle connections than descriptors, under the per-peer cap.
	const peers, perListener = 4, 50
	var attack []net.Conn
	start := time.Now()
	for i := range perListener {
		attack = append(attack, dialFrom(t, listenPeer(i, peers), rt.ConsoleAddr), dialFrom(t, listenPeer(i, peers), rt.NinePAddr))
	}
	// The attached operator is still served and sees the listeners fail
	// their accepts and back off.
	var con, nine map[string]uint64
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		con, nine = listenCounters(t, op, "console"), listenCounters(t, op, "secure9p")
		if con["backoffs"]+nine["backoffs"] > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no accept back-off with %d connections against %d descriptors (fds open %d): console %v secure9p %v",
				len(attack), fdLimit, listenOpenFDs(pid), con, nine)
		}
	}
	if con["accept_errors"]+nine["accept_errors"] == 0 {
		t.Errorf("backoffs without accept_errors: console %v secure9p %v", con, nine)
	}
	listenAlive(t, pid)
	log := strings.Join(logLines(t, op), "\n")
	if !strings.Contains(log, "netguard: accept backoff listener=") || !strings.Contains(log, "too many open files") {
		t.Errorf("queen.log has no accept back-off audit line naming the error:\n%s", log)
	}
	window := time.Duration(generated.NetworkAuditSummaryWindowMs) * time.Millisecond
	if n, most := strings.Count(log, "netguard: accept backoff"), 2*(int(time.Since(start)/window)+1); n > most {
		t.Errorf("%d accept back-off audit lines; want at most one per listener per window (%d)", n, most)
	}

	for _, nc := range attack {
		nc.Close()
	}
	listenAlive(t, pid)
	fresh := operatorServed(t, rt, 30*time.Second)
	con, nine = listenCounters(t, fresh, "console"), listenCounters(t, fresh, "secure9p")
	if con["accept_errors"]+nine["accept_errors"] == 0 {
		t.Errorf("/proc/net shows no accept errors after the exhaustion: console %v secure9p %v", con, nine)
	}
}

// TestHostileListenPerPeerCap: 127.0.0.2 opens MaxConnsPerPeer connections
// and then some; the extra ones are closed by the hive at once, counted in
// /proc/net, while the first ones stay served and 127.0.0.1 attaches.
func TestHostileListenPerPeerCap(t *testing.T) {
	rt := startRootTask(t, binaries(t), false)
	const extra = 3
	capN := generated.NetworkMaxConnsPerPeer

	// Console: authenticated connections up to the cap stay up.
	var held []*rawConsole
	for range capN {
		c := dialConsoleFrom(t, "127.0.0.2", rt.ConsoleAddr)
		if line, err := c.hello(generated.ConsoleAuthToken); err != nil || line != "OK AUTH" {
			t.Fatalf("AUTH under the cap = %q, %v; want OK AUTH", line, err)
		}
		held = append(held, c)
	}
	for i := range extra {
		c := dialConsoleFrom(t, "127.0.0.2", rt.ConsoleAddr)
		if line, err := c.hello(generated.ConsoleAuthToken); err == nil {
			t.Errorf("console connection %d over the cap answered %q; want it closed", capN+i+1, line)
		}
	}
	// Secure9P: silent connections up to the cap, then the extra ones.
	for range capN {
		dialFrom(t, "127.0.0.2", rt.NinePAddr)
	}
	for i := range extra {
		if nc := dialFrom(t, "127.0.0.2", rt.NinePAddr); !testutil.ClosedByPeer(nc, 10*time.Second) {
			t.Errorf("Secure9P connection %d over the cap still open; want it closed", capN+i+1)
		}
	}

	op := operatorServed(t, rt, 10*time.Second)
	for _, l := range []string{"console", "secure9p"} {
		if got := listenCounters(t, op, l)["refused_peer_cap"]; got != extra {
			t.Errorf("/proc/net/%s refused_peer_cap = %d; want %d", l, got, extra)
		}
	}
	// A connection under the cap is still served.
	if err := held[0].writeRaw(console.AppendFrame(nil, "ping")); err != nil {
		t.Fatalf("ping on a held connection: %v", err)
	}
	if line, err := held[0].next(); err != nil || line != console.PingReply {
		t.Errorf("ping on a connection under the cap = %q, %v; want %q", line, err, console.PingReply)
	}
	log := strings.Join(logLines(t, op), "\n")
	if !strings.Contains(log, "reason=peer-cap") || !strings.Contains(log, "remote=127.0.0.2:") {
		t.Errorf("queen.log has no peer-cap audit line naming 127.0.0.2:\n%s", log)
	}
}

// TestHostileListenHandshakeDeadline: silent and half-header connections
// that never authenticate are closed by the hive within the manifest's
// handshake deadline (plus a margin for a loaded machine), and counted in
// /proc/net, while an attached operator is served.
func TestHostileListenHandshakeDeadline(t *testing.T) {
	rt := startRootTask(t, binaries(t), false)
	op := operatorServed(t, rt, 10*time.Second)
	margin := 10 * time.Second
	ninep := time.Duration(generated.NetworkHandshakeTimeoutMs)*time.Millisecond + margin
	auth := time.Duration(generated.ConsoleAuthTimeoutMs)*time.Millisecond + margin
	half := []byte{0x20, 0x00} // half a 4-byte size
	cases := []struct {
		name  string
		addr  string
		send  []byte
		bound time.Duration
	}{
		{"secure9p silent", rt.NinePAddr, nil, ninep},
		{"secure9p half header", rt.NinePAddr, half, ninep},
		{"console silent", rt.ConsoleAddr, nil, auth},
		{"console half header", rt.ConsoleAddr, half, auth},
	}
	conns := make([]net.Conn, len(cases))
	for i, tc := range cases {
		conns[i] = dialFrom(t, "127.0.0.3", tc.addr)
		if _, err := conns[i].Write(tc.send); err != nil {
			t.Fatal(err)
		}
	}
	for i, tc := range cases {
		if !testutil.ClosedByPeer(conns[i], tc.bound) {
			t.Errorf("%s: still open after %v", tc.name, tc.bound)
		}
	}
	if boot := cat(t, op, "/proc/boot"); len(boot) == 0 {
		t.Error("attached operator not served after the deadlines")
	}
	for _, l := range []string{"console", "secure9p"} {
		if got := listenCounters(t, op, l)["handshake_timeouts"]; got != 2 {
			t.Errorf("/proc/net/%s handshake_timeouts = %d; want 2", l, got)
		}
	}
	log := strings.Join(logLines(t, op), "\n")
	if !strings.Contains(log, "listener=secure9p remote=127.0.0.3:") {
		t.Errorf("queen.log has no handshake-timeout line naming 127.0.0.3:\n%s", log)
	}
}

// BenchmarkHostileListenIdle1000 measures the root task's anonymous RSS with 1,000
// idle connections open (500 authenticated console connections and 500
// attached Secure9P connections, spread over 127.0.0.2-41 to stay under
// the per-peer cap) and the time an operator on 127.0.0.1 takes to
// authenticate and attach meanwhile.
func BenchmarkHostileListenIdle1000(b *testing.B) {
	rt := startRootTask(b, binaries(b), false)
	pid := rt.cmd.Process.Pid
	rssBefore := anonRSS(b, pid)
	tok := queenTicketNow(b)
	const peers, each = 40, 500
	for i := range each {
		authedConsoleFrom(b, listenPeer(i, peers), rt.ConsoleAddr)
		if e := dial9PFrom(b, listenPeer(i, peers), rt.NinePAddr).attach(1, tok); e != 0 {
			b.Fatalf("Tattach %d = %v", i, e)
		}
	}
	rssIdle := anonRSS(b, pid)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		c, err := client.Dial(context.Background(), rt.ConsoleAddr, generated.ConsoleAuthToken)
		if err != nil {
			b.Fatal(err)
		}
		r, err := c.Do("attach queen")
		lat = append(lat, time.Since(t0))
		c.Close()
		if err != nil || !r.Ack.OK {
			b.Fatalf("attach: %v %q", err, r.AckLine())
		}
	}
	reportPercentiles(b, lat)
	b.ReportMetric(float64(rssBefore)/(1<<20), "rss-before-MiB")
	b.ReportMetric(float64(rssIdle)/(1<<20), "rss-1000-idle-MiB")
}
