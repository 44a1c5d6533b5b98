package tests

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hugelgupf/p9/linux"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/nineclient"
	"github.com/cohesix/cohesix/internal/ticket"
)

// Issue 12, bounded per-session resources (findings 4, 7, 8): fids per
// Secure9P connection, in-flight console requests per connection, newfid
// in use, and names that cannot forge a log line. The attacker dials from
// 127.0.0.2; the honest operator on 127.0.0.1 must be served meanwhile.

// bndSettled is the RSS of pid once it is back within 10% of base, or
// after COHESIX_BOUNDS_SETTLE_S seconds (0 or unset: read it at once).
// The Go runtime returns freed memory to the system only after a GC, which
// an idle process runs every two minutes, so the benchmark run sets it
// (docs/BENCHMARKS.md) and the test battery does not wait.
// bndReturned fails the test when, with COHESIX_BOUNDS_SETTLE_S set,
// memory did not come back within 10% of its start after the close (the
// issue's figure for the console burst; without a settle time the
// battery only logs it).
func bndReturned(t *testing.T, start, after int64) {
	t.Helper()
	if os.Getenv("COHESIX_BOUNDS_SETTLE_S") != "" && after > start+start/10 {
		t.Errorf("anonymous RSS %d KiB after close; want within 10%% of its start %d KiB", after>>10, start>>10)
	}
}

func bndSettled(t *testing.T, pid int, base int64) (rss int64, waited time.Duration) {
	t.Helper()
	limit, _ := strconv.Atoi(os.Getenv("COHESIX_BOUNDS_SETTLE_S"))
	start := time.Now()
	for {
		rss = anonRSS(t, pid)
		if rss <= base+base/10 || time.Since(start) >= time.Duration(limit)*time.Second {
			return rss, time.Since(start).Round(time.Second)
		}
		time.Sleep(time.Second)
	}
}

// fidFlood walks c's root to attempts new fids without a clunk, a tag
// window at a time, and counts the walks made and refused EMFILE; midway
// it calls honest (if set), the operator beside the attacker.
func fidFlood(t *testing.T, c *raw9P, attempts int, honest func()) (ok, emfile int) {
	t.Helper()
	window := generated.Secure9pTagsPerSession / 2 // stay inside the tag window
	for sent := 0; sent < attempts; {
		n := min(window, attempts-sent)
		frames := make([][]byte, n)
		for i := range n {
			frames[i] = p9Frame(p9Twalk, uint16(i), uint32(0), uint32(sent+i+1), uint16(1), "proc")
		}
		if err := c.send(frames...); err != nil {
			t.Fatal(err)
		}
		for range n {
			switch e := c.reply(p9Twalk); e {
			case 0:
				ok++
			case linux.EMFILE:
				emfile++
			default:
				t.Fatalf("walk: errno %d", e)
			}
		}
		sent += n
		if sent == attempts/2 && honest != nil {
			honest()
		}
	}
	return ok, emfile
}

// TestHostileBoundsFidCap: 100k walks to new fids without a clunk on one
// raw connection are served up to secure9p.fids_per_session and refused
// with EMFILE after that, the server's memory stays within the manifest's
// budget, and an honest client is served meanwhile.
func TestHostileBoundsFidCap(t *testing.T) {
	rt := startRootTask(t, binaries(t), false)
	pid := rt.cmd.Process.Pid
	const attempts = 100_000
	// The baseline is a hive in its steady state: one identical flood
	// from another address first, so that the bounded rings its lines go
	// to and the runtime's caches have their working size, and what stays
	// after the measured flood is what that flood kept.
	warm := dial9PFrom(t, "127.0.0.3", rt.NinePAddr)
	if e := warm.attach(0, queenTicketNow(t)); e != 0 {
		t.Fatalf("warm attach: errno %d", e)
	}
	fidFlood(t, warm, attempts, nil)
	warm.nc.Close()
	operator9P(t, rt)
	start, _ := bndSettled(t, pid, 0)
	c := dial9PFrom(t, "127.0.0.2", rt.NinePAddr)
	if e := c.attach(0, queenTicketNow(t)); e != 0 {
		t.Fatalf("attach: errno %d", e)
	}
	ok, emfile := fidFlood(t, c, attempts, func() { operator9P(t, rt) })
	if want := generated.Secure9pFidsPerSession - 1; ok != want || emfile != attempts-want {
		t.Errorf("walks: %d made, %d EMFILE; want %d made (the attach holds one fid), %d EMFILE", ok, emfile, want, attempts-want)
	}
	peak := anonRSS(t, pid)
	operator9P(t, rt)
	c.nc.Close()
	// The server lets the connection go; a new connection after it proves
	// the close was handled before RSS is read again.
	operator9P(t, rt)
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
	c := dial9PFrom(t, "127.0.0.2", rt.NinePAddr)
	tok := queenTicketNow(t)
	if e := c.attach(0, tok); e != 0 {
		t.Fatalf("attach: errno %d", e)
	}
	if e := c.walk(0, 1, "proc"); e != 0 {
		t.Fatalf("walk /proc: errno %d", e)
	}
	if e := c.walk(0, 1, "log"); e != linux.EBUSY {
		t.Errorf("walk onto live newfid: errno %d; want EBUSY", e)
	}
	if e := c.attach(1, tok); e != linux.EBUSY {
		t.Errorf("attach onto live fid: errno %d; want EBUSY", e)
	}
	// Fid 1 still names /proc: boot is found under it.
	if e := c.walk(1, 2, "boot"); e != 0 {
		t.Errorf("walk /proc/boot from fid 1: errno %d; the refused walk replaced fid 1", e)
	}
	if e := c.call(p9Tclunk, uint32(1)); e != 0 {
		t.Fatalf("clunk: errno %d", e)
	}
	if e := c.walk(0, 1, "log"); e != 0 {
		t.Errorf("walk reusing a clunked fid: errno %d; want 0 (DECISIONS P1)", e)
	}
	operator9P(t, rt)
}

