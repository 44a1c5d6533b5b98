package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/client"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/hive"
	"github.com/cohesix/cohesix/internal/testutil"
	"github.com/cohesix/cohesix/internal/ticket"
	"github.com/cohesix/cohesix/roottask/platform"
)

// failingListener fails every Accept with errs in turn, then with last
// forever, or blocks until closed when last is nil.
type failingListener struct {
	mu     sync.Mutex
	errs   []error
	last   error
	closed chan struct{}
	once   sync.Once
}

func (l *failingListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	var err error
	if len(l.errs) > 0 {
		err, l.errs = l.errs[0], l.errs[1:]
	} else {
		err = l.last
	}
	l.mu.Unlock()
	if err != nil {
		return nil, err
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *failingListener) Close() error   { l.once.Do(func() { close(l.closed) }); return nil }
func (l *failingListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// fakePlatform hands out one listener per address; its serial console
// writes to stdout and stderr, and it has storage unless noStorage.
type fakePlatform struct {
	platform.GoRuntime
	listeners      map[string]net.Listener
	stdout, stderr *testutil.SyncBuffer
	noStorage      bool
}

func (fakePlatform) Name() string { return "fake" }
func (p fakePlatform) Serial() platform.Serial {
	return platform.Serial{In: strings.NewReader(""), Out: p.stdout, Err: p.stderr}
}
func (p fakePlatform) Listen(a string) (net.Listener, error) { return p.listeners[a], nil }
func (p fakePlatform) Storage(dir string) (platform.Storage, error) {
	if p.noStorage && dir != "" {
		return platform.Storage{}, platform.ErrNoStorage
	}
	return platform.Storage{Dir: dir, Shown: dir}, nil
}

var _ platform.Platform = fakePlatform{}

// testFlags boot on the fake platform's two listeners, no serial console,
// state in memory.
var testFlags = bootFlags{consoleAddr: "console", ninepAddr: "secure9p"}

func acceptErr(errno syscall.Errno) error {
	return &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept", errno)}
}

// TestBootEndsOnPermanentAcceptError: a listener that fails for good ends
// the root task with exit code 1 and says which listener and why on stderr;
// temporary accept errors do not.
func TestBootEndsOnPermanentAcceptError(t *testing.T) {
	permanent := acceptErr(syscall.EINVAL)
	for _, tc := range []struct {
		name      string
		console   error
		secure9p  error
		wantInErr string
	}{
		{"console", permanent, nil, "console listener failed: console accept: accept tcp: accept: invalid argument"},
		{"secure9p", nil, permanent, "secure9p listener failed: secure9p accept: accept tcp: accept: invalid argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			temp := []error{acceptErr(syscall.EMFILE), acceptErr(syscall.ENFILE)}
			var stdout, stderr testutil.SyncBuffer
			p := fakePlatform{listeners: map[string]net.Listener{
				"console":  &failingListener{errs: temp, last: tc.console, closed: make(chan struct{})},
				"secure9p": &failingListener{errs: temp, last: tc.secure9p, closed: make(chan struct{})},
			}, stdout: &stdout, stderr: &stderr}
			code := make(chan int, 1)
			go func() {
				code <- boot(context.Background(), p, testFlags)
			}()
			select {
			case c := <-code:
				if c != 1 {
					t.Errorf("boot = %d; want 1", c)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("boot still running 20 s after its listener failed for good")
			}
			if !strings.Contains(stderr.String(), tc.wantInErr) {
				t.Errorf("stderr = %q; want it to contain %q", stderr.String(), tc.wantInErr)
			}
		})
	}
}

// TestBootSurvivesTemporaryAcceptErrors: listeners that fail only for now
// keep the root task up until it is told to stop; then it exits 0.
func TestBootSurvivesTemporaryAcceptErrors(t *testing.T) {
	var temp []error
	for range 5 {
		temp = append(temp, acceptErr(syscall.EMFILE))
	}
	cl := &failingListener{errs: temp, closed: make(chan struct{})}
	nl := &failingListener{errs: append([]error(nil), temp...), closed: make(chan struct{})}
	var stdout, stderr testutil.SyncBuffer
	p := fakePlatform{listeners: map[string]net.Listener{"console": cl, "secure9p": nl}, stdout: &stdout, stderr: &stderr}
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() {
		code <- boot(ctx, p, testFlags)
	}()
	// Both listeners have retried past their errors once they are drained.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(time.Millisecond) {
		cl.mu.Lock()
		nl.mu.Lock()
		drained := len(cl.errs) == 0 && len(nl.errs) == 0
		nl.mu.Unlock()
		cl.mu.Unlock()
		if drained {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("listeners did not retry their temporary errors")
		}
	}
	select {
	case c := <-code:
		t.Fatalf("boot ended with %d after temporary accept errors; stderr %q", c, stderr.String())
	default:
	}
	cancel()
	if c := <-code; c != 0 {
		t.Errorf("boot after shutdown = %d; want 0 (stderr %q)", c, stderr.String())
	}
	if !strings.Contains(stdout.String(), "[event] shutdown") {
		t.Errorf("stdout = %q; want the shutdown event", stdout.String())
	}
}

// TestBootRefusesStorageThePlatformLacks: a state directory on a platform
// without storage ends the boot with exit code 1 before the hive starts,
// saying so on the platform's diagnostics stream; without one it boots.
func TestBootRefusesStorageThePlatformLacks(t *testing.T) {
	var stdout, stderr testutil.SyncBuffer
	p := fakePlatform{stdout: &stdout, stderr: &stderr, noStorage: true}
	f := testFlags
	f.stateDir = "state"
	if c := boot(context.Background(), p, f); c != 1 {
		t.Fatalf("boot = %d; want 1", c)
	}
	if want := "roottask: state dir state: " + platform.ErrNoStorage.Error() + "\n"; stderr.String() != want {
		t.Errorf("stderr = %q; want %q", stderr.String(), want)
	}
	if strings.Contains(stdout.String(), "[event] state dir=") {
		t.Errorf("stdout = %q; no state banner expected", stdout.String())
	}
}

// TestRunUsageOnPlatformDiagnostics: a usage error goes to the platform's
// diagnostics stream with exit code 2.
func TestRunUsageOnPlatformDiagnostics(t *testing.T) {
	var stdout, stderr testutil.SyncBuffer
	p := fakePlatform{stdout: &stdout, stderr: &stderr}
	if c := run(context.Background(), p, []string{"--serial", "tty"}); c != 2 {
		t.Fatalf("run = %d; want 2", c)
	}
	if !strings.HasPrefix(stderr.String(), "Usage: roottask ") || stdout.String() != "" {
		t.Errorf("stdout %q, stderr %q; want the usage on stderr only", stdout.String(), stderr.String())
	}
}

// bootProfile runs the root task with --profile profile on loopback
// listeners, attaches the console as the queen and returns the console and
// the root task's stdout; cleanup stops it and wants exit 0.
func bootProfile(t *testing.T, profile string) (*client.Conn, *testutil.SyncBuffer) {
	t.Helper()
	listeners := map[string]net.Listener{}
	for _, name := range []string{"console", "secure9p"} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		listeners[name] = l
	}
	var stdout, stderr testutil.SyncBuffer
	p := fakePlatform{listeners: listeners, stdout: &stdout, stderr: &stderr}
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, p, []string{"--console-listen", "console", "--secure9p-listen", "secure9p", "--serial", "none", "--profile", profile})
	}()
	dctx, dcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer dcancel()
	c, err := client.Dial(dctx, listeners["console"].Addr().String(), generated.ConsoleAuthToken)
	if err != nil {
		cancel()
		t.Fatalf("dial console: %v (stderr %q)", err, stderr.String())
	}
	t.Cleanup(func() {
		c.Close()
		cancel()
		if got := <-code; got != 0 {
			t.Errorf("run --profile %s after shutdown = %d; want 0 (stderr %q)", profile, got, stderr.String())
		}
	})
	if r, err := c.Do("attach queen"); err != nil || !r.Ack.OK {
		t.Fatalf("attach queen = %q, %v", r.AckLine(), err)
	}
	return c, &stdout
}

