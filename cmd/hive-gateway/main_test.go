package main

import (
	"bytes"
	"context"
	"math"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/cohesix/cohesix/generated"
)

// A non-loopback bind without the risk flag is refused before anything
// listens: exit 2 and a message that names the flag.
func TestNonLoopbackBindRefused(t *testing.T) {
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"--bind", "0.0.0.0:0"}, nil, &stderr, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "--allow-non-loopback") {
		t.Fatalf("exit %d, stderr %q; want 2 naming --allow-non-loopback", code, stderr.String())
	}
}

// The token comes from the flag or the documented variables; it never
// appears in what the gateway prints when it refuses to start.
func TestRefusalDoesNotEchoTheToken(t *testing.T) {
	t.Setenv("HIVE_GATEWAY_REQUEST_AUTH_TOKEN", "env-token-2f9c41aa")
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"--bind", "10.0.0.1:0", "--tls-cert", "c.pem"}, nil, &stderr, &stderr)
	if code != 2 || strings.Contains(stderr.String(), "2f9c41aa") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
}

// --help prints the usage in the house shape on stdout and exits 0; an
// unknown flag is a usage error (2).
func TestUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, nil, &stdout, &stderr); code != 0 || !strings.HasPrefix(stdout.String(), "Usage: hive-gateway ") {
		t.Errorf("hive-gateway --help = %d, %q; want 0 and Usage: hive-gateway", code, stdout.String())
	}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if l := strings.TrimSpace(line); strings.HasPrefix(l, "--") {
			help := strings.TrimSpace(l[strings.Index(l, "  "):])
			if help == "" || help[0] < 'A' || help[0] > 'Z' {
				t.Errorf("help line %q does not start with a capital", l)
			}
		}
	}
	if code := run(context.Background(), []string{"--no-such-flag"}, nil, &stdout, &stderr); code != 2 {
		t.Errorf("hive-gateway --no-such-flag = %d; want 2", code)
	}
}

// The collector follows the manifest unless the operator's environment
// says otherwise.
func TestCollectorFromManifest(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))

	setCollector(func(string) (string, bool) { return "", false })
	if got := debug.SetGCPercent(100); got != generated.GatewayGcPercent {
		t.Errorf("GC percent %d; want gateway.gc_percent %d", got, generated.GatewayGcPercent)
	}
	if got := debug.SetMemoryLimit(math.MaxInt64); got != generated.GatewayMemoryLimitBytes {
		t.Errorf("memory limit %d; want gateway.memory_limit_bytes %d", got, generated.GatewayMemoryLimitBytes)
	}

	setCollector(func(k string) (string, bool) { return "50", true }) // GOGC and GOMEMLIMIT set
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent %d with GOGC set; want the environment's (100 here)", got)
	}
	if got := debug.SetMemoryLimit(math.MaxInt64); got != math.MaxInt64 {
		t.Errorf("memory limit %d with GOMEMLIMIT set; want the environment's", got)
	}
}
