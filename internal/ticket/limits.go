package ticket

import (
	"errors"
	"fmt"
	"math"

	"github.com/cohesix/cohesix/generated"
)

// ExpiresAtMs returns issued_at_ms + ttl_s × 1000, saturating at
// math.MaxUint64, and whether a TTL is present.
func (c Claims) ExpiresAtMs() (uint64, bool) {
	if c.TTLs == nil {
		return 0, false
	}
	ttl := *c.TTLs
	if ttl > math.MaxUint64/1000 {
		return math.MaxUint64, true
	}
	ttlMs := ttl * 1000
	if c.IssuedAtMs > math.MaxUint64-ttlMs {
		return math.MaxUint64, true
	}
	return c.IssuedAtMs + ttlMs, true
}

// Expired reports whether nowMs >= issued_at_ms + ttl_s × 1000 (spec §4).
// Without a TTL a ticket never expires. An overflowing deadline saturates
// at math.MaxUint64.
func (c Claims) Expired(nowMs uint64) bool {
	at, ok := c.ExpiresAtMs()
	return ok && nowMs >= at
}

// CheckTime decides whether claims are valid at nowMs, for both
// transports, at attach and on every later operation. A ticket issued
// more than skewMs after nowMs is not yet valid (ErrNotYetValid): clocks
// of honest minters drift by less, and a ticket dated in the future would
// otherwise live its TTL plus the gap. Issued exactly skewMs ahead is
// accepted. Then Expired decides (ErrExpired). Both errors are wrapped
// with the figures the audit line names.
func (c Claims) CheckTime(nowMs, skewMs uint64) error {
	if nowMs <= math.MaxUint64-skewMs && c.IssuedAtMs > nowMs+skewMs {
		return fmt.Errorf("%w: issued_at_ms %d is %d ms ahead of now_ms %d, skew allowance %d ms",
			ErrNotYetValid, c.IssuedAtMs, c.IssuedAtMs-nowMs, nowMs, skewMs)
	}
	if c.Expired(nowMs) {
		at, _ := c.ExpiresAtMs()
		return fmt.Errorf("%w: expired at %d ms, now_ms %d", ErrExpired, at, nowMs)
	}
	return nil
}

// TimeDenialReason is the audit reason word for a CheckTime refusal:
// expired or not-yet-valid; "" for any other error.
func TimeDenialReason(err error) string {
	switch {
	case errors.Is(err, ErrExpired):
		return "expired"
	case errors.Is(err, ErrNotYetValid):
		return "not-yet-valid"
	}
	return ""
}

// TimeDenialAudit is the ui-ticket audit line for a CheckTime refusal of
// the ticket masked, on any transport; "" for any other error.
func TimeDenialAudit(err error, c Claims, masked string, nowMs, skewMs uint64) string {
	switch TimeDenialReason(err) {
	case "expired":
		var ttl uint64
		if c.TTLs != nil {
			ttl = *c.TTLs
		}
		return fmt.Sprintf("ui-ticket outcome=deny reason=expired role=%s ticket=%s issued_at_ms=%d ttl_s=%d now_ms=%d",
			c.Role, masked, c.IssuedAtMs, ttl, nowMs)
	case "not-yet-valid":
		return fmt.Sprintf("ui-ticket outcome=deny reason=not-yet-valid role=%s ticket=%s issued_at_ms=%d now_ms=%d skew_ms=%d",
			c.Role, masked, c.IssuedAtMs, nowMs, skewMs)
	}
	return ""
}

// Limits are the manifest's ticket_limits (spec §5). BandwidthBytes,
// CursorResumes, CursorAdvances and MaxScopeRatePerS are unlimited at 0.
// MaxScopes and MaxScopePathLen have no unlimited value: 0 allows no
// scopes and only the root path respectively; negative counts as 0.
// ClockSkewMs is how far in the future a ticket may be issued (CheckTime).
type Limits struct {
	MaxScopes        int
	MaxScopePathLen  int
	MaxScopeRatePerS int
	BandwidthBytes   uint64
	CursorResumes    uint32
	CursorAdvances   uint32
	ClockSkewMs      uint64
}

