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

// DelayMs is the delay_ms of a throttle refusal, 0 for any other.
func (r *Refusal) DelayMs() uint64 {
	for i := 0; i+1 < len(r.Extra); i += 2 {
		if r.Extra[i] == "delay_ms" {
			d, _ := strconv.ParseUint(r.Extra[i+1], 10, 64)
			return d
		}
	}
	return 0
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

// throttle is one key's back-off and lockout state (peers.go).
type throttle struct {
	failures     int
	blockedUntil uint64
	lockedUntil  uint64
	recent       []uint64 // failure times inside the lockout window
}

// Attach records a console attach attempt. Verdict is the console's own
// verdict on the ticket (nil = valid); the authority applies the peer's
// throttle first, then the worker-attach lifecycle gate, then records the
// outcome against the peer, and against the presented subject when the
// ticket's MAC did not verify (DECISIONS P7).
type Attach struct {
	Peer    Peer
	Subject string // the presented ticket's subject (unverified), "" if none
	Guess   bool   // the verdict is a ticket whose MAC did not verify
	Role    string
	Verdict *Refusal
	Audit   []string // lines explaining a failed verdict
}

func (Attach) isCmd()                                {}
func (c Attach) apply(s *State, nowMs uint64) Result { return s.attach(c, nowMs) }

func (s *State) attach(c Attach, nowMs uint64) Result {
	keys := peerKeys(c.Peer, c.Subject)
	fields := c.Peer.Fields()
	if b, blocked := s.peerBlocked(keys, nowMs); blocked {
		line := fmt.Sprintf("attach throttled (%d ms) %s%s", b.delayMs, b.key, fields)
		if b.locked {
			line = fmt.Sprintf("attach rate limited: role=%s delay_ms=%d %s%s", c.Role, b.delayMs, b.key, fields)
		}
		s.peerAudit(c.Peer, nowMs, line)
		return Result{Err: b.refusal()}
	}
	verdict := c.Verdict
	var lines []string
	if verdict == nil && c.Role != "queen" && !Gate(s.lifecycle.State, "worker-attach") {
		lines = append(lines, fmt.Sprintf("lifecycle denied action=worker-attach state=%s reason=gate-denied", s.lifecycle.State))
		verdict = &Refusal{Reason: "policy", Detail: "lifecycle-denied", Extra: []string{"state", s.lifecycle.State}}
	}
	if verdict == nil && s.killed(c.Role, c.Subject) {
		lines = append(lines, fmt.Sprintf("attach denied worker=%s reason=killed", c.Subject))
		verdict = &Refusal{Reason: "policy", Detail: "revoked"}
	}
	if verdict == nil {
		s.peerSucceeded(keys)
		s.audit("attach accepted role=" + c.Role + fields)
		return Result{}
	}
	if c.Role == "queen" {
		s.queenAttachFailed()
	}
	lines = append(append(lines, c.Audit...), fmt.Sprintf("attach denied role=%s reason=%s detail=%s%s", c.Role, verdict.Reason, verdict.Detail, fields))
	locks := s.peerFailed(failedKeys(c.Peer, c.Subject, c.Guess), "attach", c.Peer, nowMs)
	s.peerAudit(c.Peer, nowMs, lines...)
	for _, l := range locks {
		s.audit(l)
	}
	return Result{Err: verdict}
}

// killed reports whether subject names a worker of a spawned role that
// this hive made and has since killed (or that a restart ended): its
// ticket no longer carries authority (DECISIONS P38). A subject the hive
// never issued is left to the transport's rules (the console attaches it,
// spec console §6; Secure9P requires a live worker).
func (s *State) killed(role, subject string) bool {
	if role != "worker-heartbeat" && role != "worker-gpu" {
		return false
	}
	if id, ok := workerNum(subject); !ok || id >= s.nextWorker {
		return false
	}
	_, live := s.workers[subject]
	return !live
}
