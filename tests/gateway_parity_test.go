package tests

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cohesix/cohesix/internal/gatewayapi"
	"github.com/cohesix/cohesix/internal/hive"
	"github.com/cohesix/cohesix/internal/ticket"
)

// parityToken is the request-auth token the parity tests give the gateway
// and every client, through the first variable of gatewayapi.TokenEnv.
const parityToken = "parity-request-auth-token"

// parityExcluded are the regression scripts that cannot give the same
// transcript over hive-gateway as over the TCP console, each with why.
// Every other scripts/cohsh/*.coh must match byte for byte.
var parityExcluded = map[string]string{
	// The console's attach throttle (three failures in 60 s lock the peer
	// out; delay_ms) is keyed on the console connection and has no REST
	// twin, and the console attaches a worker ticket whether or not its
	// worker runs, where a Secure9P attach (the gateway's upstream)
	// requires a live worker and answers a refusal with an errno only.
	"attach_refusals.coh": "console attach throttle and worker-existence rule",
	// Attaches worker-1's ticket with no worker-1 running: the console
	// accepts it (console §6), a Secure9P attach refuses it
	// (worker-not-found), so the REST attach is ERR ATTACH detail=denied.
	"worker_session.coh": "worker ticket attached without a live worker (console-only rule)",
	// `lifecycle quiesce` with a live worker: the console words the
	// outstanding-leases refusal policy/denied/EPERM, Secure9P carries it
	// as EBUSY, which the gateway renders reason=busy (a hive-side errno
	// choice, not a client one).
	"lifecycle_basic.coh": "outstanding-leases refusal is EPERM on the console, EBUSY over Secure9P",
	// /proc/pressure/policy counts the console's refusals (consoleserver
	// refused); Secure9P refusals are not counted there, so policy=3
	// reads policy=0 over REST.
	"pressure_root.coh": "/proc/pressure counts console refusals only (spec namespace §2)",
	// The cursor quota runs out at the same tail with the same words (the
	// gateway's tail is one 9P read; a read's EDQUOT is the ticket's
	// ELIMIT), but the script ends reading /proc/pressure/quota, which
	// counts console refusals only (spec namespace §2: 9P counts Busy).
	"telemetry_cursor.coh": "/proc/pressure counts console refusals only (spec namespace §2)",
	// Governed scripts run on governed root tasks (roottask --profile
	// governed) on both sides. Every journal and decision entry names the
	// session's ticket: the console's queen attaches with the console
	// token and no ticket ("ticket":"none"), a Secure9P attach (the
	// gateway's upstream) always carries one ("cohesix-ticket-…"). So the
	// entries are longer over REST, journal_next and every replay "to"
	// differ, and the script's fixed cursor {"from":194} falls on another
	// entry boundary (5 entries replayed instead of 4, another
	// sequence_fnv1a). TestGatewayParityGoverned runs the rest of it.
	"audit_replay.coh": "journal entries name the session's ticket (none on the console, the Secure9P ticket over REST), so journal offsets and the replay window differ",
	// policy=1 and policy=5 are the console's policy refusals; the same
	// refusals over Secure9P are not counted (DECISIONS P27), so REST reads
	// policy=0. The /audit/decisions lines also name the ticket, as above.
	"policy_gate.coh": "/proc/pressure counts console refusals only (spec namespace §2, DECISIONS P27); decision entries name the session's ticket",
}

// parityGateway runs bin/hive-gateway in front of rt's Secure9P listener
// and waits until /readyz answers 200. It skips the test when this tree
// has no cmd/hive-gateway yet (gw-core's branch).
func parityGateway(t *testing.T, bin string, rt *rootTask, extra ...string) string {
	t.Helper()
	gwPort, _ := freePortPair(t)
	url := "http://127.0.0.1:" + strconv.Itoa(gwPort)
	args := append([]string{"--bind", "127.0.0.1:" + strconv.Itoa(gwPort), "--hive-9p", rt.NinePAddr}, extra...)
	cmd := exec.Command(filepath.Join(bin, "hive-gateway"), args...)
	cmd.Env = append(os.Environ(), gatewayapi.TokenEnv[0]+"="+parityToken)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
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
	for i := 0; ; i++ {
		resp, err := http.Get(url + gatewayapi.PathReadyz)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		if i == 200 {
			t.Fatalf("hive-gateway not ready at %s; output:\n%s", url, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// parityBinaries builds the programs the parity tests need, or skips
// when cmd/hive-gateway is not in this tree.
func parityBinaries(t *testing.T, extra ...string) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(repoRoot(), "cmd/hive-gateway")); err != nil {
		t.Skip("cmd/hive-gateway is not in this tree yet (gw-core)")
	}
	return binaries(t, append([]string{"roottask", "cmd/cohsh", "cmd/hive-gateway"}, extra...)...)
}

// parityRun runs a built program with env added and returns stdout, stderr
// and the exit code.
func parityRun(t *testing.T, bin, name string, env []string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, name), args...)
	cmd.Env = append(append(os.Environ(), "COHSH_CONSOLE_LOCK=0", gatewayapi.TokenEnv[0]+"="+parityToken), env...)
	return runCmd(t, cmd)
}

