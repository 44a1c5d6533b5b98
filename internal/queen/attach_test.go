package queen

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var denied = &Refusal{Reason: "policy", Detail: "denied"}

// attempt is one console attach at AtMs; Bad makes the console's own
// verdict a denial. Want is the refusal the authority returns (nil: ok).
type attempt struct {
	AtMs uint64
	Role string
	Bad  bool
	Want *Refusal
}

func throttled(d uint64) *Refusal {
	return &Refusal{Reason: "quota", Detail: "throttled", Extra: []string{"delay_ms", strconv.FormatUint(d, 10)}}
}

func rateLimited(d uint64) *Refusal {
	return &Refusal{Reason: "quota", Detail: "rate-limited", Extra: []string{"delay_ms", strconv.FormatUint(d, 10)}}
}

func runAttempts(t *testing.T, s *State, attempts []attempt) {
	t.Helper()
	for i, a := range attempts {
		role := a.Role
		if role == "" {
			role = "queen"
		}
		c := Attach{Role: role}
		if a.Bad {
			c.Verdict = denied
		}
		r := s.Apply(c, a.AtMs)
		var got *Refusal
		if r.Err != nil && !errors.As(r.Err, &got) {
			t.Fatalf("attempt %d at %d ms: error %v is not a *Refusal", i, a.AtMs, r.Err)
		}
		if diff := cmp.Diff(a.Want, got); diff != "" {
			t.Errorf("attempt %d: Apply(Attach{%s bad=%v}, %d) refusal mismatch (-want +got):\n%s", i, role, a.Bad, a.AtMs, diff)
		}
	}
}