// burst writes lines back to back from another goroutine and reads one
// reply per line (skipping payload lines that precede an ACK), checking
// each ACK names the verb of its request in order. It returns how many
// were refused busy.
func (c *rawConsole) burst(lines []string, label func(i int) string, payload func(l string) bool) (busy int) {
	c.t.Helper()
	werr := make(chan error, 1)
	go func() {
		var b []byte
		for _, l := range lines {
			b = console.AppendFrame(b, l)
		}
		werr <- c.writeRaw(b)
	}()
	for i := 0; i < len(lines); {
		l := c.recv()
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
	c, err := nineclient.Dial(rt.NinePAddr, queenTicketNow(t), 5*time.Second)
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
	// Steady state first, as for the fids: one identical burst from
	// another address.
	warm := authedConsoleFrom(t, "127.0.0.3", rt.ConsoleAddr)
	warmLines := make([]string, 10_000)
	for i := range warmLines {
		warmLines[i] = "ping"
	}
	warmBusy := warm.burst(warmLines, func(int) string { return "PING" }, func(l string) bool { return l == console.PingReply })
	warm.nc.Close()
	start, _ := bndSettled(t, pid, 0)
	c := authedConsoleFrom(t, "127.0.0.2", rt.ConsoleAddr)

	const pings = 10_000
	lines := make([]string, pings)
	for i := range lines {
		lines[i] = "ping"
	}
	pingBusy := c.burst(lines, func(int) string { return "PING" }, func(l string) bool { return l == console.PingReply })
	peak := anonRSS(t, pid)

	if r := do(t, honest, "ping"); r.Ack.Status() != "OK" {
		t.Errorf("honest ping: %+v", r.Ack)
	}

	c.send("attach queen")
	if l := c.recv(); l != "OK ATTACH role=queen" {
		t.Fatalf("attach: %q", l)
	}
	const echoes = 300
	lines = lines[:0]
	for i := range echoes {
		lines = append(lines, fmt.Sprintf("echo /log/queen.log bounds-echo-%03d", i))
	}
	echoBusy := c.burst(lines, func(int) string { return "ECHO" }, func(string) bool { return false })
	peak = max(peak, anonRSS(t, pid))

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
	bndReturned(t, start, after)
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
	wtok := mintTicket(t, ticket.Claims{Role: ticket.RoleWorkerHeartbeat, Subject: "worker-1", IssuedAtMs: uint64(time.Now().UnixMilli())})
	w := dial9PFrom(t, "127.0.0.2", rt.NinePAddr)
	if e := w.attach(0, wtok); e != 0 {
		t.Fatalf("worker attach: errno %d", e)
	}
	forged9P := "x\r\nattach accepted role=queen forged=9p"
	for i, name := range []string{forged9P, "y\r\x1b[2Kattach accepted role=queen forged=esc"} {
		if e := w.walk(0, uint32(i+1), name); e != linux.EINVAL {
			t.Errorf("walk %q: errno %d; want EINVAL", name, e)
		}
	}

	c := authedConsoleFrom(t, "127.0.0.2", rt.ConsoleAddr)
	c.send("cat /log/x\r\nattach accepted role=queen forged=console")
	if l := c.recv(); l != "ERR PARSE reason=policy detail=invalid value for argument path" {
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