// DefaultLimits returns the manifest's ticket_limits.
func DefaultLimits() Limits {
	return Limits{
		MaxScopes:        generated.TicketLimitsMaxScopes,
		MaxScopePathLen:  generated.TicketLimitsMaxScopePathLen,
		MaxScopeRatePerS: generated.TicketLimitsMaxScopeRatePerS,
		BandwidthBytes:   generated.TicketLimitsBandwidthBytes,
		CursorResumes:    generated.TicketLimitsCursorResumes,
		CursorAdvances:   generated.TicketLimitsCursorAdvances,
		ClockSkewMs:      generated.TicketLimitsClockSkewMs,
	}
}

// CheckLimits refuses claims above the manifest caps, as the console does
// at attach (reason invalid-claims). The error wraps ErrInvalidClaims and
// names the manifest key, for example
// "ticket: invalid claims: 9 scopes exceed max_scopes 8". It also refuses
// scope paths with a ".." component, which scope matching rejects.
//
// A scope with rate_per_s 0 (unlimited) passes a non-zero
// max_scope_rate_per_s: the spec compares the requested value only.
// Likewise an absent quota passes; Limits.EffectiveQuotas gives it the cap.
func CheckLimits(c Claims, lim Limits) error {
	if n := len(c.Scopes); n > max(lim.MaxScopes, 0) {
		return fmt.Errorf("%w: %d scopes exceed max_scopes %d", ErrInvalidClaims, n, max(lim.MaxScopes, 0))
	}
	for i, s := range c.Scopes {
		if n := len(s.Path); n > max(lim.MaxScopePathLen, 0) {
			return fmt.Errorf("%w: scope %d path is %d bytes, exceeds max_scope_path_len %d",
				ErrInvalidClaims, i, n, max(lim.MaxScopePathLen, 0))
		}
		if _, ok := components(s.Path); !ok {
			return fmt.Errorf("%w: scope %d path has a \"..\" component", ErrInvalidClaims, i)
		}
		if s.Verb > VerbReadWrite {
			return fmt.Errorf("%w: scope %d verb %d", ErrInvalidClaims, i, uint8(s.Verb))
		}
		if lim.MaxScopeRatePerS > 0 && uint64(s.RatePerS) > uint64(lim.MaxScopeRatePerS) {
			return fmt.Errorf("%w: scope %d rate_per_s %d exceeds max_scope_rate_per_s %d",
				ErrInvalidClaims, i, s.RatePerS, lim.MaxScopeRatePerS)
		}
	}
	q := c.Quotas
	if lim.BandwidthBytes > 0 && q.BandwidthBytes > lim.BandwidthBytes {
		return fmt.Errorf("%w: bandwidth_bytes %d exceeds bandwidth_bytes %d",
			ErrInvalidClaims, q.BandwidthBytes, lim.BandwidthBytes)
	}
	if lim.CursorResumes > 0 && q.CursorResumes > lim.CursorResumes {
		return fmt.Errorf("%w: cursor_resumes %d exceeds cursor_resumes %d",
			ErrInvalidClaims, q.CursorResumes, lim.CursorResumes)
	}
	if lim.CursorAdvances > 0 && q.CursorAdvances > lim.CursorAdvances {
		return fmt.Errorf("%w: cursor_advances %d exceeds cursor_advances %d",
			ErrInvalidClaims, q.CursorAdvances, lim.CursorAdvances)
	}
	return nil
}

// EffectiveQuotas returns q with each absent (zero) quota set to the
// manifest cap (spec §5). A zero result field is unlimited.
func (l Limits) EffectiveQuotas(q Quotas) Quotas {
	if q.BandwidthBytes == 0 {
		q.BandwidthBytes = l.BandwidthBytes
	}
	if q.CursorResumes == 0 {
		q.CursorResumes = l.CursorResumes
	}
	if q.CursorAdvances == 0 {
		q.CursorAdvances = l.CursorAdvances
	}
	return q
}

// ManifestSecret returns the compiled manifest's secret for role
// ([[tickets]]), and false when the manifest configures none.
func ManifestSecret(role Role) (string, bool) {
	for _, t := range generated.Tickets {
		if t.Role == role.String() {
			return t.Secret, true
		}
	}
	return "", false
}
