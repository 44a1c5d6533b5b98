package tests

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// sel4SerialScript is the serial console regression pack the seL4 payload
// must answer exactly as the hosted root task does (ACK lines only: the
// banner, listen addresses and log bodies legitimately differ).
const sel4SerialScript = `attach queen
help
ping
cat /proc/boot
log
spawn {"spawn":"heartbeat","ticks":5}
quit
`

// qemuAarch64 finds Debian's user-mode emulator (package qemu-user).
// Outside CI a missing emulator skips the test; in CI it fails it.
func qemuAarch64(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"qemu-aarch64", "qemu-aarch64-static"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "" {
		t.Skip("qemu-aarch64 not installed (apt-get install -y qemu-user)")
	}
	t.Fatal("qemu-aarch64 not installed; CI needs package qemu-user")
	return ""
}

var (
	sel4BuildOnce sync.Once
	sel4HostBin   string
	sel4ArmBin    string
	sel4BuildErr  error
	sel4BuildLog  []byte
)

// buildSel4Pair builds the hosted root task for this machine and the
// linux/arm64 payload with the seL4 overlay (MOVD R8, R7 before each SVC),
// once per test binary.
func buildSel4Pair(t *testing.T) (host, arm string) {
	t.Helper()
	sel4BuildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cohesix-sel4-user-")
		if err != nil {
			sel4BuildErr = err
			return
		}
		root, _ := filepath.Abs("..")
		run := func(env []string, args ...string) error {
			cmd := exec.Command("go", args...)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), env...)
			out, err := cmd.CombinedOutput()
			sel4BuildLog = append(sel4BuildLog, out...)
			return err
		}
		sel4HostBin = filepath.Join(dir, "roottask-host")
		sel4ArmBin = filepath.Join(dir, "roottask-arm64")
		overlay := filepath.Join(dir, "overlay")
		if sel4BuildErr = run(nil, "build", "-o", sel4HostBin, "./roottask"); sel4BuildErr != nil {
			return
		}
		if sel4BuildErr = run(nil, "run", "./sel4/tools/sel4overlay", "-out", overlay, "./roottask"); sel4BuildErr != nil {
			return
		}
		sel4BuildErr = run([]string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0"},
			"build", "-trimpath", "-overlay", filepath.Join(overlay, "overlay.json"), "-o", sel4ArmBin, "./roottask")
	})
	if sel4BuildErr != nil {
		t.Fatalf("build: %v\n%s", sel4BuildErr, sel4BuildLog)
	}
	return sel4HostBin, sel4ArmBin
}

// serialAcks runs a root task with the script on its serial console and
// returns the ACK lines (OK..., ERR..., END) in order, prompts stripped.
func serialAcks(t *testing.T, argv []string, script string, timeout time.Duration) []string {
	t.Helper()
	args := append(argv[1:], "--serial", "stdio", "--console-listen", "127.0.0.1:0", "--secure9p-listen", "127.0.0.1:0")
	cmd := exec.Command(argv[0], args...)
	cmd.Env = append(os.Environ(), "GODEBUG=asyncpreemptoff=1")
	cmd.Stdin = strings.NewReader(script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	type result struct {
		acks []string
		all  string
	}
	done := make(chan result, 1)
	go func() {
		var r result
		var all strings.Builder
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			all.WriteString(line + "\n")
			for strings.HasPrefix(line, "cohesix> ") {
				line = strings.TrimPrefix(line, "cohesix> ")
			}
			if strings.HasPrefix(line, "OK") || strings.HasPrefix(line, "ERR") || line == "END" {
				r.acks = append(r.acks, line)
				if strings.HasPrefix(line, "OK QUIT") {
					break
				}
			}
		}
		r.all = all.String()
		done <- r
		_, _ = io.Copy(io.Discard, stdout)
	}()
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	select {
	case r := <-done:
		if len(r.acks) == 0 || !strings.HasPrefix(r.acks[len(r.acks)-1], "OK QUIT") {
			t.Fatalf("%s: no OK QUIT\nstdout:\n%s\nstderr:\n%s", argv[0], r.all, stderr.String())
		}
		return r.acks
	case <-time.After(timeout):
		t.Fatalf("%s: timed out after %v\nstderr:\n%s", argv[0], timeout, stderr.String())
	}
	return nil
}

// TestSel4PayloadUnderQemuUser runs the overlay-built linux/arm64 root task
// (the payload the seL4 shim embeds) under qemu-aarch64 and checks that the
// serial console gives the same ACK lines as the hosted root task.
func TestSel4PayloadUnderQemuUser(t *testing.T) {
	qemu := qemuAarch64(t)
	if testing.Short() {
		t.Skip("builds two root tasks; skipped with -short")
	}
	host, arm := buildSel4Pair(t)
	want := serialAcks(t, []string{host}, sel4SerialScript, 30*time.Second)
	got := serialAcks(t, []string{qemu, arm}, sel4SerialScript, 120*time.Second)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ACK lines differ\nqemu-aarch64:\n%s\nhosted:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, w := range []string{"OK ATTACH role=queen", "OK PING reply=pong", "OK SPAWN"} {
		found := false
		for _, a := range got {
			found = found || strings.HasPrefix(a, w)
		}
		if !found {
			t.Errorf("missing %q in %q", w, got)
		}
	}
}
