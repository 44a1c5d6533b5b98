package tests

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/gate"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/ticket"
	"github.com/cohesix/cohesix/internal/transport/secure9p"
)

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// diodTool finds one of Debian's diod client tools (package diod). Outside
// CI a missing tool skips the test; in CI it fails it.
func diodTool(t *testing.T, name string) string {
	t.Helper()
	for _, p := range []string{name, "/usr/sbin/" + name, "/usr/bin/" + name} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "" {
		t.Skipf("%s not installed (apt-get install -y diod)", name)
	}
	t.Fatalf("%s not installed; CI needs package diod", name)
	return ""
}

// TestNinepDiodClient drives the Secure9P server with an independent
// 9P2000.L client: diod's diodls and diodcat, with the queen ticket as
// aname and diod's default msize (65536, negotiated down to 8192).
func TestNinepDiodClient(t *testing.T) {
	diodls := diodTool(t, "diodls")
	diodcat := diodTool(t, "diodcat")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q := queen.New(queen.Default(), wallClock{}, 64)
	go q.Run(ctx, nil)
	boot := []byte("cohesix boot: diod end-to-end\n")
	ns := gate.New(q, gate.DefaultConfig(), boot, nil)
	srv := secure9p.NewServer(ns, secure9p.DefaultConfig(), nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	defer func() { cancel(); <-done }()
	for q.Snapshot().Lifecycle.State != "ONLINE" {
		time.Sleep(time.Millisecond)
	}

	tok, err := ticket.Mint(ticket.Claims{Role: ticket.RoleQueen, IssuedAtMs: uint64(time.Now().UnixMilli())}, "bootstrap")
	if err != nil {
		t.Fatal(err)
	}
	run := func(tool string, args ...string) string {
		t.Helper()
		args = append([]string{"-s", l.Addr().String(), "-a", tok, "-t", "10"}, args...)
		cctx, ccancel := context.WithTimeout(ctx, 20*time.Second)
		defer ccancel()
		out, err := exec.CommandContext(cctx, tool, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args[4:], " "), err, ticket.MaskToken(string(out)))
		}
		return string(out)
	}

	ls := strings.Fields(run(diodls, "/"))
	for _, want := range []string{"log", "proc", "queen", "shard", "worker"} {
		found := false
		for _, n := range ls {
			found = found || strings.TrimSuffix(n, "/") == want
		}
		if !found {
			t.Errorf("diodls / = %q; missing %q", ls, want)
		}
	}
	if got := run(diodcat, "/proc/boot"); got != string(boot) {
		t.Errorf("diodcat /proc/boot = %q; want %q", got, boot)
	}

	// A ticket is required: a forged MAC is refused and the server goes on.
	forged := tok[:len(tok)-4] + "0000"
	if forged == tok {
		forged = tok[:len(tok)-4] + "1111"
	}
	out, err := exec.CommandContext(ctx, diodcat, "-s", l.Addr().String(), "-a", forged, "-t", "10", "/proc/boot").CombinedOutput()
	if err == nil {
		t.Errorf("diodcat with a forged ticket succeeded: %q", out)
	}
	// The forged MAC holds this address back for the first back-off
	// (DECISIONS P7); once it has passed, the honest client is served.
	time.Sleep(time.Duration(generated.ConsoleAttachBackoffBaseMs+100) * time.Millisecond)
	if got := run(diodcat, "/proc/boot"); got != string(boot) {
		t.Errorf("after a refusal: diodcat /proc/boot = %q; want %q", got, boot)
	}
}