// parityNormalize masks what differs by design between the transports:
// wall-clock races (as the seL4 test masks them) and the audit lines the
// queen's log shows — every one names its transport (transport=tcp or
// transport=9p): the console audits its own attaches and refusals, the
// Secure9P door the gateway's attach (with via=<client>), so a log read
// over each holds different audit lines. Every other line must match.
func parityNormalize(s string) []string {
	var keep []string
	for _, l := range strings.Split(sel4Normalize(s), "\n") {
		if !strings.Contains(l, " transport=") {
			keep = append(keep, l)
		}
	}
	return keep
}

// TestGatewayParity runs every regression script through cohsh over the
// TCP console and over hive-gateway (--transport rest), each against a
// fresh root task of the script's profile (roottask --profile, DECISIONS
// P26), and requires the same transcript and exit code (wall
// clock races and audit lines' transport fields masked, as the seL4 test
// masks them).
func TestGatewayParity(t *testing.T) {
	bin := parityBinaries(t)
	scripts, _ := filepath.Glob(filepath.Join(repoRoot(), "scripts/cohsh/*.coh"))
	if len(scripts) == 0 {
		t.Fatal("no regression scripts")
	}
	for _, s := range scripts {
		name := filepath.Base(s)
		t.Run(name, func(t *testing.T) {
			if why, ok := parityExcluded[name]; ok {
				t.Skipf("excluded from REST parity: %s", why)
			}
			parityScript(t, bin, s)
		})
	}
}

// parityScript runs the script at path through cohsh over the TCP console
// and over hive-gateway, each against a fresh root task of the profile
// its header names, and requires the same transcript and exit code.
func parityScript(t *testing.T, bin, path string) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	profile, err := hive.ScriptProfile(src)
	if err != nil {
		t.Fatal(err)
	}
	rtTCP := startRootTaskProfile(t, bin, profile)
	tcp, tcpErr, tcpCode := parityRun(t, bin, "cohsh", nil, "--tcp-port", port(rtTCP.ConsoleAddr), "--script", path)
	rtREST := startRootTaskProfile(t, bin, profile)
	url := parityGateway(t, bin, rtREST)
	rest, restErr, restCode := parityRun(t, bin, "cohsh", nil, "--transport", "rest", "--rest-url", url, "--script", path)
	if tcpCode != 0 {
		t.Fatalf("tcp: exit %d\n%s\n%s", tcpCode, tcp, tcpErr)
	}
	if d := cmp.Diff(parityNormalize(tcp), parityNormalize(rest)); restCode != tcpCode || d != "" {
		t.Errorf("rest transcript differs from tcp (rest exit %d, stderr %q) (-tcp +rest):\n%s", restCode, restErr, d)
	}
}

// parityGovernedScript exercises what the governed scripts excluded from
// TestGatewayParity do over REST without the parts that differ by design
// (/proc/pressure, journal entries naming the session's ticket): echo to
// the offset-checked files /audit/journal and /replay/ctl, a second
// /replay/ctl write included (an echo is a write with no offset, on every
// transport), and reads of PolicyFS, AuditFS and ReplayFS.
const parityGovernedScript = `# profile: governed
attach queen
EXPECT OK
ls /policy
EXPECT SUBSTR OK LS path=/policy entries=3
cat /policy/rules
EXPECT OK
echo {"note":"operator"} > /audit/journal
EXPECT SUBSTR OK ECHO path=/audit/journal
echo {"note":"again"} > /audit/journal
EXPECT SUBSTR OK ECHO path=/audit/journal
cat /audit/journal
EXPECT OK
echo {"x":1} > /audit/decisions
EXPECT SUBSTR ERR ECHO reason=policy detail=denied path=/audit/decisions error=EPERM
echo {"from":0} > /replay/ctl
EXPECT SUBSTR OK ECHO path=/replay/ctl
echo {"from":20} > /replay/ctl
EXPECT SUBSTR OK ECHO path=/replay/ctl
cat /replay/ctl
EXPECT OK
cat /replay/status
EXPECT OK
echo {"from":99999} > /replay/ctl
EXPECT SUBSTR ERR ECHO reason=policy detail=invalid-payload path=/replay/ctl
cat /audit/export
EXPECT OK
detach
EXPECT OK
quit
`

