package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// A non-loopback bind without the risk flag is refused before anything
// listens: exit 2 and a message that names the flag.
func TestNonLoopbackBindRefused(t *testing.T) {
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"hive-gateway", "--bind", "0.0.0.0:0"}, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "--allow-non-loopback") {
		t.Fatalf("exit %d, stderr %q; want 2 naming --allow-non-loopback", code, stderr.String())
	}
}

// The token comes from the flag or the documented variables; it never
// appears in what the gateway prints when it refuses to start.
func TestRefusalDoesNotEchoTheToken(t *testing.T) {
	t.Setenv("HIVE_GATEWAY_REQUEST_AUTH_TOKEN", "env-token-2f9c41aa")
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"hive-gateway", "--bind", "10.0.0.1:0", "--tls-cert", "c.pem"}, &stderr)
	if code != 2 || strings.Contains(stderr.String(), "2f9c41aa") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
}
