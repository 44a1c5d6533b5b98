package tests

// Hostile peers against the listeners (issue 12, "listeners never die"):
// descriptor exhaustion, the per-peer connection cap and the handshake
// deadlines, each played from 127.0.0.2 and up while an honest operator on
// 127.0.0.1 is served. Helpers here are prefixed listen to keep clear of
// the other hostile_*_test.go files.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
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
	"github.com/cohesix/cohesix/internal/nineclient"
)

// listenDialFrom dials addr from the loopback source address src.
func listenDialFrom(t testing.TB, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, src, err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// listenPeer is the i-th attacking source address, 127.0.0.2 and up.
func listenPeer(i, peers int) string { return fmt.Sprintf("127.0.0.%d", 2+i%peers) }

// listenClosedByHive reports whether the hive closes nc within bound: a
// read ends in EOF or a reset rather than the client's own deadline.
// Anything the hive sends first is read and discarded.
func listenClosedByHive(nc net.Conn, bound time.Duration) bool {
	_ = nc.SetReadDeadline(time.Now().Add(bound))
	var b [512]byte
	for {
		_, err := nc.Read(b[:])
		if err == nil {
			continue
		}
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout())
	}
}

// listenAuth sends the console AUTH hello on nc and returns the reply
// line ("" and the error if none came).
func listenAuth(nc net.Conn) (string, error) {
	if _, err := nc.Write(console.AppendFrame(nil, console.AuthLine(generated.ConsoleAuthToken))); err != nil {
		return "", err
	}
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer nc.SetReadDeadline(time.Time{})
	return console.NewFrameReader(bufio.NewReader(nc), console.ManifestLimits()).Next(true)
}

