package tests

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/internal/gatewayapi"
	"github.com/cohesix/cohesix/internal/hive"
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
	// Governed-profile scripts need PolicyFS/AuditFS/ReplayFS; the hosted
	// root task runs the dev manifest (DECISIONS P26), as in the seL4 test.
	"audit_replay.coh": "governed profile",
	"policy_gate.coh":  "governed profile",
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
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out.String(), errb.String(), code
}

// parityTransportRE masks the transport and remote fields audit lines
// carry: they name the console connection or the 9P peer.
var parityTransportRE = regexp.MustCompile(` transport=\S+( remote=\S+)?`)

func parityNormalize(s string) string {
	return parityTransportRE.ReplaceAllString(sel4Normalize(s), " transport=T")
}

// TestGatewayParity runs every regression script through cohsh over the
// TCP console and over hive-gateway (--transport rest), each against a
// fresh root task, and requires the same transcript and exit code (wall
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
			if src, err := os.ReadFile(s); err == nil {
				if p, _ := hive.ScriptProfile(src); p != hive.ProfileDev {
					t.Fatalf("%s runs profile %s: add it to parityExcluded with its reason", name, p)
				}
			}
			rtTCP := startRootTask(t, bin, false)
			tcp, tcpErr, tcpCode := parityRun(t, bin, "cohsh", nil, "--tcp-port", port(rtTCP.ConsoleAddr), "--script", s)
			rtREST := startRootTask(t, bin, false)
			url := parityGateway(t, bin, rtREST)
			rest, restErr, restCode := parityRun(t, bin, "cohsh", nil, "--transport", "rest", "--rest-url", url, "--script", s)
			if tcpCode != 0 {
				t.Fatalf("tcp: exit %d\n%s\n%s", tcpCode, tcp, tcpErr)
			}
			if restCode != tcpCode || parityNormalize(rest) != parityNormalize(tcp) {
				t.Errorf("rest transcript differs from tcp (rest exit %d)\nrest:\n%s\nrest stderr:\n%s\ntcp:\n%s", restCode, rest, restErr, tcp)
			}
		})
	}
}

// TestGatewayParityTickets: a forged ticket, an expired one, a worker
// role without a ticket and an unknown role get the same ERR over REST as
// over TCP; a good worker ticket is carried on every request after attach.
func TestGatewayParityTickets(t *testing.T) {
	bin := parityBinaries(t)
	rtTCP := startRootTask(t, bin, false)
	rtREST := startRootTask(t, bin, false)
	url := parityGateway(t, bin, rtREST)
	forged := "cohesix-ticket-0101080800776f726b65722d31000000000000000000000000.c9ffa6b5610e29ba7ed8ff595292a9946e294c0654e5cb85bf28299f2a52d79b"
	expired := "cohesix-ticket-01010c01000000000000000800776f726b65722d31000000000000000000000000.6fb79ffac08c6110982e9c5665cc77d8bf27ab532dba573afe9407402d09cfcf"
	for _, line := range []string{"attach worker " + forged, "attach worker " + expired, "ATTACH worker-heartbeat", "ATTACH bogus"} {
		// One fresh cohsh per line, and the queen in between, so the
		// console's throttle never decides the words.
		tcp, _, tcpCode := parityRun(t, bin, "cohsh", nil, "--tcp-port", port(rtTCP.ConsoleAddr), line)
		rest, restErr, restCode := parityRun(t, bin, "cohsh", nil, "--transport", "rest", "--rest-url", url, line)
		if !strings.HasPrefix(tcp, "ERR ATTACH") || rest != tcp || restCode != tcpCode {
			t.Errorf("%.40s: tcp %q (exit %d), rest %q (exit %d) %s", line, tcp, tcpCode, rest, restCode, restErr)
		}
		parityRun(t, bin, "cohsh", nil, "--tcp-port", port(rtTCP.ConsoleAddr), "--role", "queen", "ping")
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
}
