package tests

import (
	"errors"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hugelgupf/p9/linux"
	"github.com/hugelgupf/p9/p9"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/client"
)

// TestSpine walks the spine's acceptance as an operator does: a hosted root
// task, a queen on the TCP console, a heartbeat worker whose telemetry grows,
// a worker ticket minted by cohsh attaching over 9P, and kill.
func TestSpine(t *testing.T) {
	bin := binaries(t)
	rt := startRootTask(t, bin, false)
	q := rt.console(t)

	if r := do(t, q, "attach queen"); r.AckLine() != "OK ATTACH role=queen" {
		t.Fatalf("attach queen = %q; want OK ATTACH role=queen", r.AckLine())
	}
	if r := do(t, q, `spawn {"spawn":"heartbeat","ticks":20}`); !r.Ack.OK {
		t.Fatalf("spawn = %q; want OK", r.AckLine())
	}

	// Telemetry grows while the worker has ticks left.
	first := telemetryLines(t, q, "/worker/worker-1/telemetry")
	deadline := time.Now().Add(10 * time.Second)
	var later []string
	for time.Now().Before(deadline) {
		later = telemetryLines(t, q, "/worker/worker-1/telemetry")
		if len(later) > len(first) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(later) <= len(first) {
		t.Fatalf("telemetry did not grow: %d lines then %d", len(first), len(later))
	}
	if !regexp.MustCompile(`^\{"tick":\d+,"ts_ms":\d+\}$`).MatchString(later[0]) {
		t.Errorf("telemetry line %q; want {\"tick\":N,\"ts_ms\":N}", later[0])
	}
	// The canonical shard path serves the same ring.
	if got := telemetryLines(t, q, "/shard/13/worker/worker-1/telemetry"); len(got) < len(later) {
		t.Errorf("shard path has %d lines; want at least %d", len(got), len(later))
	}

	// A worker ticket minted by cohsh attaches over 9P and writes only its
	// own telemetry.
	tok, err := cohsh(t, bin, "--mint-ticket", "--role", "worker-heartbeat", "--ticket-subject", "worker-1")
	if err != nil {
		t.Fatalf("cohsh --mint-ticket: %v\n%s", err, tok)
	}
	tok = strings.TrimSpace(tok)
	if !strings.HasPrefix(tok, "cohesix-ticket-") {
		t.Fatalf("minted ticket %q; want cohesix-ticket-...", tok)
	}
	do(t, q, `spawn {"spawn":"heartbeat","ticks":1}`) // worker-2, someone else's file
	root := attach9P(t, rt.NinePAddr, tok)
	appendFile(t, root, []string{"worker", "worker-1", "telemetry"}, "from-worker-1\n", nil)
	appendFile(t, root, []string{"worker", "worker-2", "telemetry"}, "intruder\n", linux.EPERM)
	appendFile(t, root, []string{"queen", "ctl"}, `{"kill":"worker-2"}`+"\n", linux.EPERM)
	if got := telemetryLines(t, q, "/worker/worker-1/telemetry"); !slices.Contains(got, "from-worker-1") {
		t.Errorf("worker-1 telemetry lacks the worker's own append: %q", got)
	}
	if got := telemetryLines(t, q, "/worker/worker-2/telemetry"); slices.Contains(got, "intruder") {
		t.Errorf("worker-2 telemetry has another worker's append: %q", got)
	}

	// kill removes the worker and its files.
	if r := do(t, q, "kill worker-1"); r.AckLine() != "OK KILL id=worker-1" {
		t.Fatalf("kill = %q", r.AckLine())
	}
	if r := do(t, q, "ls /worker"); slices.Contains(r.Lines, "worker-1") {
		t.Errorf("ls /worker after kill = %q; want no worker-1", r.Lines)
	}
	if r := do(t, q, "cat /worker/worker-1/telemetry"); r.AckLine() != "ERR CAT reason=policy detail=invalid-path path=/worker/worker-1/telemetry error=invalid path" {
		t.Errorf("cat after kill = %q", r.AckLine())
	}

	// The denials above are in the audit log.
	log := do(t, q, "log").Lines
	for _, want := range []string{
		"access denied role=worker-heartbeat subject=worker-1 path=/worker/worker-2 op=walk",
		"access denied role=worker-heartbeat subject=worker-1 path=/queen op=walk",
		"kill worker=worker-1",
	} {
		if !containsPrefix(log, want) {
			t.Errorf("log lacks %q; log:\n%s", want, strings.Join(log, "\n"))
		}
	}
}

// TestRefusalsAreAudited checks that console refusals give the spec's ERR
// line, bump /proc/pressure and write an audit line, and that the hive keeps
// serving.
func TestRefusalsAreAudited(t *testing.T) {
	bin := binaries(t, "roottask")
	rt := startRootTask(t, bin, false)
	c := rt.console(t)
	cases := []struct {
		line, ack, audit string
	}{
		{"log", "ERR LOG reason=policy detail=unauthenticated", "unauthenticated command verb=log"},
		{"frobnicate", "ERR PARSE reason=policy detail=unsupported console command", "console error: unsupported console command"},
		{"attach overlord", "ERR ATTACH reason=policy detail=invalid-role", "attach denied role=overlord reason=policy detail=invalid-role"},
		{"test", "ERR TEST reason=policy detail=host-only", "console: test refused host-only"},
	}
	for _, tc := range cases {
		if got := do(t, c, tc.line).AckLine(); got != tc.ack {
			t.Errorf("%q = %q; want %q", tc.line, got, tc.ack)
		}
	}
	time.Sleep(time.Duration(generated.ConsoleAttachBackoffBaseMs) * time.Millisecond)
	q := rt.console(t)
	if r := do(t, q, "attach queen"); !r.Ack.OK {
		t.Fatalf("attach queen after refusals = %q", r.AckLine())
	}
	for _, tc := range []struct{ line, ack string }{
		{"cat /nope", "ERR CAT reason=policy detail=invalid-path path=/nope error=invalid path"},
		{"tail /proc/boot", "ERR TAIL reason=policy detail=invalid-path path=/proc/boot"},
		{"echo /proc/boot hello", "ERR ECHO reason=policy detail=denied path=/proc/boot error=EPERM"},
		{`spawn {"spawn":"heartbeat"}`, "ERR SPAWN reason=policy detail=invalid-payload path=/queen/ctl error=invalid payload"},
		{"kill worker-9", "ERR KILL reason=policy detail=invalid-path path=/queen/ctl error=invalid path"},
	} {
		if got := do(t, q, tc.line).AckLine(); got != tc.ack {
			t.Errorf("%q = %q; want %q", tc.line, got, tc.ack)
		}
	}
	log := do(t, q, "log").Lines
	for _, tc := range cases {
		if !containsPrefix(log, tc.audit) {
			t.Errorf("log lacks %q", tc.audit)
		}
	}
	if r := do(t, q, "cat /proc/pressure/policy"); len(r.Lines) != 1 || r.Lines[0] == "policy=0" {
		t.Errorf("/proc/pressure/policy = %q; want a non-zero count", r.Lines)
	}
}

func containsPrefix(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

func telemetryLines(t *testing.T, c *client.Conn, path string) []string {
	t.Helper()
	r := do(t, c, "cat "+path)
	if !r.Ack.OK {
		t.Fatalf("cat %s = %q", path, r.AckLine())
	}
	return r.Lines
}

func attach9P(t *testing.T, addr, ticket string) p9.File {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := p9.NewClient(nc, p9.WithMessageSize(generated.Secure9pMsize))
	if err != nil {
		t.Fatalf("9P version: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	root, err := c.Attach(ticket)
	for wait := 300 * time.Millisecond; errors.Is(err, linux.EAGAIN) && wait < 3*time.Second; wait *= 2 {
		// An earlier refusal from this address holds it back (DECISIONS
		// P7); an honest client waits and tries again.
		time.Sleep(wait)
		root, err = c.Attach(ticket)
	}
	if err != nil {
		t.Fatalf("9P attach: %v", err)
	}
	return root
}

// appendFile walks to path, opens it for writing and writes data; wantErr
// is the errno expected at walk, open or write (nil for success).
func appendFile(t *testing.T, root p9.File, path []string, data string, wantErr error) {
	t.Helper()
	_, f, err := root.Walk(path)
	if err == nil {
		defer f.Close()
		_, _, err = f.Open(p9.WriteOnly)
	}
	if err == nil {
		_, err = f.WriteAt([]byte(data), 0)
	}
	if !errors.Is(err, wantErr) && !(err == nil && wantErr == nil) {
		t.Errorf("append %s = %v; want %v", filepath.Join(path...), err, wantErr)
	}
}
