package hive

import (
	"slices"
	"strings"
	"testing"

	"github.com/cohesix/cohesix/internal/ticket"
	"github.com/cohesix/cohesix/internal/transport/consoleserver"
)

func mintClaims(t *testing.T, c ticket.Claims) string {
	t.Helper()
	tok, err := ticket.Mint(c, secretFor(t, c.Role))
	if err != nil {
		t.Fatalf("Mint = %v", err)
	}
	return tok
}

func (h *testHive) run(t *testing.T, s *consoleserver.Session, line string) []string {
	t.Helper()
	out, _ := s.Dispatch(line)
	h.barrier()
	return out
}

func (h *testHive) logHas(sub string) bool {
	return slices.ContainsFunc(h.q.Snapshot().Log, func(l string) bool { return strings.Contains(l, sub) })
}

// TestConsoleCursorQuotas: a worker ticket's cursor resumes and advances
// (spec roles-tickets §5) are spent by tail and cat of its telemetry ring,
// survive a reattach (the state is per ticket, in the authority), and an
// exhausted quota answers ELIMIT, counts in /proc/pressure/quota and
// writes the ui-ticket audit line.
func TestConsoleCursorQuotas(t *testing.T) {
	h := newTestHive(t)
	qs := h.session()
	h.run(t, qs, "attach queen")
	h.run(t, qs, `spawn {"spawn":"heartbeat","ticks":3}`)
	h.run(t, qs, "echo /worker/worker-1/telemetry hello")
	tok := mintClaims(t, ticket.Claims{Role: ticket.RoleWorkerHeartbeat, Subject: "worker-1", IssuedAtMs: epochMs,
		Quotas: ticket.Quotas{CursorResumes: 1, CursorAdvances: 4}})
	masked := ticket.MaskToken(tok)
	ws := h.session()
	if got := h.run(t, ws, "attach worker "+tok); !slices.Equal(got, []string{"OK ATTACH role=worker-heartbeat"}) {
		t.Fatalf("attach = %q", got)
	}
	const path = "/worker/worker-1/telemetry"
	// advance 1 (first read), advance 2 + resume 1 (reads again from the base).
	for i := range 2 {
		if got := h.run(t, ws, "tail "+path); len(got) == 0 || got[0] != "OK TAIL path="+path {
			t.Fatalf("tail %d = %q", i, got)
		}
	}
	quota0 := h.q.Pressure.Quota.Load()
	got := h.run(t, ws, "tail "+path)
	want := []string{"ERR TAIL reason=quota path=" + path + " error=ELIMIT"}
	if !slices.Equal(got, want) {
		t.Fatalf("third tail = %q, want %q", got, want)
	}
	if d := h.q.Pressure.Quota.Load() - quota0; d != 1 {
		t.Errorf("/proc/pressure/quota grew by %d, want 1", d)
	}
	line := "ui-ticket outcome=deny reason=cursor-resume role=worker-heartbeat ticket=" + masked + " path=" + path + " verb=read limit=1"
	if !h.logHas(line) {
		t.Errorf("log lacks %q:\n%s", line, strings.Join(h.q.Snapshot().Log, "\n"))
	}
	// A reattach with the same ticket finds the quota spent.
	ws2 := h.session()
	h.run(t, ws2, "attach worker "+tok)
	if got := h.run(t, ws2, "cat "+path); !slices.Equal(got, []string{"ERR CAT reason=quota path=" + path + " error=ELIMIT"}) {
		t.Fatalf("cat after reattach = %q", got)
	}
	// Reads of paths that are not telemetry rings are never charged.
	for range 3 {
		if got := h.run(t, ws2, "cat /proc/boot"); len(got) == 0 || !strings.HasPrefix(got[0], "OK CAT") {
			t.Fatalf("cat /proc/boot = %q", got)
		}
	}
	// A fresh ticket has its own quota.
	tok2 := mintClaims(t, ticket.Claims{Role: ticket.RoleWorkerHeartbeat, Subject: "worker-1", IssuedAtMs: epochMs + 1,
		Quotas: ticket.Quotas{CursorAdvances: 1}})
	ws3 := h.session()
	h.run(t, ws3, "attach worker "+tok2)
	if got := h.run(t, ws3, "tail "+path); got[0] != "OK TAIL path="+path {
		t.Fatalf("fresh ticket tail = %q", got)
	}
	if got := h.run(t, ws3, "tail "+path); !slices.Equal(got, []string{"ERR TAIL reason=quota path=" + path + " error=ELIMIT"}) {
		t.Fatalf("advance exhausted = %q", got)
	}
	if !h.logHas("reason=cursor-advance role=worker-heartbeat ticket=" + ticket.MaskToken(tok2) + " path=" + path + " verb=read limit=1") {
		t.Errorf("no cursor-advance audit line")
	}
}

