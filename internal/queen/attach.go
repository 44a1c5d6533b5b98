package queen

import (
	"fmt"
	"strconv"

	"github.com/cohesix/cohesix/generated"
)

// Refusal is a console-facing refusal decided by the authority: the spec's
// reason and detail tag plus extra key=value pairs (delay_ms=..., state=...).
type Refusal struct {
	Reason string
	Detail string
	Extra  []string
}

func (r *Refusal) Error() string { return "refused reason=" + r.Reason + " detail=" + r.Detail }

// ThrottleConfig bounds console attach attempts (spec console §6).
type ThrottleConfig struct {
	BackoffBaseMs   uint64
	BackoffMaxExp   int
	LockoutFailures int
	LockoutWindowMs uint64
	LockoutCoolMs   uint64
}

// DefaultThrottle reads the attach throttle from the generated tables.
func DefaultThrottle() ThrottleConfig {
	return ThrottleConfig{
		BackoffBaseMs:   generated.ConsoleAttachBackoffBaseMs,
		BackoffMaxExp:   generated.ConsoleAttachBackoffMaxExponent,
		LockoutFailures: generated.ConsoleAttachLockoutFailures,
		LockoutWindowMs: generated.ConsoleAttachLockoutWindowMs,
		LockoutCoolMs:   generated.ConsoleAttachLockoutCooldownMs,
	}
}

// throttle is the attach back-off and lockout state.
type throttle struct {
	failures     int
	blockedUntil uint64
	lockedUntil  uint64
	recent       []uint64 // failure times inside the lockout window
}

// Attach records a console attach attempt. Verdict is the console's own
// verdict on the ticket (nil = valid); the authority applies the throttle
// first, then the worker-attach lifecycle gate, then records the outcome.
type Attach struct {
	Role    string
	Verdict *Refusal
	Audit   []string // lines explaining a failed verdict
}

func (Attach) isCmd() {}

func (s *State) attach(c Attach, nowMs uint64) Result {
	t := &s.throttle
	if nowMs < t.lockedUntil {
		d := t.lockedUntil - nowMs
		s.audit(fmt.Sprintf("attach rate limited: role=%s delay_ms=%d", c.Role, d))
		return Result{Err: &Refusal{Reason: "quota", Detail: "rate-limited", Extra: []string{"delay_ms", strconv.FormatUint(d, 10)}}}
	}
	if nowMs < t.blockedUntil {
		d := t.blockedUntil - nowMs
		s.audit(fmt.Sprintf("attach throttled (%d ms)", d))
		return Result{Err: &Refusal{Reason: "quota", Detail: "throttled", Extra: []string{"delay_ms", strconv.FormatUint(d, 10)}}}
	}
	verdict := c.Verdict
	if verdict == nil && c.Role != "queen" && !Gate(s.lifecycle.State, "worker-attach") {
		s.audit(fmt.Sprintf("lifecycle denied action=worker-attach state=%s reason=gate-denied", s.lifecycle.State))
		verdict = &Refusal{Reason: "policy", Detail: "lifecycle-denied", Extra: []string{"state", s.lifecycle.State}}
	}
	if verdict == nil {
		s.throttle = throttle{}
		s.audit("attach accepted role=" + c.Role)
		return Result{}
	}
	for _, l := range c.Audit {
		s.audit(l)
	}
	if c.Role == "queen" {
		s.queenAttachFailed()
	}
	s.audit(fmt.Sprintf("attach denied role=%s reason=%s detail=%s", c.Role, verdict.Reason, verdict.Detail))
	t.failures++
	exp := min(t.failures-1, s.throttleCfg.BackoffMaxExp)
	t.blockedUntil = nowMs + s.throttleCfg.BackoffBaseMs<<exp
	keep := t.recent[:0]
	for _, at := range t.recent {
		if nowMs-at < s.throttleCfg.LockoutWindowMs {
			keep = append(keep, at)
		}
	}
	t.recent = append(keep, nowMs)
	if len(t.recent) >= s.throttleCfg.LockoutFailures {
		t.lockedUntil = nowMs + s.throttleCfg.LockoutCoolMs
		t.recent = nil
		s.audit(fmt.Sprintf("attach rate limited: failures=%d window_ms=%d cooldown_ms=%d", s.throttleCfg.LockoutFailures, s.throttleCfg.LockoutWindowMs, s.throttleCfg.LockoutCoolMs))
	}
	return Result{Err: verdict}
}