func TestAttachThrottle(t *testing.T) {
	tests := []struct {
		name     string
		throttle ThrottleConfig
		attempts []attempt
	}{
		{
			name: "first failure blocks for the base delay, then success resets",
			attempts: []attempt{
				{AtMs: 0, Bad: true, Want: denied},
				{AtMs: 100, Want: throttled(150)},
				{AtMs: 249, Want: throttled(1)},
				{AtMs: 250},                          // block has passed: a valid attach succeeds
				{AtMs: 300, Bad: true, Want: denied}, // counted from zero again
				{AtMs: 549, Want: throttled(1)},
				{AtMs: 550},
			},
		},
		{
			name:     "back-off doubles per failure and is capped",
			throttle: ThrottleConfig{BackoffBaseMs: 250, BackoffMaxExp: 2, LockoutFailures: 100, LockoutWindowMs: 60_000, LockoutCoolMs: 90_000},
			attempts: []attempt{
				{AtMs: 0, Bad: true, Want: denied},
				{AtMs: 0, Want: throttled(250)},
				{AtMs: 250, Bad: true, Want: denied},
				{AtMs: 250, Want: throttled(500)},
				{AtMs: 750, Bad: true, Want: denied},
				{AtMs: 750, Want: throttled(1000)},
				{AtMs: 1750, Bad: true, Want: denied},
				{AtMs: 1750, Want: throttled(1000)},
				{AtMs: 2750},
			},
		},
		{
			name: "three failures in the window lock out for the cooldown",
			attempts: []attempt{
				{AtMs: 0, Bad: true, Want: denied},
				{AtMs: 250, Bad: true, Want: denied},
				{AtMs: 750, Bad: true, Want: denied}, // third: reported as itself
				{AtMs: 800, Want: rateLimited(89_950)},
				{AtMs: 60_000, Want: rateLimited(30_750)},
				{AtMs: 90_749, Want: rateLimited(1)},
				{AtMs: 90_750}, // cooldown over and back-off long past
			},
		},
		{
			name: "failures spread beyond the window do not lock out",
			attempts: []attempt{
				{AtMs: 0, Bad: true, Want: denied},
				{AtMs: 30_000, Bad: true, Want: denied},
				{AtMs: 61_000, Bad: true, Want: denied},
				{AtMs: 61_999, Want: throttled(1)}, // 250 × 2^2
				{AtMs: 62_000},
			},
		},
		{
			name: "worker attach is gated by the lifecycle and counts as a failure",
			attempts: []attempt{
				{AtMs: 0, Role: "worker-heartbeat", Want: &Refusal{Reason: "policy", Detail: "lifecycle-denied", Extra: []string{"state", "BOOTING"}}},
				{AtMs: 10, Role: "queen", Want: throttled(240)},
				{AtMs: 250, Role: "queen"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			if tt.throttle != (ThrottleConfig{}) {
				cfg.Throttle = tt.throttle
			}
			s := NewState(cfg, 0) // BOOTING: the queen attaches, workers are gated
			runAttempts(t, s, tt.attempts)
		})
	}
}

func TestAttachAudit(t *testing.T) {
	s := NewState(testConfig(), 0)
	s.Apply(Attach{Role: "worker-heartbeat", Verdict: denied, Audit: []string{"ui-ticket outcome=deny reason=x"}}, 0)
	s.Apply(Attach{Role: "queen"}, 100)
	s.Apply(Attach{Role: "worker-heartbeat"}, 250)
	want := []string{
		"ui-ticket outcome=deny reason=x",
		"attach denied role=worker-heartbeat reason=policy detail=denied",
		"attach throttled (150 ms) peer=local",
		"lifecycle denied action=worker-attach state=BOOTING reason=gate-denied",
		"attach denied role=worker-heartbeat reason=policy detail=lifecycle-denied",
	}
	if !slices.Equal(s.log, want) {
		t.Errorf("log = %q; want %q", s.log, want)
	}
	s.Apply(Attach{Role: "queen", Verdict: denied}, 10_000)
	if want := "attach rate limited: peer=local failures=3 window_ms=60000 cooldown_ms=90000"; s.log[len(s.log)-1] != want {
		t.Errorf("last log line = %q; want %q", s.log[len(s.log)-1], want)
	}
	s.Apply(Attach{Role: "queen"}, 10_001)
	if want := "attach rate limited: role=queen delay_ms=89999 peer=local"; s.log[len(s.log)-1] != want {
		t.Errorf("last log line = %q; want %q", s.log[len(s.log)-1], want)
	}
}

// TestAttachKilledWorker: a ticket for a worker this hive has killed no
// longer attaches (its authority ended with the worker), while a live
// worker, a finished one (P5) and an id the hive never issued still do.
func TestAttachKilledWorker(t *testing.T) {
	s := onlineState(t, testConfig())
	w1 := mustSpawn(t, s, `{"spawn":"heartbeat","ticks":1000}`, bootMs)
	w2 := mustSpawn(t, s, `{"spawn":"heartbeat","ticks":1000}`, bootMs)
	if r := ctl(s, `{"kill":"`+w1+`"}`, bootMs); r.Err != nil {
		t.Fatalf("kill %s: %v", w1, r.Err)
	}
	for i, tc := range []struct {
		role, subject string
		want          *Refusal
	}{
		{"worker-heartbeat", w1, &Refusal{Reason: "policy", Detail: "revoked"}},
		{"worker-gpu", w1, &Refusal{Reason: "policy", Detail: "revoked"}},
		{"worker-heartbeat", w2, nil},
		{"worker-heartbeat", "worker-9", nil},  // never issued: the transport's rule
		{"worker-heartbeat", "worker-01", nil}, // not the id the hive issued
		{"queen", "", nil},
	} {
		// One peer per case: a refusal's back-off must not judge the next.
		peer := Peer{Transport: "tcp", Remote: "127.0.0." + strconv.Itoa(10+i) + ":1"}
		r := s.Apply(Attach{Role: tc.role, Subject: tc.subject, Peer: peer}, bootMs)
		var got *Refusal
		if r.Err != nil && !errors.As(r.Err, &got) {
			t.Fatalf("attach %s %s: error %v is not a *Refusal", tc.role, tc.subject, r.Err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("attach %s %s refusal mismatch (-want +got):\n%s", tc.role, tc.subject, diff)
		}
	}
	if !slices.ContainsFunc(s.log, func(l string) bool { return strings.HasPrefix(l, "attach denied worker="+w1+" reason=killed") }) {
		t.Errorf("log lacks the killed-worker denial: %q", s.log)
	}
}
