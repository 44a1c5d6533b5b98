package tests

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/ticket"
)

// fuseReady says why a FUSE mount cannot run here ("" when it can). In
// CI (CI set, root, fuse3 installed by .ci/run) a missing prerequisite is
// a failure, not a skip.
func fuseReady() string {
	if os.Geteuid() != 0 {
		return "coh mount test needs root"
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return "coh mount test needs /dev/fuse (modprobe fuse; apt-get install fuse3): " + err.Error()
	}
	return ""
}

// cohMount runs `coh mount --at DIR` against rt as role and waits for its
// OK MOUNT line. The returned stop sends SIGINT and returns what coh
// printed and its exit error.
func cohMount(t *testing.T, bin string, rt *rootTask, role, subject string) (dir string, stop func() (string, error)) {
	t.Helper()
	dir = t.TempDir()
	cmd := exec.Command(filepath.Join(bin, "coh"), "--9p-port", port(rt.NinePAddr), "--role", role, "--subject", subject, "mount", "--at", dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var printed strings.Builder
	stopped := false
	stop = func() (string, error) {
		if stopped {
			return printed.String(), nil
		}
		stopped = true
		_ = cmd.Process.Signal(os.Interrupt)
		for l := range lines {
			printed.WriteString(l + "\n")
		}
		return printed.String(), cmd.Wait()
	}
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
		_ = syscall.Unmount(dir, syscall.MNT_DETACH) // only if coh failed to
	})
	select {
	case l, ok := <-lines:
		if !ok || !strings.HasPrefix(l, "OK MOUNT at="+dir) {
			_ = cmd.Wait()
			t.Fatalf("coh mount printed %q (closed=%v); stderr:\n%s", l, !ok, stderr.String())
		}
		printed.WriteString(l + "\n")
	case <-time.After(30 * time.Second):
		t.Fatalf("coh mount did not report the mount; stderr:\n%s", stderr.String())
	}
	return dir, stop
}

// sh runs one shell command line; a command that hangs (a write the
// namespace forbids must fail, not block) is killed and reported.
func sh(t *testing.T, line string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "sh", "-c", line).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("sh -c %q hung", line)
	}
	return string(out), err
}

// mustSh runs a shell command that must succeed.
func mustSh(t *testing.T, line string) string {
	t.Helper()
	out, err := sh(t, line)
	if err != nil {
		t.Fatalf("sh -c %q: %v\n%s", line, err, out)
	}
	return out
}