// listenOperator is the honest operator on 127.0.0.1: it authenticates,
// attaches as queen and reads /proc/boot over the console, and attaches
// and reads /proc/boot over Secure9P. It retries the connection (the hive
// may still be draining an attack) for up to bound.
func listenOperator(t *testing.T, rt *rootTask, bound time.Duration) *client.Conn {
	t.Helper()
	var c *client.Conn
	var err error
	for deadline := time.Now().Add(bound); ; time.Sleep(100 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err = client.DialOptions(ctx, rt.ConsoleAddr, generated.ConsoleAuthToken, client.Options{Timeout: 5 * time.Second})
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("operator could not authenticate on %s within %v: %v", rt.ConsoleAddr, bound, err)
		}
	}
	t.Cleanup(func() { c.Close() })
	expectAck(t, c, "attach queen", "OK ATTACH role=queen")
	if boot := cat(t, c, "/proc/boot"); len(boot) == 0 || boot[0] != "Cohesix boot: root-task online" {
		t.Fatalf("operator cat /proc/boot = %q", boot)
	}
	tok, err := nineclient.MintQueen(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	n9, err := nineclient.Dial(rt.NinePAddr, tok, 10*time.Second)
	if err != nil {
		t.Fatalf("operator Secure9P attach: %v", err)
	}
	defer n9.Close()
	if b, err := n9.Read("/proc/boot", 0); err != nil || !strings.HasPrefix(string(b), "Cohesix boot: root-task online") {
		t.Fatalf("operator Secure9P read /proc/boot = %q, %v", b, err)
	}
	return c
}

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
	op := listenOperator(t, rt, 10*time.Second)

	// More idle connections than descriptors, under the per-peer cap.
	const peers, perListener = 4, 50
	var attack []net.Conn
	start := time.Now()
	for i := range perListener {
		attack = append(attack, listenDialFrom(t, listenPeer(i, peers), rt.ConsoleAddr), listenDialFrom(t, listenPeer(i, peers), rt.NinePAddr))
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
	fresh := listenOperator(t, rt, 30*time.Second)
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
	var held []net.Conn
	for range capN {
		nc := listenDialFrom(t, "127.0.0.2", rt.ConsoleAddr)
		if line, err := listenAuth(nc); err != nil || line != "OK AUTH" {
			t.Fatalf("AUTH under the cap = %q, %v; want OK AUTH", line, err)
		}
		held = append(held, nc)
	}
	for i := range extra {
		nc := listenDialFrom(t, "127.0.0.2", rt.ConsoleAddr)
		if line, err := listenAuth(nc); err == nil {
			t.Errorf("console connection %d over the cap answered %q; want it closed", capN+i+1, line)
		}
	}
	// Secure9P: silent connections up to the cap, then the extra ones.
	for range capN {
		listenDialFrom(t, "127.0.0.2", rt.NinePAddr)
	}
	for i := range extra {
		if nc := listenDialFrom(t, "127.0.0.2", rt.NinePAddr); !listenClosedByHive(nc, 10*time.Second) {
			t.Errorf("Secure9P connection %d over the cap still open; want it closed", capN+i+1)
		}
	}

	op := listenOperator(t, rt, 10*time.Second)
	for _, l := range []string{"console", "secure9p"} {
		if got := listenCounters(t, op, l)["refused_peer_cap"]; got != extra {
			t.Errorf("/proc/net/%s refused_peer_cap = %d; want %d", l, got, extra)
		}
	}
	// A connection under the cap is still served.
	if _, err := held[0].Write(console.AppendFrame(nil, "ping")); err != nil {
		t.Fatalf("ping on a held connection: %v", err)
	}
	fr := console.NewFrameReader(bufio.NewReader(held[0]), console.ManifestLimits())
	_ = held[0].SetReadDeadline(time.Now().Add(10 * time.Second))
	if line, err := fr.Next(true); err != nil || line != console.PingReply {
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
	op := listenOperator(t, rt, 10*time.Second)
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
		conns[i] = listenDialFrom(t, "127.0.0.3", tc.addr)
		if _, err := conns[i].Write(tc.send); err != nil {
			t.Fatal(err)
		}
	}
	for i, tc := range cases {
		if !listenClosedByHive(conns[i], tc.bound) {
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

// BenchmarkHostileListenIdle1000 measures the root task's RSS with 1,000
// idle connections open (500 authenticated console connections and 500
// attached Secure9P connections, spread over 127.0.0.2-41 to stay under
// the per-peer cap) and the time an operator on 127.0.0.1 takes to
// authenticate and attach meanwhile.
func BenchmarkHostileListenIdle1000(b *testing.B) {
	rt := startRootTask(b, binaries(b), false)
	pid := rt.cmd.Process.Pid
	rssBefore := listenRSSKiB(b, pid)
	tok, err := nineclient.MintQueen(time.Now())
	if err != nil {
		b.Fatal(err)
	}
	const peers, each = 40, 500
	for i := range each {
		nc := listenDialFrom(b, listenPeer(i, peers), rt.ConsoleAddr)
		if line, err := listenAuth(nc); err != nil || line != "OK AUTH" {
			b.Fatalf("AUTH %d = %q, %v", i, line, err)
		}
		listenAttach9P(b, listenDialFrom(b, listenPeer(i, peers), rt.NinePAddr), tok)
	}
	rssIdle := listenRSSKiB(b, pid)
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
	b.ReportMetric(float64(rssBefore)/1024, "rss-before-MiB")
	b.ReportMetric(float64(rssIdle)/1024, "rss-1000-idle-MiB")
}

// listenAttach9P versions and attaches nc as queen with raw frames.
func listenAttach9P(b *testing.B, nc net.Conn, tok string) {
	b.Helper()
	le := func(dst []byte, v uint32) []byte { return append(dst, byte(v), byte(v>>8), byte(v>>16), byte(v>>24)) }
	str := func(dst []byte, s string) []byte { return append(append(dst, byte(len(s)), byte(len(s)>>8)), s...) }
	msg := func(typ byte, body []byte) []byte {
		f := le(nil, uint32(7+len(body)))
		f = append(f, typ, 1, 0)
		return append(f, body...)
	}
	const tversion, tattach, rattach = 100, 104, 105
	version := msg(tversion, str(le(nil, generated.Secure9pMsize), "9P2000.L"))
	attach := msg(tattach, le(str(str(le(le(nil, 1), ^uint32(0)), ""), tok), ^uint32(0)))
	br := bufio.NewReader(nc)
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	defer nc.SetDeadline(time.Time{})
	for _, f := range [][]byte{version, attach} {
		if _, err := nc.Write(f); err != nil {
			b.Fatal(err)
		}
		var hdr [7]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			b.Fatalf("9P reply: %v", err)
		}
		size := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16 | int(hdr[3])<<24
		if _, err := br.Discard(size - 7); err != nil {
			b.Fatal(err)
		}
		if f[4] == tattach && hdr[4] != rattach {
			b.Fatalf("Tattach answered type %d", hdr[4])
		}
	}
}

// listenRSSKiB is VmRSS of pid.
func listenRSSKiB(b *testing.B, pid int) int {
	b.Helper()
	s, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(s), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
