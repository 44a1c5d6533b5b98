package tests

import (
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hugelgupf/p9/linux"
	"github.com/hugelgupf/p9/p9"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/client"
)

// cat returns the content lines of one cat.
func cat(t *testing.T, c *client.Conn, path string) []string {
	t.Helper()
	r := do(t, c, "cat "+path)
	if !r.Ack.OK {
		t.Fatalf("cat %s = %q; want OK", path, r.AckLine())
	}
	return r.Lines
}

// catLine returns the single line of a one-line /proc file.
func catLine(t *testing.T, c *client.Conn, path string) string {
	t.Helper()
	lines := cat(t, c, path)
	if len(lines) != 1 {
		t.Fatalf("cat %s = %q; want one line", path, lines)
	}
	return lines[0]
}

// expectAck sends line and checks the ACK line exactly.
func expectAck(t *testing.T, c *client.Conn, line, want string) {
	t.Helper()
	if got := do(t, c, line).AckLine(); got != want {
		t.Fatalf("%s = %q; want %q", line, got, want)
	}
}

// logSince returns the queen.log lines after the first n.
func logLines(t *testing.T, c *client.Conn) []string {
	t.Helper()
	r := do(t, c, "log")
	if !r.Ack.OK {
		t.Fatalf("log = %q", r.AckLine())
	}
	return r.Lines
}

// withoutPeer is a log line without the transport and remote fields
// (DECISIONS P42), which differ from run to run.
func withoutPeer(l string) string {
	if i := strings.Index(l, " transport="); i >= 0 {
		return l[:i]
	}
	return l
}

func mint(t *testing.T, bin, role, subject string) string {
	t.Helper()
	args := []string{"--mint-ticket", "--role", role}
	if subject != "" {
		args = append(args, "--ticket-subject", subject)
	}
	tok, err := cohsh(t, bin, args...)
	if err != nil {
		t.Fatalf("cohsh --mint-ticket: %v\n%s", err, tok)
	}
	return strings.TrimSpace(tok)
}