// TestRunProfile: --profile governed boots the compiled manifest with
// PolicyFS, AuditFS and ReplayFS on (DECISIONS P26) and says so in the
// banner; the default dev profile serves none of them and its banner names
// the compiled manifest's profile.
func TestRunProfile(t *testing.T) {
	for _, tc := range []struct {
		profile, banner string
		governed        bool
	}{
		{hive.ProfileGoverned, "profile=governed", true},
		{hive.ProfileDev, "profile=" + generated.ProfileName, false},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			c, stdout := bootProfile(t, tc.profile)
			if want := "manifest.sha256=" + generated.ManifestSHA256 + " " + tc.banner + "\n"; !strings.Contains(stdout.String(), want) {
				t.Errorf("banner %q; want it to end %q", stdout.String(), want)
			}
			for _, path := range []string{"/policy", "/audit", "/replay"} {
				r, err := c.Do("ls " + path)
				if err != nil {
					t.Fatalf("ls %s: %v", path, err)
				}
				if r.Ack.OK != tc.governed {
					t.Errorf("--profile %s: ls %s = %q; want OK %t", tc.profile, path, r.AckLine(), tc.governed)
				}
			}
		})
	}
}

// TestRunUnknownProfile: a profile other than dev and governed is a usage
// error (exit 2, the usage line on the platform's diagnostics stream).
func TestRunUnknownProfile(t *testing.T) {
	var stdout, stderr testutil.SyncBuffer
	p := fakePlatform{stdout: &stdout, stderr: &stderr}
	if c := run(context.Background(), p, []string{"--profile", "production"}); c != 2 {
		t.Fatalf("run --profile production = %d; want 2", c)
	}
	if !strings.HasPrefix(stderr.String(), "Usage: roottask ") || !strings.Contains(stderr.String(), "[--profile dev|governed]") || stdout.String() != "" {
		t.Errorf("stdout %q, stderr %q; want the usage with --profile on stderr only", stdout.String(), stderr.String())
	}
}

