package tests

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/client"
	"github.com/cohesix/cohesix/internal/hive"
)

var (
	buildMu sync.Mutex
	binDir  string
	built   = map[string]error{}
)

// repoRoot is the module root, one level above tests/.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// binaries builds the named programs (default roottask and cohsh) once per
// test binary into one directory, as a user gets them from `make build`.
func binaries(t testing.TB, names ...string) string {
	t.Helper()
	if len(names) == 0 {
		names = []string{"roottask", "cmd/cohsh"}
	}
	// COHESIX_E2E_BIN names a directory of prebuilt programs, for running
	// the compiled test binary on a machine without Go (a benchmark host).
	if dir := os.Getenv("COHESIX_E2E_BIN"); dir != "" {
		return dir
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	if binDir == "" {
		d, err := os.MkdirTemp("", "cohesix-e2e-bin")
		if err != nil {
			t.Fatal(err)
		}
		binDir = d
	}
	for _, n := range names {
		err, done := built[n]
		if !done {
			cmd := exec.Command("go", "build", "-o", binDir+"/", "./"+n)
			cmd.Dir = repoRoot()
			if out, berr := cmd.CombinedOutput(); berr != nil {
				err = fmt.Errorf("go build ./%s: %v\n%s", n, berr, out)
			}
			built[n] = err
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return binDir
}

// rootTask is a running hosted root task.
type rootTask struct {
	ConsoleAddr string
	NinePAddr   string
	cmd         *exec.Cmd
	stdin       io.WriteCloser
	mu          sync.Mutex
	stdout      strings.Builder // guarded by mu
}

var listenLine = regexp.MustCompile(`^\[event\] (console|secure9p) listening tcp=(\S+)$`)

// startRootTask starts bin/roottask on loopback ports chosen by the kernel
// and waits for both listeners.
func startRootTask(t testing.TB, bin string, serial bool, env ...string) *rootTask {
	t.Helper()
	return startRootTaskArgs(t, bin, serial, nil, env...)
}

// startRootTaskProfile starts bin/roottask with --profile profile
// (hive.ProfileDev or hive.ProfileGoverned, DECISIONS P26): the hive a
// script's "# profile:" header asks for.
func startRootTaskProfile(t testing.TB, bin, profile string) *rootTask {
	t.Helper()
	args := []string{"--profile", profile}
	if profile == hive.ProfileGoverned {
		// The key the regression pack's CAS manifests are signed with.
		args = append(args, "--cas-root-key", filepath.Join(repoRoot(), "scripts/cohsh/fixtures/cas_root.key.pub"))
	}
	return startRootTaskArgs(t, bin, false, args)
}

// startRootTaskArgs is startRootTask with extra roottask flags (--state-dir,
// --profile).
func startRootTaskArgs(t testing.TB, bin string, serial bool, args []string, env ...string) *rootTask {
	t.Helper()
	mode := "none"
	if serial {
		mode = "stdio"
	}
	cmd := exec.Command(filepath.Join(bin, "roottask"), append([]string{"--console-listen", "127.0.0.1:0", "--secure9p-listen", "127.0.0.1:0", "--serial", mode}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	rt := &rootTask{cmd: cmd}
	var err error
	if rt.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		seen := 0
		for sc.Scan() {
			line := sc.Text()
			rt.mu.Lock()
			rt.stdout.WriteString(line + "\n")
			if m := listenLine.FindStringSubmatch(line); m != nil {
				if m[1] == "console" {
					rt.ConsoleAddr = m[2]
				} else {
					rt.NinePAddr = m[2]
				}
				seen++
				if seen == 2 {
					close(ready)
				}
			}
			rt.mu.Unlock()
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatalf("root task did not report its listeners; stdout so far:\n%s", rt.Stdout())
	}
	return rt
}

// Stdout returns what the root task printed so far.
func (rt *rootTask) Stdout() string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.stdout.String()
}

// console dials the TCP console and authenticates with the manifest token.
func (rt *rootTask) console(t *testing.T) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, rt.ConsoleAddr, generated.ConsoleAuthToken)
	if err != nil {
		t.Fatalf("dial console %s: %v", rt.ConsoleAddr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// do sends one console line and returns the ACK line and payload lines.
func do(t *testing.T, c *client.Conn, line string) client.Response {
	t.Helper()
	r, err := c.Do(line)
	if err != nil {
		t.Fatalf("console %q: %v", line, err)
	}
	return r
}

// cohsh runs the cohsh binary with args and returns its combined output.
func cohsh(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "cohsh"), args...)
	cmd.Env = append(os.Environ(), "COHSH_CONSOLE_LOCK=0")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// runCmd runs cmd and returns its stdout, stderr and exit code; a command
// that could not run at all fails the test.
func runCmd(t testing.TB, cmd *exec.Cmd) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", filepath.Base(cmd.Path), err)
	}
	return out.String(), errb.String(), code
}