// TestLifecycle drives every lifecycle command through /queen/lifecycle/ctl
// on the console: transitions, invalid commands and transitions, the
// outstanding-leases precondition, the new-work and worker-attach gates on
// the console and over 9P, and the exact audit lines (roles-tickets §7).
func TestLifecycle(t *testing.T) {
	bin := binaries(t)
	rt := startRootTask(t, bin, false)
	q := rt.console(t)
	expectAck(t, q, "attach queen", "OK ATTACH role=queen")
	if got := catLine(t, q, "/proc/lifecycle/state"); got != "state=ONLINE" {
		t.Fatalf("boot state %q; want state=ONLINE", got)
	}
	if got := catLine(t, q, "/proc/lifecycle/reason"); got != "reason=boot-complete" {
		t.Fatalf("boot reason %q; want reason=boot-complete", got)
	}
	expectAck(t, q, `spawn {"spawn":"heartbeat","ticks":100000}`, `OK SPAWN payload={"spawn":"heartbeat","ticks":100000}`)
	workerTicket := mint(t, bin, "worker-heartbeat", "worker-1")
	queenTicket := mint(t, bin, "queen", "")
	const ctl = "echo /queen/lifecycle/ctl "
	const invalid = "ERR ECHO reason=policy detail=invalid-payload path=/queen/lifecycle/ctl error=invalid payload"
	const denied = "ERR ECHO reason=policy detail=denied path=/queen/lifecycle/ctl error=EPERM"

	// A worker may not drive the lifecycle.
	w3 := rt.console(t)
	expectAck(t, w3, "attach worker "+mint(t, bin, "worker-heartbeat", "worker-2"), "OK ATTACH role=worker-heartbeat")
	expectAck(t, w3, ctl+"resume", "ERR ECHO reason=policy detail=denied path=/queen/lifecycle/ctl error=EPERM")
	expectAck(t, q, ctl+"resume", invalid) // ONLINE → ONLINE
	expectAck(t, q, ctl+"drain", invalid)  // only from DRAINING
	expectAck(t, q, ctl+"reboot", invalid) // no such command
	expectAck(t, q, ctl+"quiesce", denied) // a live worker
	expectAck(t, q, ctl+"CORDON", "OK ECHO path=/queen/lifecycle/ctl bytes=6")
	if got := catLine(t, q, "/proc/lifecycle/state"); got != "state=DRAINING" {
		t.Fatalf("after cordon %q; want state=DRAINING", got)
	}
	if got := catLine(t, q, "/proc/lifecycle/reason"); got != "reason=cordon" {
		t.Fatalf("after cordon %q; want reason=cordon", got)
	}
	// DRAINING: no new work; worker attach and telemetry still allowed.
	expectAck(t, q, `spawn {"spawn":"heartbeat","ticks":1}`, "ERR SPAWN reason=policy detail=denied path=/queen/ctl error=EPERM")
	expectAck(t, q, `echo /queen/ctl {"bind":{"from":"/log","to":"/l"}}`, "ERR ECHO reason=policy detail=denied path=/queen/ctl error=EPERM")
	w := rt.console(t)
	expectAck(t, w, "attach worker "+workerTicket, "OK ATTACH role=worker-heartbeat")
	root := attach9P(t, rt.NinePAddr, workerTicket)
	appendFile(t, root, []string{"worker", "worker-1", "telemetry"}, "draining-ok\n", nil)
	expectAck(t, q, ctl+"drain", denied)
	expectAck(t, q, "kill worker-1", "OK KILL id=worker-1")
	expectAck(t, q, ctl+"drain", "OK ECHO path=/queen/lifecycle/ctl bytes=5")
	// QUIESCED: workers may not attach, on the console or over 9P.
	w2 := rt.console(t)
	expectAck(t, w2, "attach worker "+workerTicket, "ERR ATTACH reason=policy detail=lifecycle-denied state=QUIESCED")
	qroot := attach9P(t, rt.NinePAddr, queenTicket)
	appendFile(t, qroot, []string{"queen", "ctl"}, `{"spawn":"heartbeat","ticks":1}`+"\n", linux.EPERM)
	appendFile(t, qroot, []string{"queen", "lifecycle", "ctl"}, "cordon\n", linux.EINVAL)
	expectAck(t, q, ctl+"reset", "OK ECHO path=/queen/lifecycle/ctl bytes=5")
	expectAck(t, q, ctl+"reset", invalid)
	appendFile(t, qroot, []string{"queen", "lifecycle", "ctl"}, "resume\n", nil)
	if got := catLine(t, q, "/proc/lifecycle/state"); got != "state=ONLINE" {
		t.Fatalf("after resume %q; want state=ONLINE", got)
	}
	expectAck(t, q, `spawn {"spawn":"heartbeat","ticks":100000}`, `OK SPAWN payload={"spawn":"heartbeat","ticks":100000}`)
	appendFile(t, qroot, []string{"queen", "lifecycle", "ctl"}, "quiesce\n", linux.EBUSY)

	want := []string{
		"lifecycle denied action=resume state=ONLINE reason=invalid-transition",
		"lifecycle denied action=drain state=ONLINE reason=invalid-transition",
		"lifecycle denied action=reboot state=ONLINE reason=invalid-command",
		"lifecycle denied action=quiesce state=ONLINE reason=outstanding-leases leases=1",
		"lifecycle transition old=ONLINE new=DRAINING reason=cordon",
		"lifecycle denied action=new-work state=DRAINING reason=gate-denied",
		"lifecycle denied action=new-work state=DRAINING reason=gate-denied",
		"lifecycle denied action=drain state=DRAINING reason=outstanding-leases leases=1",
		"lifecycle transition old=DRAINING new=QUIESCED reason=drain",
		"lifecycle denied action=worker-attach state=QUIESCED reason=gate-denied",
		"lifecycle denied action=new-work state=QUIESCED reason=gate-denied",
		"lifecycle denied action=cordon state=QUIESCED reason=invalid-transition",
		"lifecycle transition old=QUIESCED new=BOOTING reason=reset",
		"lifecycle denied action=reset state=BOOTING reason=invalid-transition",
		"lifecycle transition old=BOOTING new=ONLINE reason=resume",
		"lifecycle denied action=quiesce state=ONLINE reason=outstanding-leases leases=1",
	}
	var got []string
	for _, l := range logLines(t, q) {
		if strings.HasPrefix(l, "lifecycle ") {
			got = append(got, withoutPeer(l))
		}
	}
	got = got[1:] // boot-complete
	if !slices.Equal(got, want) {
		t.Errorf("lifecycle audit lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func counters(t *testing.T, c *client.Conn) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	for _, name := range []string{"busy", "quota", "cut", "policy"} {
		line := catLine(t, c, "/proc/pressure/"+name)
		v, err := strconv.ParseUint(strings.TrimPrefix(line, name+"="), 10, 64)
		if err != nil {
			t.Fatalf("/proc/pressure/%s = %q", name, line)
		}
		out[name] = v
	}
	return out
}

// TestPressureAndRootCut provokes N refusals of each reason and reads
// exactly N more in /proc/pressure; it cuts the root by dropping the queen's
// connection and checks /proc/root and the cut refusals (roadmap 21e).
func TestPressureAndRootCut(t *testing.T) {
	bin := binaries(t)
	rt := startRootTask(t, bin, false)
	obs := rt.console(t) // observes as the queen after the cut
	q := rt.console(t)
	expectAck(t, q, "attach queen", "OK ATTACH role=queen")
	for _, want := range []string{"reachable=yes", "cut_reason=none"} {
		path := "/proc/root/" + strings.SplitN(want, "=", 2)[0]
		if got := catLine(t, q, path); got != want {
			t.Fatalf("%s = %q; want %q", path, got, want)
		}
	}
	for range 8 {
		expectAck(t, q, `spawn {"spawn":"heartbeat","ticks":100000}`, `OK SPAWN payload={"spawn":"heartbeat","ticks":100000}`)
	}
	qroot, qclose := attach9PConn(t, rt.NinePAddr, mint(t, bin, "queen", ""))
	before := counters(t, q)
	const n = 3
	for range n {
		expectAck(t, q, `spawn {"spawn":"heartbeat","ticks":1}`, "ERR SPAWN reason=quota detail=buffer-full path=/queen/ctl error=buffer full")
		expectAck(t, q, "cat /proc/nope", "ERR CAT reason=policy detail=invalid-path path=/proc/nope error=invalid path")
		// Console busy: no GPU namespace is published.
		expectAck(t, q, `spawn {"spawn":"gpu","lease":{"gpu_id":"GPU-0","mem_mb":1,"streams":1,"ttl_s":1}}`, "ERR SPAWN reason=busy detail=busy path=/queen/ctl error=EBUSY")
		// 9P Busy: quiesce with outstanding leases.
		appendFile(t, qroot, []string{"queen", "lifecycle", "ctl"}, "quiesce\n", linux.EBUSY)
		// 9P quota and policy refusals are not console refusals: they
		// do not count (spec namespace §2, DECISIONS P27).
		appendFile(t, qroot, []string{"queen", "ctl"}, `{"spawn":"heartbeat","ticks":1}`+"\n", linux.EDQUOT)
		appendFile(t, qroot, []string{"proc", "boot"}, "x\n", linux.EPERM)
	}
	after := counters(t, q)
	// Every console refusal counts under its reason=, and 9P Busy too:
	// busy is n console + n 9P.
	for name, want := range map[string]uint64{"busy": 2 * n, "quota": n, "cut": 0, "policy": n} {
		if d := after[name] - before[name]; d != want {
			t.Errorf("/proc/pressure/%s grew by %d; want %d", name, d, want)
		}
	}

	// Cut: the queen's sessions end without quit (eof).
	w := rt.console(t)
	expectAck(t, w, "attach worker "+mint(t, bin, "worker-heartbeat", "worker-1"), "OK ATTACH role=worker-heartbeat")
	wroot, wclose := attach9PConn(t, rt.NinePAddr, mint(t, bin, "worker-heartbeat", "worker-1"))
	defer wclose()
	q.Close()
	qclose()
	// The server notices the closed connections on its own; poll as an
	// operator would until the worker's writes are refused as cut.
	cuts := 0
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if do(t, w, "echo /log/queen.log x").AckLine() == "ERR ECHO reason=cut detail=root-unreachable" {
			cuts++
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if cuts == 0 {
		t.Fatal("the root was not cut after the queen's connections closed")
	}
	for range n {
		expectAck(t, w, "echo /log/queen.log x", "ERR ECHO reason=cut detail=root-unreachable")
		cuts++
	}
	appendFile(t, wroot, []string{"worker", "worker-1", "telemetry"}, "cut\n", linux.EHOSTUNREACH)
	tail := do(t, w, "tail /log/queen.log")
	if !slices.Contains(tail.Lines, "root reachable=no cut_reason=network_unreachable") {
		t.Errorf("log lacks the cut: %q", tail.Lines)
	}
	if !containsPrefix(tail.Lines, "worker command denied: root unreachable role=worker-heartbeat subject=worker-1") {
		t.Errorf("log lacks the cut refusal")
	}
	cutBefore := after["cut"]
	expectAck(t, obs, "attach queen", "OK ATTACH role=queen")
	if got := catLine(t, obs, "/proc/root/reachable"); got != "reachable=yes" {
		t.Errorf("after a queen attach /proc/root/reachable = %q; want reachable=yes", got)
	}
	if got := counters(t, obs)["cut"] - cutBefore; got != uint64(cuts) {
		t.Errorf("/proc/pressure/cut grew by %d; want %d", got, cuts)
	}
	appendFile(t, wroot, []string{"worker", "worker-1", "telemetry"}, "back\n", nil)
	// A clean quit is not a cut.
	expectAck(t, obs, "quit", "OK QUIT")
	expectAck(t, w, "echo /log/queen.log x", "ERR ECHO reason=policy detail=denied path=/log/queen.log error=EPERM")
}

// attach9PConn attaches over 9P and returns the root and a close function
// for the connection.
func attach9PConn(t *testing.T, addr, ticket string) (p9.File, func()) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := p9.NewClient(nc, p9.WithMessageSize(generated.Secure9pMsize))
	if err != nil {
		t.Fatalf("9P version: %v", err)
	}
	root, err := c.Attach(ticket)
	if err != nil {
		t.Fatalf("9P attach: %v", err)
	}
	return root, func() { c.Close() }
}