// TestGatewayParityGoverned: on governed root tasks (roottask --profile
// governed) parityGovernedScript gives the same transcript over REST as
// over TCP.
func TestGatewayParityGoverned(t *testing.T) {
	bin := parityBinaries(t)
	path := filepath.Join(t.TempDir(), "governed.coh")
	if err := os.WriteFile(path, []byte(parityGovernedScript), 0o600); err != nil {
		t.Fatal(err)
	}
	parityScript(t, bin, path)
}

// TestGatewayParityTickets: a forged ticket, an expired one, a worker
// role without a ticket and an unknown role get the same ERR over REST as
// over TCP; a good worker ticket is carried on every request after attach.
func TestGatewayParityTickets(t *testing.T) {
	bin := parityBinaries(t)
	forged := "cohesix-ticket-0101080800776f726b65722d31000000000000000000000000.c9ffa6b5610e29ba7ed8ff595292a9946e294c0654e5cb85bf28299f2a52d79b"
	expired := "cohesix-ticket-01010c01000000000000000800776f726b65722d31000000000000000000000000.6fb79ffac08c6110982e9c5665cc77d8bf27ab532dba573afe9407402d09cfcf"
	for _, line := range []string{"attach worker " + forged, "attach worker " + expired, "ATTACH worker-heartbeat", "ATTACH bogus"} {
		// A fresh hive per line, so the console's attach throttle never
		// decides the words.
		rtTCP := startRootTask(t, bin, false)
		rtREST := startRootTask(t, bin, false)
		url := parityGateway(t, bin, rtREST)
		tcp, tcpErr, tcpCode := parityRun(t, bin, "cohsh", nil, "--tcp-port", port(rtTCP.ConsoleAddr), line)
		rest, restErr, restCode := parityRun(t, bin, "cohsh", nil, "--transport", "rest", "--rest-url", url, line)
		if !strings.HasPrefix(tcp, "ERR ATTACH") || rest != tcp || restCode != tcpCode {
			t.Errorf("%.40s: tcp %q (exit %d) %s, rest %q (exit %d) %s", line, tcp, tcpCode, tcpErr, rest, restCode, restErr)
		}
	}
}

// TestGatewayParityCoh: coh's read verbs over --rest-url print what they
// print over Secure9P, refusals included, with the same exit codes.
func TestGatewayParityCoh(t *testing.T) {
	bin := parityBinaries(t, "cmd/coh", "cmd/gpu-bridge-host")
	rt := startRootTask(t, bin, false)
	url := parityGateway(t, bin, rt)
	if out, _, code := parityRun(t, bin, "gpu-bridge-host", nil, "--mock", "--publish", "--tcp-port", port(rt.ConsoleAddr)); code != 0 {
		t.Fatalf("gpu-bridge-host --mock --publish = %d:\n%s", code, out)
	}
	for _, args := range [][]string{
		{"gpu", "list"},
		{"gpu", "list", "--json"},
		{"gpu", "status", "--gpu", "GPU-0"},
		{"gpu", "status", "--gpu", "GPU-0", "--json"},
		{"gpu", "status", "--gpu", "GPU-9"},
		{"run", "--gpu", "GPU-0", "--", "true"},
	} {
		nine, nineErr, nineCode := parityRun(t, bin, "coh", nil, append([]string{"--9p-port", port(rt.NinePAddr)}, args...)...)
		rest, restErr, restCode := parityRun(t, bin, "coh", nil, append([]string{"--rest-url", url}, args...)...)
		if rest != nine || restErr != nineErr || restCode != nineCode {
			t.Errorf("coh %v: 9p exit %d %q %q; rest exit %d %q %q", args, nineCode, nine, nineErr, restCode, rest, restErr)
		}
	}
	// The mutating verbs: a lease through /queen/ctl and a run whose
	// breadcrumbs are appended to /gpu/GPU-0/status, all over REST.
	rest := func(args ...string) (string, int) {
		out, errw, code := parityRun(t, bin, "coh", nil, append([]string{"--rest-url", url}, args...)...)
		return out + errw, code
	}
	if out, code := rest("gpu", "lease", "--gpu", "GPU-0", "--mem-mb", "1024", "--streams", "1", "--ttl-s", "60"); code != 0 || !strings.Contains(out, "OK LEASE gpu=GPU-0 worker=worker-1") {
		t.Fatalf("coh --rest-url gpu lease = %d:\n%s", code, out)
	}
	if out, code := rest("run", "--gpu", "GPU-0", "--", "true"); code != 0 || out != "OK RUN gpu=GPU-0 status=OK exit_code=0\n" {
		t.Fatalf("coh --rest-url run = %d:\n%s", code, out)
	}
	if out, code := rest("run", "--gpu", "GPU-0", "--", "false"); code != 1 || out != "OK RUN gpu=GPU-0 status=ERR exit_code=1\n" {
		t.Errorf("coh --rest-url run false = %d:\n%s", code, out)
	}
	q := rt.nine(t, ticket.RoleQueen, "")
	if b, _ := q.Read("/gpu/GPU-0/status", 0); strings.Count(string(b), `"event":"EXIT"`) != 2 {
		t.Errorf("breadcrumbs over REST: %s", b)
	}
}

