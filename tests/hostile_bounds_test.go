package tests

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/nineclient"
	"github.com/cohesix/cohesix/internal/ticket"
)

// Issue 12, bounded per-session resources (findings 4, 7, 8): fids per
// Secure9P connection, in-flight console requests per connection, newfid
// in use, and names that cannot forge a log line. The attacker dials from
// 127.0.0.2; the honest operator on 127.0.0.1 must be served meanwhile.

var bndLE = binary.LittleEndian

// 9P2000.L message types the attacker speaks.
const (
	bndTversion = 100
	bndTattach  = 104
	bndTwalk    = 110
	bndTclunk   = 120
	bndRlerror  = 7
	bndNoFid    = 0xFFFFFFFF
	bndEBUSY    = 16
	bndEINVAL   = 22
	bndEMFILE   = 24
)

// bndDialFrom dials addr from the loopback address src.
func bndDialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, src, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// bnd9P is a hand-driven 9P connection.
type bnd9P struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

func bndDial9P(t *testing.T, src, addr string) *bnd9P {
	nc := bndDialFrom(t, src, addr)
	_ = nc.SetDeadline(time.Now().Add(time.Minute))
	c := &bnd9P{t: t, nc: nc, br: bufio.NewReader(nc), bw: bufio.NewWriter(nc)}
	c.queue(bndFrame(bndTversion, 0xFFFF, uint32(generated.Secure9pMsize), "9P2000.L"))
	if typ, _ := c.recv(); typ != bndTversion+1 {
		t.Fatalf("Tversion: reply type %d", typ)
	}
	return c
}

// bndFrame builds a frame from uint16, uint32 and string (9P str) fields.
func bndFrame(typ byte, tag uint16, fields ...any) []byte {
	b := []byte{0, 0, 0, 0, typ, byte(tag), byte(tag >> 8)}
	for _, f := range fields {
		switch v := f.(type) {
		case uint16:
			b = bndLE.AppendUint16(b, v)
		case uint32:
			b = bndLE.AppendUint32(b, v)
		case string:
			b = bndLE.AppendUint16(b, uint16(len(v)))
			b = append(b, v...)
		default:
			panic("bndFrame: bad field")
		}
	}
	bndLE.PutUint32(b, uint32(len(b)))
	return b
}

// queue writes a frame and flushes it.
func (c *bnd9P) queue(b []byte) {
	c.t.Helper()
	c.bw.Write(b)
	if err := c.bw.Flush(); err != nil {
		c.t.Fatalf("9P send: %v", err)
	}
}

// recv reads one reply and returns its type and errno (0 unless Rlerror).
func (c *bnd9P) recv() (byte, uint32) {
	c.t.Helper()
	var hdr [7]byte
	if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
		c.t.Fatalf("9P recv: %v", err)
	}
	body := make([]byte, bndLE.Uint32(hdr[:])-7)
	if _, err := io.ReadFull(c.br, body); err != nil {
		c.t.Fatalf("9P recv body: %v", err)
	}
	if hdr[4] == bndRlerror {
		return hdr[4], bndLE.Uint32(body)
	}
	return hdr[4], 0
}

func (c *bnd9P) call(b []byte) uint32 {
	c.t.Helper()
	c.queue(b)
	_, e := c.recv()
	return e
}

func (c *bnd9P) attach(fid uint32, tok string) uint32 {
	return c.call(bndFrame(bndTattach, 1, fid, uint32(bndNoFid), "", tok, uint32(bndNoFid)))
}

func (c *bnd9P) walk(fid, newfid uint32, names ...string) uint32 {
	f := []any{fid, newfid, uint16(len(names))}
	for _, n := range names {
		f = append(f, n)
	}
	return c.call(bndFrame(bndTwalk, 2, f...))
}

