package gate

import (
	"errors"
	"fmt"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/ticket"
)

// DoorConfig is what the door needs to judge credentials.
type DoorConfig struct {
	// Tickets are the per-role ticket secrets ([[tickets]]); every secret
	// of a role verifies its tickets.
	Tickets []generated.TicketsEntry
	// Limits are the manifest's ticket_limits.
	Limits ticket.Limits
	// Now is the clock tickets are judged by; nil means time.Now.
	Now func() time.Time
	// NoEntropy, when set, says the platform has no entropy source (it
	// wraps platform.ErrNoEntropy): every ticket is refused, since nothing
	// secret may be minted or accepted on such a hive (DECISIONS P73).
	NoEntropy error
}

// Failure names the ticket check that refused a credential; each
// transport renders it in its own words (console reason/detail, 9P audit
// reason and errno).
type Failure uint8

const (
	Passed      Failure = iota
	Forged              // no key of the role verifies the token: a guess (DECISIONS P7)
	BadClaims           // the MAC verifies but the claims do not decode
	WrongRole           // a valid ticket of another role than the one declared
	Expired             // past its ttl
	NotYetValid         // issued beyond the clock skew allowance
	OverLimits          // claims beyond the manifest's ticket_limits
	NoEntropy           // the platform has no entropy source: no ticket is accepted (DECISIONS P73)
)

// Verdict is the door's judgement of a ticket.
type Verdict struct {
	Fail   Failure
	Claims ticket.Claims // the verified claims when Fail is Passed (or a time or limit failure)
	Err    error         // the ticket package's error, nil when Passed
	Audit  string        // the ui-ticket line explaining a claims, time or limit failure, else ""
}

// VerifyTicket checks token's MAC against every key of role and decodes
// its claims (spec roles-tickets §4). It does not judge time or limits:
// transports differ in what they check between (Secure9P's lifecycle
// gate), so that is CheckClaims.
func (d *Door) VerifyTicket(token string, role ticket.Role) Verdict {
	if d.cfg.NoEntropy != nil {
		return Verdict{Fail: NoEntropy, Err: d.cfg.NoEntropy, Audit: fmt.Sprintf("ui-ticket outcome=deny reason=no-entropy role=%s ticket=%s", role, ticket.MaskToken(token))}
	}
	var claims ticket.Claims
	err := errNoKey
	for _, k := range d.keys[role] {
		if claims, err = ticket.VerifyWithKey(token, k); err == nil || !forgery(err) {
			break
		}
	}
	switch {
	case err != nil && forgery(err):
		return Verdict{Fail: Forged, Err: err}
	case err != nil:
		return Verdict{Fail: BadClaims, Err: err, Audit: claimsAudit(role, token, err)}
	case claims.Role != role:
		return Verdict{Fail: WrongRole, Claims: claims, Err: errWrongRole}
	}
	return Verdict{Claims: claims}
}

// CheckClaims judges verified claims: in date (not issued beyond the clock
// skew allowance, not expired), then within the manifest limits.
func (d *Door) CheckClaims(claims ticket.Claims, token string) Verdict {
	masked, nowMs, skew := ticket.MaskToken(token), d.NowMs(), d.cfg.Limits.ClockSkewMs
	if err := claims.CheckTime(nowMs, skew); err != nil {
		fail := Expired
		if errors.Is(err, ticket.ErrNotYetValid) {
			fail = NotYetValid
		}
		return Verdict{Fail: fail, Claims: claims, Err: err, Audit: ticket.TimeDenialAudit(err, claims, masked, nowMs, skew)}
	}
	if err := ticket.CheckLimits(claims, d.cfg.Limits); err != nil {
		return Verdict{Fail: OverLimits, Claims: claims, Err: err, Audit: claimsAudit(claims.Role, token, err)}
	}
	return Verdict{Claims: claims}
}

// claimsAudit is the ui-ticket line for claims the hive refuses.
func claimsAudit(role ticket.Role, token string, err error) string {
	return fmt.Sprintf("ui-ticket outcome=deny reason=invalid-claims role=%s ticket=%s detail=%v", role, ticket.MaskToken(token), err)
}

// forgery reports whether a verification error says the token is not one
// of ours (bad MAC or shape) rather than ours with claims we refuse.
func forgery(err error) bool {
	return errors.Is(err, errNoKey) || errors.Is(err, ticket.ErrMacMismatch) || errors.Is(err, ticket.ErrMalformedToken) ||
		errors.Is(err, ticket.ErrMissingPrefix) || errors.Is(err, ticket.ErrInvalidMacLength)
}

var (
	errNoKey     = errors.New("no secret for role")
	errWrongRole = errors.New("ticket of another role")
)

// NoEntropy is why the platform has no entropy source, or nil: tickets and
// the console's AUTH token are then refused (DECISIONS P73).
func (d *Door) NoEntropy() error { return d.cfg.NoEntropy }

// NowMs is the door's clock in Unix milliseconds.
func (d *Door) NowMs() uint64 { return uint64(d.cfg.Now().UnixMilli()) }

// Limits are the ticket limits the door applies.
func (d *Door) Limits() ticket.Limits { return d.cfg.Limits }

// Begin opens the session of an accepted attach: registered with the queen
// (/proc/9p/session), its ticket's scopes and quotas enforced (spec
// roles-tickets §5), and watched by the authority, which ends it at the
// ticket's expiry or its worker's revocation and then calls closeConn (nil
// on the serial line). token is "" for the console queen's ticketless
// attach.
func (d *Door) Begin(role ticket.Role, claims ticket.Claims, token string, peer queen.Peer, closeConn func()) *Session {
	masked := ""
	if token != "" {
		masked = ticket.MaskToken(token)
	}
	s := d.ns.OpenSession(role, claims.Subject, masked, peer)
	d.ns.EnforceTicket(s, token, claims, d.cfg.Limits)
	d.ns.Guard(s, Watch{Claims: claims, SkewMs: d.cfg.Limits.ClockSkewMs,
		Worker: d.ns.RunningWorker(role, claims.Subject), Close: closeConn})
	return s
}

// End closes s (quit, eof, error, replaced, revoked, inactivity-timeout).
func (d *Door) End(s *Session, reason string) { d.ns.CloseSession(s, reason) }

// Live reports whether the authority still lets s act (Live).
func (d *Door) Live(s *Session) error { return d.ns.Live(s) }