// TestConsoleScopesRateBandwidth: scopes refuse with EPERM, the scope's
// rate and the ticket's bandwidth with ELIMIT (spec roles-tickets §5).
func TestConsoleScopesRateBandwidth(t *testing.T) {
	h := newTestHive(t)
	qs := h.session()
	h.run(t, qs, "attach queen")
	h.run(t, qs, `spawn {"spawn":"heartbeat","ticks":3}`)
	h.run(t, qs, "echo /worker/worker-1/telemetry 0123456789")
	tok := mintClaims(t, ticket.Claims{Role: ticket.RoleWorkerHeartbeat, Subject: "worker-1", IssuedAtMs: epochMs,
		Scopes: []ticket.Scope{{Path: "/worker/worker-1", Verb: ticket.VerbRead, RatePerS: 2}},
		Quotas: ticket.Quotas{BandwidthBytes: 15}})
	ws := h.session()
	h.run(t, ws, "attach worker "+tok)
	if got := h.run(t, ws, "cat /proc/boot"); !slices.Equal(got, []string{"ERR CAT reason=policy path=/proc/boot error=EPERM"}) {
		t.Fatalf("out of scope = %q", got)
	}
	if !h.logHas("ui-ticket outcome=deny reason=scope role=worker-heartbeat") {
		t.Errorf("no scope audit line")
	}
	const path = "/worker/worker-1/telemetry"
	if got := h.run(t, ws, "cat "+path); got[0] != "OK CAT path="+path+" data=0123456789" {
		t.Fatalf("cat = %q", got)
	}
	// 11 bytes spent of 15; the next read of 11 is over the budget.
	h.clock.Advance(1000)
	got := h.run(t, ws, "cat "+path)
	if !slices.Equal(got, []string{"ERR CAT reason=quota path=" + path + " error=ELIMIT"}) {
		t.Fatalf("bandwidth = %q", got)
	}
	if !h.logHas("reason=bandwidth role=worker-heartbeat ticket=" + ticket.MaskToken(tok) + " path=" + path + " verb=read limit_bytes=15 remaining_bytes=4 requested_bytes=11") {
		t.Errorf("no bandwidth audit line:\n%s", strings.Join(h.q.Snapshot().Log, "\n"))
	}
	// Two requests per window: the third in the same window is refused.
	h.clock.Advance(1000)
	h.run(t, ws, "ls /worker/worker-1")
	h.run(t, ws, "ls /worker/worker-1")
	if got := h.run(t, ws, "ls /worker/worker-1"); !slices.Equal(got, []string{"ERR LS reason=quota path=/worker/worker-1 error=ELIMIT"}) {
		t.Fatalf("rate = %q", got)
	}
	if !h.logHas("reason=rate role=worker-heartbeat ticket=" + ticket.MaskToken(tok) + " path=/worker/worker-1 verb=read limit_per_s=2 window_ms=1000") {
		t.Errorf("no rate audit line")
	}
}