// noEntropyPlatform is fakePlatform without an entropy source and with a
// serial line that carries in.
type noEntropyPlatform struct {
	fakePlatform
	in io.Reader
}

func (p noEntropyPlatform) Entropy() io.Reader {
	return platform.NoEntropy{Why: fmt.Errorf("%w: no virtio-rng device", platform.ErrNoEntropy)}
}
func (p noEntropyPlatform) Serial() platform.Serial {
	return platform.Serial{In: p.in, Out: p.stdout, Err: p.stderr}
}

// TestBootWithoutEntropyRefusesSecrets: on a platform with no entropy
// source the root task says so at boot, refuses a good worker ticket on
// the serial console (reason=policy detail=no-entropy, audited) and the
// right console AUTH token over TCP (reason=no-entropy), while the
// ticketless queen attach, which involves no secret, still works.
func TestBootWithoutEntropyRefusesSecrets(t *testing.T) {
	listeners := map[string]net.Listener{}
	for _, name := range []string{"console", "secure9p"} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		listeners[name] = l
	}
	tok, err := ticket.Mint(ticket.Claims{Role: ticket.RoleWorkerHeartbeat, Subject: "worker-1"}, "worker")
	if err != nil {
		t.Fatal(err)
	}
	inR, inW := io.Pipe()
	var stdout, stderr testutil.SyncBuffer
	p := noEntropyPlatform{fakePlatform{listeners: listeners, stdout: &stdout, stderr: &stderr}, inR}
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	f := testFlags
	f.serial = true
	go func() { code <- boot(ctx, p, f) }()
	defer func() {
		cancel()
		inW.Close()
		if c := <-code; c != 0 {
			t.Errorf("boot after shutdown = %d (stderr %q)", c, stderr.String())
		}
	}()
	waitFor := func(what string) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !strings.Contains(stdout.String(), what); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("stdout lacks %q:\n%s", what, stdout.String())
			}
		}
	}
	waitFor("[event] entropy none: no entropy source: no virtio-rng device: tickets are refused")
	for _, line := range []string{"attach queen", "attach worker-heartbeat " + tok, "log"} {
		if _, err := io.WriteString(inW, line+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	waitFor("ERR ATTACH reason=policy detail=no-entropy")
	waitFor("OK ATTACH role=queen")
	waitFor("ui-ticket outcome=deny reason=no-entropy role=worker-heartbeat ticket=cohesix-ticket-")
	c, err := net.Dial("tcp", listeners["console"].Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Write(console.AppendFrame(nil, console.AuthLine(generated.ConsoleAuthToken))); err != nil {
		t.Fatal(err)
	}
	reply, _ := io.ReadAll(c)
	if !strings.Contains(string(reply), "ERR AUTH reason=no-entropy") {
		t.Errorf("AUTH with the right token answered %q; want ERR AUTH reason=no-entropy", reply)
	}
}