// bndRSS is the anonymous resident set of pid in bytes (Linux /proc:
// RssAnon, the heap and stacks a connection can grow; file-backed pages,
// the program text faulted in as new code paths first run, are left out:
// they are not memory a peer holds).
func bndRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "RssAnon:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Skip("no RssAnon")
	return 0
}

// bndSettled is the RSS of pid once it is back within 10% of base, or
// after COHESIX_BOUNDS_SETTLE_S seconds (0 or unset: read it at once).
// The Go runtime returns freed memory to the system only after a GC, which
// an idle process runs every two minutes, so the benchmark run sets it
// (docs/BENCHMARKS.md) and the test battery does not wait.
func bndSettled(t *testing.T, pid int, base int64) (rss int64, waited time.Duration) {
	t.Helper()
	limit, _ := strconv.Atoi(os.Getenv("COHESIX_BOUNDS_SETTLE_S"))
	start := time.Now()
	for {
		rss = bndRSS(t, pid)
		if rss <= base+base/10 || time.Since(start) >= time.Duration(limit)*time.Second {
			return rss, time.Since(start).Round(time.Second)
		}
		time.Sleep(time.Second)
	}
}

func bndQueenTicket(t *testing.T) string {
	t.Helper()
	tok, err := nineclient.MintQueen(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// bndHonest9P reads /proc/boot as an honest queen from 127.0.0.1.
func bndHonest9P(t *testing.T, rt *rootTask) {
	t.Helper()
	c, err := nineclient.Dial(rt.NinePAddr, bndQueenTicket(t), 5*time.Second)
	if err != nil {
		t.Fatalf("honest 9P client: %v", err)
	}
	defer c.Close()
	if b, err := c.Read("/proc/boot", 4096); err != nil || !strings.Contains(string(b), "root-task online") {
		t.Errorf("honest 9P read /proc/boot = %q, %v", b, err)
	}
}

// TestHostileBoundsFidCap: 100k walks to new fids without a clunk on one
// raw connection are served up to secure9p.fids_per_session and refused
// with EMFILE after that, the server's memory stays within the manifest's
// budget, and an honest client is served meanwhile.
func TestHostileBoundsFidCap(t *testing.T) {
	rt := startRootTask(t, binaries(t), false)
	pid := rt.cmd.Process.Pid
	bndHonest9P(t, rt) // warm: the baseline is a hive that has served 9P
	// Warm the same path at a small scale too (its log lines fill the
	// bounded rings), so that the baseline is a hive in its steady state
	// and what stays after the flood is what the flood kept.
	warm := bndDial9P(t, "127.0.0.3", rt.NinePAddr)
	if e := warm.attach(0, bndQueenTicket(t)); e != 0 {
		t.Fatalf("warm attach: errno %d", e)
	}
	for i := range 2 * generated.Secure9pFidsPerSession {
		warm.walk(0, uint32(1+i))
	}
	warm.nc.Close()
	bndHonest9P(t, rt)
	start, _ := bndSettled(t, pid, 0)
	c := bndDial9P(t, "127.0.0.2", rt.NinePAddr)
	if e := c.attach(0, bndQueenTicket(t)); e != 0 {
		t.Fatalf("attach: errno %d", e)
	}
	const attempts = 100_000
	window := generated.Secure9pTagsPerSession / 2 // stay inside the tag window
	ok, emfile := 0, 0
	for sent := 0; sent < attempts; {
		n := min(window, attempts-sent)
		for i := range n {
			c.bw.Write(bndFrame(bndTwalk, uint16(i), uint32(0), uint32(sent+i+1), uint16(1), "proc"))
		}
		if err := c.bw.Flush(); err != nil {
			t.Fatal(err)
		}
		for range n {
			switch _, e := c.recv(); e {
			case 0:
				ok++
			case bndEMFILE:
				emfile++
			default:
				t.Fatalf("walk: errno %d", e)
			}
		}
		sent += n
		if sent == attempts/2 {
			bndHonest9P(t, rt)
		}
	}
	if want := generated.Secure9pFidsPerSession - 1; ok != want || emfile != attempts-want {
		t.Errorf("walks: %d made, %d EMFILE; want %d made (the attach holds one fid), %d EMFILE", ok, emfile, want, attempts-want)
	}
	peak := bndRSS(t, pid)
	bndHonest9P(t, rt)
	c.nc.Close()
	// The server lets the connection go; a new connection after it proves
	// the close was handled before RSS is read again.
	bndHonest9P(t, rt)
	after, waited := bndSettled(t, pid, start)
	t.Logf("RSS: start %d KiB, after %d walks %d KiB, %s after close %d KiB (budget %d KiB)", start>>10, attempts, peak>>10, waited, after>>10, generated.QueenMemoryBudgetBytes>>10)
	if peak > generated.QueenMemoryBudgetBytes {
		t.Errorf("RSS %d bytes over queen.memory_budget_bytes %d", peak, generated.QueenMemoryBudgetBytes)
	}
}

// TestHostileBoundsNewFidInUse: a walk or attach naming a live fid as its
// new fid is refused (EBUSY, spec secure9p §6 "fid in use") and does not
// replace it; a clunked fid may be named again (DECISIONS P1).
func TestHostileBoundsNewFidInUse(t *testing.T) {
	rt := startRootTask(t, binaries(t), false)
	c := bndDial9P(t, "127.0.0.2", rt.NinePAddr)
	tok := bndQueenTicket(t)
	if e := c.attach(0, tok); e != 0 {
		t.Fatalf("attach: errno %d", e)
	}
	if e := c.walk(0, 1, "proc"); e != 0 {
		t.Fatalf("walk /proc: errno %d", e)
	}
	if e := c.walk(0, 1, "log"); e != bndEBUSY {
		t.Errorf("walk onto live newfid: errno %d; want EBUSY", e)
	}
	if e := c.attach(1, tok); e != bndEBUSY {
		t.Errorf("attach onto live fid: errno %d; want EBUSY", e)
	}
	// Fid 1 still names /proc: boot is found under it.
	if e := c.walk(1, 2, "boot"); e != 0 {
		t.Errorf("walk /proc/boot from fid 1: errno %d; the refused walk replaced fid 1", e)
	}
	if e := c.call(bndFrame(bndTclunk, 3, uint32(1))); e != 0 {
		t.Fatalf("clunk: errno %d", e)
	}
	if e := c.walk(0, 1, "log"); e != 0 {
		t.Errorf("walk reusing a clunked fid: errno %d; want 0 (DECISIONS P1)", e)
	}
	bndHonest9P(t, rt)
}

// bndConsole is a raw authenticated TCP console connection.
type bndConsole struct {
	t  *testing.T
	nc net.Conn
	fr *console.FrameReader
}

func bndDialConsole(t *testing.T, src string, rt *rootTask) *bndConsole {
	t.Helper()
	nc := bndDialFrom(t, src, rt.ConsoleAddr)
	_ = nc.SetDeadline(time.Now().Add(time.Minute))
	c := &bndConsole{t: t, nc: nc, fr: console.NewFrameReader(nc, console.ManifestLimits())}
	c.send(console.AuthLine(generated.ConsoleAuthToken))
	if l := c.next(); l != "OK AUTH" {
		t.Fatalf("AUTH: %q", l)
	}
	return c
}

func (c *bndConsole) send(lines ...string) {
	c.t.Helper()
	var b []byte
	for _, l := range lines {
		b = console.AppendFrame(b, l)
	}
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("console send: %v", err)
	}
}

func (c *bndConsole) next() string {
	c.t.Helper()
	l, err := c.fr.Next(false)
	if err != nil {
		c.t.Fatalf("console read: %v", err)
	}
	return l
}

// burst writes lines back to back from another goroutine and reads one
// reply per line (skipping payload lines that precede an ACK), checking
// each ACK names the verb of its request in order. It returns how many
// were refused busy.
func (c *bndConsole) burst(lines []string, label func(i int) string, payload func(l string) bool) (busy int) {
	c.t.Helper()
	werr := make(chan error, 1)
	go func() {
		var b []byte
		for _, l := range lines {
			b = console.AppendFrame(b, l)
		}
		_, err := c.nc.Write(b)
		werr <- err
	}()
	for i := 0; i < len(lines); {
		l := c.next()
		if payload(l) {
			continue
		}
		a, ok := console.ParseAck(l)
		if !ok || a.Label != label(i) {
			c.t.Fatalf("reply %d = %q; want the %s reply (in order, one per request)", i, l, label(i))
		}
		switch {
		case strings.Contains(l, "reason=busy"):
			if l != "ERR "+a.Label+" reason=busy detail=queue-full" {
				c.t.Fatalf("busy reply %q", l)
			}
			busy++
		case a.Status() != "OK":
			c.t.Fatalf("reply %d = %q; want OK or busy", i, l)
		}
		i++
	}
	if err := <-werr; err != nil {
		c.t.Fatal(err)
	}
	return busy
}

// bndProc reads one /proc file as the honest queen over 9P.
func bndProc(t *testing.T, rt *rootTask, path string) string {
	t.Helper()
	c, err := nineclient.Dial(rt.NinePAddr, bndQueenTicket(t), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, err := c.Read(path, 8192)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return string(b)
}

// TestHostileBoundsConsoleBurst: 10,000 pipelined PINGs and 300 pipelined
// ECHOs on one connection get exactly one reply each, in order, OK or
// ERR <VERB> reason=busy; /proc/ingest counts the busy ones as
// back-pressure and drops none; an honest operator is served meanwhile.
func TestHostileBoundsConsoleBurst(t *testing.T) {
	rt := startRootTask(t, binaries(t), false)
	pid := rt.cmd.Process.Pid
	honest := rt.console(t)
	if r := do(t, honest, "ping"); r.Ack.Status() != "OK" { // warm: the baseline has served a console
		t.Fatalf("honest ping: %+v", r.Ack)
	}
	// Warm the same path at a small scale (steady state, as for the fids).
	warm := bndDialConsole(t, "127.0.0.3", rt)
	warmLines := make([]string, 100)
	for i := range warmLines {
		warmLines[i] = "ping"
	}
	warmBusy := warm.burst(warmLines, func(int) string { return "PING" }, func(l string) bool { return l == console.PingReply })
	warm.nc.Close()
	start, _ := bndSettled(t, pid, 0)
	c := bndDialConsole(t, "127.0.0.2", rt)

	const pings = 10_000
	lines := make([]string, pings)
	for i := range lines {
		lines[i] = "ping"
	}
	pingBusy := c.burst(lines, func(int) string { return "PING" }, func(l string) bool { return l == console.PingReply })
	peak := bndRSS(t, pid)

	if r := do(t, honest, "ping"); r.Ack.Status() != "OK" {
		t.Errorf("honest ping: %+v", r.Ack)
	}

	c.send("attach queen")
	if l := c.next(); l != "OK ATTACH role=queen" {
		t.Fatalf("attach: %q", l)
	}
	const echoes = 300
	lines = lines[:0]
	for i := range echoes {
		lines = append(lines, fmt.Sprintf("echo /log/queen.log bounds-echo-%03d", i))
	}
	echoBusy := c.burst(lines, func(int) string { return "ECHO" }, func(string) bool { return false })
	peak = max(peak, bndRSS(t, pid))

	// The echoes that ran are in the log, in request order.
	log := bndProc(t, rt, "/log/queen.log")
	last, ran := -1, 0
	for _, l := range strings.Split(log, "\n") {
		if n, ok := strings.CutPrefix(l, "bounds-echo-"); ok {
			i, _ := strconv.Atoi(n)
			if i <= last {
				t.Errorf("echo %d logged after %d", i, last)
			}
			last = i
			ran++
		}
	}
	if ran != echoes-echoBusy && ran < generated.QueenLogRingLines {
		t.Errorf("%d echoes in the log; %d were acknowledged OK", ran, echoes-echoBusy)
	}

	bp := strings.TrimSpace(bndProc(t, rt, "/proc/ingest/backpressure"))
	dropped := strings.TrimSpace(bndProc(t, rt, "/proc/ingest/dropped"))
	t.Logf("busy: %d of %d pings, %d of %d echoes; /proc/ingest %s %s", pingBusy, pings, echoBusy, echoes, bp, dropped)
	if want := fmt.Sprintf("backpressure=%d", warmBusy+pingBusy+echoBusy); bp != want || dropped != "dropped=0" {
		t.Errorf("/proc/ingest: %q %q; want %q and dropped=0", bp, dropped, want)
	}

	c.nc.Close()
	if r := do(t, honest, "ping"); r.Ack.Status() != "OK" {
		t.Errorf("honest ping after the burst: %+v", r.Ack)
	}
	after, waited := bndSettled(t, pid, start)
	t.Logf("RSS: start %d KiB, peak %d KiB, %s after close %d KiB (budget %d KiB)", start>>10, peak>>10, waited, after>>10, generated.QueenMemoryBudgetBytes>>10)
	if peak > generated.QueenMemoryBudgetBytes {
		t.Errorf("RSS %d bytes over queen.memory_budget_bytes %d", peak, generated.QueenMemoryBudgetBytes)
	}
}

// TestHostileBoundsForgedLogLine: a worker's walk name and a console path
// carrying CR LF and an ESC sequence are refused as invalid names, the
// refusal is audited with the name escaped, and /log/queen.log holds no
// forged line and no raw control character.
func TestHostileBoundsForgedLogLine(t *testing.T) {
	rt := startRootTask(t, binaries(t), false)
	q := rt.console(t)
	if r := do(t, q, "attach queen"); r.Ack.Status() != "OK" {
		t.Fatalf("attach: %+v", r.Ack)
	}
	if r := do(t, q, `spawn {"spawn":"heartbeat","ticks":1000}`); r.Ack.Status() != "OK" {
		t.Fatalf("spawn: %+v", r.Ack)
	}
	wtok, err := nineclient.Mint(ticket.RoleWorkerHeartbeat, "worker-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	w := bndDial9P(t, "127.0.0.2", rt.NinePAddr)
	if e := w.attach(0, wtok); e != 0 {
		t.Fatalf("worker attach: errno %d", e)
	}
	forged9P := "x\r\nattach accepted role=queen forged=9p"
	for i, name := range []string{forged9P, "y\r\x1b[2Kattach accepted role=queen forged=esc"} {
		if e := w.walk(0, uint32(i+1), name); e != bndEINVAL {
			t.Errorf("walk %q: errno %d; want EINVAL", name, e)
		}
	}

	c := bndDialConsole(t, "127.0.0.2", rt)
	c.send("cat /log/x\r\nattach accepted role=queen forged=console")
	if l := c.next(); l != "ERR PARSE reason=policy detail=invalid value for argument path" {
		t.Errorf("console path with CR LF: %q", l)
	}

	log := bndProc(t, rt, "/log/queen.log")
	if strings.ContainsAny(log, "\r\x1b") {
		t.Errorf("/log/queen.log holds a raw control character:\n%q", log)
	}
	for _, l := range strings.Split(log, "\n") {
		if strings.HasPrefix(l, "attach accepted role=queen forged") {
			t.Errorf("forged line in /log/queen.log: %q", l)
		}
	}
	if want := `name=x\r\nattach accepted role=queen forged=9p`; !strings.Contains(log, want) {
		t.Errorf("/log/queen.log lacks the escaped refusal %q:\n%s", want, log)
	}
	if r := do(t, q, "ping"); r.Ack.Status() != "OK" {
		t.Errorf("honest ping: %+v", r.Ack)
	}
}
