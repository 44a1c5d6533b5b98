package tests

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/ticket"
)

// TestLinuxKernelMount mounts the hosted root task's Secure9P namespace
// with the stock Linux kernel 9P client (v9fs), booted in QEMU by the
// shared v9fs-check tool: mount, ls, cat /proc/boot, and a shell-style
// truncate-then-write of a spawn command into /queen/ctl.
func TestLinuxKernelMount(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a Linux guest")
	}
	tool := filepath.Join(repoRoot(), "..", "shared", "tools", "v9fs-check", "v9fs-check")
	_, toolErr := os.Stat(tool)
	_, qemuErr := exec.LookPath("qemu-system-x86_64")
	if toolErr != nil || qemuErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("v9fs-check needs %s and qemu-system-x86_64 (apt-get install qemu-system-x86): %v %v", tool, toolErr, qemuErr)
		}
		t.Skip("v9fs-check or qemu-system-x86_64 not available")
	}
	rt := startRootTask(t, binaries(t, "roottask"), false)
	_, port, _ := net.SplitHostPort(rt.NinePAddr)
	var secret string
	for _, e := range generated.Tickets {
		if e.Role == "queen" {
			secret = e.Secret
		}
	}
	tok, err := ticket.Mint(ticket.Claims{Role: ticket.RoleQueen, IssuedAtMs: uint64(time.Now().UnixMilli())}, secret)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tool, "--port", port, "--aname", tok, "--uname", "queen", "--cat", "proc/boot",
		"--write", "queen/ctl", "--write-data", `{"spawn":"heartbeat","ticks":2}`, "--write-mode", "trunc", "--timeout", "240")
	out, err := cmd.CombinedOutput()
	t.Logf("v9fs-check:\n%s", out)
	if err != nil {
		t.Fatalf("v9fs-check: %v", err)
	}
	for _, want := range []string{"V9FS-MOUNT rc=0", "V9FS-CAT-END rc=0", "V9FS-WRITE rc=0", "Cohesix boot: root-task online"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("v9fs-check output lacks %q", want)
		}
	}
	// The write through the kernel reached the queen.
	q := rt.console(t)
	do(t, q, "attach queen")
	if r := do(t, q, "ls /worker"); len(r.Lines) != 1 || r.Lines[0] != "worker-1" {
		t.Errorf("ls /worker after the kernel's write to /queen/ctl = %q; want [worker-1]", r.Lines)
	}
}