// parityMount runs `coh --rest-url URL mount --at DIR` and waits for its
// first line; stop interrupts it and returns its output and exit error.
func parityMount(t *testing.T, bin, url, dir string) (first string, stop func() (string, error)) {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "coh"), "--rest-url", url, "mount", "--at", dir)
	cmd.Env = append(os.Environ(), gatewayapi.TokenEnv[0]+"="+parityToken)
	var out bytes.Buffer
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	stopped := false
	stop = func() (string, error) {
		if stopped {
			return out.String(), nil
		}
		stopped = true
		_ = cmd.Process.Signal(os.Interrupt)
		for l := range lines {
			out.WriteString(l + "\n")
		}
		return out.String(), cmd.Wait()
	}
	t.Cleanup(func() {
		stop()
		_ = syscall.Unmount(dir, syscall.MNT_DETACH) // only if coh failed to
	})
	select {
	case first = <-lines:
	case <-time.After(30 * time.Second):
		t.Fatalf("coh mount --rest-url printed nothing")
	}
	return first, stop
}

// TestGatewayParityMount: `coh mount --rest-url` shows the namespace as
// the 9P mount does (the same listing and bytes), appends through echo,
// refuses mkdir, unlink and rename, and a second mount of the same URL
// is refused while the first runs (24e).
func TestGatewayParityMount(t *testing.T) {
	if why := fuseReady(); why != "" {
		t.Skip(why)
	}
	bin := parityBinaries(t, "cmd/coh")
	rt := startRootTask(t, bin, false)
	url := parityGateway(t, bin, rt)
	dir := t.TempDir()
	first, stop := parityMount(t, bin, url, dir)
	if !strings.HasPrefix(first, "OK MOUNT at="+dir) {
		t.Fatalf("coh mount --rest-url: %q", first)
	}
	q := rt.nine(t, ticket.RoleQueen, "")
	want, err := q.Read("/proc/boot", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustSh(t, "cat "+dir+"/proc/boot"); got != string(want) {
		t.Errorf("cat over the REST mount = %q, over 9P %q", got, want)
	}
	names, _ := q.List("/proc")
	if got := strings.Fields(mustSh(t, "ls -f "+dir+"/proc")); !sameSet(got, names) {
		t.Errorf("ls over the REST mount = %v, over 9P %v", got, names)
	}
	mustSh(t, "echo rest-mount-marker >> "+dir+"/log/queen.log")
	if b, _ := q.Read("/log/queen.log", 0); !strings.Contains(string(b), "rest-mount-marker") {
		t.Errorf("append through the REST mount did not reach the log")
	}
	for _, line := range []string{"mkdir " + dir + "/proc/x", "rm " + dir + "/proc/boot", "mv " + dir + "/proc/boot " + dir + "/proc/boot2"} {
		if out, err := sh(t, line); err == nil {
			t.Errorf("%s succeeded: %s", line, out)
		}
	}
	second, stop2 := parityMount(t, bin, url, t.TempDir())
	out2, err2 := stop2()
	if !strings.Contains(second, "ERR MOUNT") || !strings.Contains(second, "reason=busy") || err2 == nil {
		t.Errorf("second mount of %s: %q %s (err %v)", url, second, out2, err2)
	}
	if out, err := stop(); err != nil || !strings.Contains(out, "OK UNMOUNT") {
		t.Errorf("unmount: %v\n%s", err, out)
	}
}

// sameSet reports whether a and b hold the same strings.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
