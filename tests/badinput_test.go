package tests

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/ticket"
)

// TestBadInputBeforeAuth: every malformed hello is refused with the spec's
// reason and the connection is closed. Each comes from its own loopback
// address: AUTH failures are throttled per peer (DECISIONS P7).
func TestBadInputBeforeAuth(t *testing.T) {
	rt := startRootTask(t, binaries(t, "roottask"), false)
	wrongSameLen := "AUTH " + strings.Repeat("x", len(generated.ConsoleAuthToken))
	for i, tc := range []struct {
		name  string
		total uint32
		body  string
		want  string
	}{
		{"undersize frame", 3, "", "ERR AUTH reason=invalid-length"},
		{"oversize frame", generated.ConsoleFrameMaxBytes + 1, "", "ERR AUTH reason=invalid-length"},
		{"257-byte payload", 4 + generated.ConsoleLineMaxBytes + 1, strings.Repeat("a", generated.ConsoleLineMaxBytes+1), "ERR AUTH reason=invalid-length"},
		{"wrong length token", 0, "AUTH nope", "ERR AUTH reason=invalid-token"},
		{"no AUTH prefix", 0, "HELO " + generated.ConsoleAuthToken, "ERR AUTH reason=expected-token"},
		{"wrong token", 0, wrongSameLen, "ERR AUTH reason=invalid-token"},
	} {
		from := fmt.Sprintf("127.0.0.%d", 20+i) // distinct per case
		t.Run(tc.name, func(t *testing.T) {
			r := dialConsoleFrom(t, from, rt.ConsoleAddr)
			total := tc.total
			if total == 0 {
				total = uint32(4 + len(tc.body))
			}
			r.frame(total, tc.body)
			if got := r.recv(); got != tc.want {
				t.Errorf("reply = %q; want %q", got, tc.want)
			}
			if !r.closed() {
				t.Errorf("connection still open after a refused hello")
			}
		})
	}
	// The hive still serves a well-behaved client, and logged each reject.
	q := rt.console(t)
	do(t, q, "attach queen")
	log := strings.Join(do(t, q, "log").Lines, "\n")
	for _, reason := range []string{"invalid-length", "expected-token", "invalid-token"} {
		if !strings.Contains(log, "[cohsh-net][auth] reject") || !strings.Contains(log, "reason="+reason) {
			t.Errorf("log lacks an auth reject with reason=%s", reason)
		}
	}
}

// TestBadInputAfterAuth: after AUTH a bad frame is answered with ERR FRAME,
// its bytes are skipped, and the same session goes on.
func TestBadInputAfterAuth(t *testing.T) {
	rt := startRootTask(t, binaries(t, "roottask"), false)
	r := dialConsoleFrom(t, "", rt.ConsoleAddr)
	r.auth()
	for _, tc := range []struct {
		name  string
		total uint32
		body  string
		want  string
	}{
		{"undersize frame", 3, "", "ERR FRAME reason=invalid-length"},
		{"oversize frame", generated.ConsoleFrameMaxBytes + 1, strings.Repeat("z", generated.ConsoleFrameMaxBytes+1-4), "ERR FRAME reason=invalid-length"},
		{"257-byte line", 0, "ping" + strings.Repeat(" ", generated.ConsoleLineMaxBytes+1-4), "ERR FRAME reason=invalid-length"},
		{"control characters", 0, "pi\x01ng", "ERR PARSE reason=policy detail=unsupported console command"},
		{"unknown verb", 0, "reboot", "ERR PARSE reason=policy detail=unsupported console command"},
		{"empty line", 0, "", "ERR PARSE reason=policy detail=empty command"},
		{"unattached log", 0, "log", "ERR LOG reason=policy detail=unauthenticated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			total := tc.total
			if total == 0 {
				total = uint32(4 + len(tc.body))
			}
			r.frame(total, tc.body)
			if got := r.recv(); got != tc.want {
				t.Errorf("reply = %q; want %q", got, tc.want)
			}
			r.send("ping")
			if a, b := r.recv(), r.recv(); a != "PONG" || b != "OK PING reply=pong" {
				t.Errorf("ping after refusal = %q, %q; want PONG, OK PING reply=pong", a, b)
			}
		})
	}
}

// TestBadTickets: forged, mis-roled and expired tickets are refused with the
// spec's reason, audited, and leave no session behind. Each case gets its own
// hive because failed attaches are throttled hive-wide.
func TestBadTickets(t *testing.T) {
	bin := binaries(t, "roottask")
	secret := func(role string) string {
		for _, e := range generated.Tickets {
			if e.Role == role {
				return e.Secret
			}
		}
		t.Fatalf("no secret for %s", role)
		return ""
	}
	mint := func(c ticket.Claims, role string) string {
		tok, err := ticket.Mint(c, secret(role))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	now := uint64(time.Now().UnixMilli())
	ttl := uint64(1)
	good := mint(ticket.Claims{Role: ticket.RoleWorkerHeartbeat, Subject: "worker-1", IssuedAtMs: now}, "worker-heartbeat")
	forged := good[:len(good)-1] + map[bool]string{true: "1", false: "0"}[strings.HasSuffix(good, "0")]
	for _, tc := range []struct {
		name, line, want, audit string
	}{
		{"forged MAC", "attach worker-heartbeat " + forged, "ERR ATTACH reason=policy detail=denied", "attach denied role=worker-heartbeat reason=policy detail=denied"},
		{"wrong role", "attach worker-gpu " + good, "ERR ATTACH reason=policy detail=denied", "attach denied role=worker-gpu reason=policy detail=denied"},
		{"expired", "attach worker-heartbeat " + mint(ticket.Claims{Role: ticket.RoleWorkerHeartbeat, Subject: "worker-1", TTLs: &ttl, IssuedAtMs: now - 5000}, "worker-heartbeat"), "ERR ATTACH reason=quota detail=expired", "ui-ticket outcome=deny reason=expired role=worker-heartbeat"},
		{"queen ticket with worker secret", "attach queen " + mint(ticket.Claims{Role: ticket.RoleQueen, IssuedAtMs: now}, "worker-heartbeat"), "ERR ATTACH reason=policy detail=denied", "attach denied role=queen reason=policy detail=denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := startRootTask(t, bin, false)
			c := rt.console(t)
			if got := do(t, c, tc.line).AckLine(); got != tc.want {
				t.Fatalf("%s = %q; want %q", tc.name, got, tc.want)
			}
			if got := do(t, c, "ls /proc").AckLine(); got != "ERR LS reason=policy detail=unauthenticated" {
				t.Errorf("after refused attach, ls = %q; want unauthenticated (no session)", got)
			}
			time.Sleep(time.Duration(generated.ConsoleAttachBackoffBaseMs) * time.Millisecond)
			q := rt.console(t)
			do(t, q, "attach queen")
			if !containsPrefix(do(t, q, "log").Lines, tc.audit) {
				t.Errorf("log lacks %q", tc.audit)
			}
		})
	}
	t.Run("valid worker ticket", func(t *testing.T) {
		rt := startRootTask(t, bin, false)
		c := rt.console(t)
		if got := do(t, c, "attach worker-heartbeat "+good).AckLine(); got != "OK ATTACH role=worker-heartbeat" {
			t.Errorf("attach with a valid ticket = %q", got)
		}
	})
}