// TestCohMount mounts a hosted root task's namespace with `coh mount`
// (FUSE over Secure9P, queen ticket in the aname) and drives it with
// ordinary shell commands: ls shows exactly the allowlisted roots, cat
// reads rendered files, stat reports the sizes and modes 9P reports, a
// telemetry segment is created through ctl and appended with `echo >>`,
// a shell `>` into an append file is accepted as the namespace accepts
// it, every write the namespace forbids fails with EPERM instead of
// hanging, a worker mount is refused queen files, and SIGINT unmounts.
func TestCohMount(t *testing.T) {
	if why := fuseReady(); why != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run the FUSE test: %s", why)
		}
		t.Skip(why)
	}
	bin := binaries(t, "roottask", "cmd/coh")
	rt := startRootTask(t, bin, false)
	q := rt.nine(t, ticket.RoleQueen, "")
	m, stop := cohMount(t, bin, rt, "queen", "")

	// ls: the namespace's roots that the allowlist admits, nothing else.
	root, err := q.List("/")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, n := range root {
		if slices.Contains(generated.ClientPoliciesCohMountAllowlist, "/"+n) {
			want = append(want, n)
		}
	}
	sort.Strings(want)
	if got := strings.Fields(mustSh(t, "ls "+m)); !slices.Equal(got, want) {
		t.Errorf("ls %s = %q; want %q (allowlisted roots of %q)", m, got, want, root)
	}
	if out, err := sh(t, "ls "+m+"/trace"); err == nil {
		t.Errorf("ls of the unlisted /trace succeeded: %s", out)
	}

	// cat: the same bytes as a 9P read.
	boot, err := q.Read("/proc/boot", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustSh(t, "cat "+m+"/proc/boot"); got != string(boot) {
		t.Errorf("cat /proc/boot = %q; want %q", got, boot)
	}

	// The only create-like operation: a segment through the device's ctl.
	dev := m + "/queen/telemetry/edge-1"
	mustSh(t, `echo '{"new":"segment","mime":"text/plain"}' >> `+dev+"/ctl")
	if got := strings.Fields(mustSh(t, "ls "+dev+"/seg")); !slices.Equal(got, []string{"seg-000001"}) {
		t.Fatalf("ls seg after the ctl write = %q; want [seg-000001]", got)
	}
	if got := mustSh(t, "cat "+dev+"/latest"); got != "seg-000001\n" {
		t.Errorf("cat latest = %q; want seg-000001", got)
	}
	seg := dev + "/seg/seg-000001"
	mustSh(t, "echo hi >> "+seg)
	mustSh(t, "echo there >> "+seg)
	if got := mustSh(t, "cat "+seg); got != "hi\nthere\n" {
		t.Errorf("cat segment = %q; want two records", got)
	}
	nine, err := q.Read("/queen/telemetry/edge-1/seg/seg-000001", 0)
	if err != nil || string(nine) != "hi\nthere\n" {
		t.Errorf("9P read of the segment = %q, %v; want what the shell appended", nine, err)
	}

	// stat: sizes and modes exactly as 9P reports them.
	for _, p := range []string{"/queen/telemetry/edge-1/seg/seg-000001", "/proc/boot", "/queen/ctl", "/queen", "/queen/telemetry/edge-1/latest"} {
		st, err := q.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		kind := "regular file"
		switch {
		case st.Dir:
			kind = "directory"
		case st.Size == 0:
			kind = "regular empty file"
		}
		got := strings.TrimSpace(mustSh(t, "stat -c '%a|%F|%s' "+m+p))
		want := strconv.FormatUint(uint64(st.Mode), 8) + "|" + kind + "|" + strconv.FormatUint(st.Size, 10)
		if got != want {
			t.Errorf("stat %s = %q; want %q as 9P reports it", p, got, want)
		}
	}

	// A shell `>` on an append file: truncate to 0 (a no-op) then append.
	mustSh(t, `echo '{"spawn":"heartbeat","ticks":1000}' > `+m+"/queen/ctl")
	if got := strings.Fields(mustSh(t, "ls "+m+"/worker")); !slices.Equal(got, []string{"worker-1"}) {
		t.Fatalf("ls /worker after the spawn = %q; want [worker-1]", got)
	}
	mustSh(t, "echo hi >> "+m+"/worker/worker-1/telemetry")
	if got := mustSh(t, "cat "+m+"/worker/worker-1/telemetry"); !strings.Contains(got, "hi\n") {
		t.Errorf("cat worker telemetry = %q; want the appended record", got)
	}

	// Writes the namespace forbids: EPERM at the shell, no hang.
	for _, line := range []string{
		"echo x >> " + m + "/proc/boot",
		"echo x >> " + dev + "/latest",
		"echo x > " + seg + ".new",
		"touch " + m + "/queen/new",
		"mkdir " + m + "/queen/d",
		"rm " + m + "/queen/ctl",
		"mv " + m + "/queen/ctl " + m + "/queen/ctl2",
		"chmod 777 " + m + "/queen/ctl",
	} {
		out, err := sh(t, line)
		if err == nil || !strings.Contains(out, "Operation not permitted") {
			t.Errorf("sh -c %q = %v, %q; want EPERM (Operation not permitted)", line, err, out)
		}
	}
	// Over-quota records reach the shell as the hive's errno.
	if out, err := sh(t, "head -c 5000 /dev/zero | tr '\\0' x >> "+seg); err == nil || !strings.Contains(out, "quota") {
		t.Errorf("5000-byte record = %v, %q; want a quota error", err, out)
	}

	// A worker's mount: the queen's files are refused by the hive.
	w, stopW := cohMount(t, bin, rt, "worker-heartbeat", "worker-1")
	if out, err := sh(t, `echo '{"kill":"worker-1"}' >> `+w+"/queen/ctl"); err == nil || !strings.Contains(out, "Operation not permitted") && !strings.Contains(out, "Permission denied") {
		t.Errorf("worker write to /queen/ctl = %v, %q; want EPERM", err, out)
	}
	if _, err := stopW(); err != nil {
		t.Errorf("worker coh mount exit: %v", err)
	}

	// SIGINT: coh unmounts and exits 0.
	out, err := stop()
	if err != nil || !strings.Contains(out, "OK UNMOUNT at="+m) {
		t.Errorf("coh mount after SIGINT = %v:\n%s", err, out)
	}
	mounts, _ := os.ReadFile("/proc/self/mounts")
	if strings.Contains(string(mounts), " "+m+" ") {
		t.Errorf("%s is still mounted after SIGINT", m)
	}
	if got := mustSh(t, "ls -A "+m); got != "" {
		t.Errorf("ls of the unmounted dir = %q; want empty", got)
	}
}
