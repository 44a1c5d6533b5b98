package gate

import (
	"errors"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/ticket"
)

// TicketDenial is a per-ticket refusal (spec roles-tickets §5) as the
// transports see it: errors.Is(err, errs.ErrQuota) for rate, bandwidth and
// cursor (console ELIMIT, 9P EDQUOT per DECISIONS D2), errs.ErrPermission
// for scope (EPERM). Its audit line has been written.
type TicketDenial struct{ *ticket.Denial }

// Unwrap gives the refusal class.
func (d TicketDenial) Unwrap() error {
	if d.Quota() {
		return errs.ErrQuota
	}
	return errs.ErrPermission
}

// AsTicketDenial reports whether err is a per-ticket refusal.
func AsTicketDenial(err error) (TicketDenial, bool) {
	var d TicketDenial
	ok := errors.As(err, &d)
	return d, ok
}

// EnforceTicket attaches the authority's enforcement state for token to s
// (DECISIONS P15): a worker ticket gets its claims with absent quotas
// defaulted to the manifest caps; a queen ticket is unbounded (spec
// roles-tickets §3) unless its claims carry scopes or quotas. A session
// with no ticket (the console queen) is not enforced.
func (ns *Namespace) EnforceTicket(s *Session, token string, claims ticket.Claims, lim ticket.Limits) {
	if token == "" {
		return
	}
	defaults := claims.Role != ticket.RoleQueen
	s.enf = ns.q.Tickets.Enforcer(token, generated.QueenMaxSessions, func() *ticket.Enforcer {
		return ticket.NewEnforcer(claims, lim, defaults, s.Ticket, generated.TicketLimitsRateWindowMs, 2*generated.QueenMaxWorkers)
	})
}

// Enforced reports whether s carries per-ticket state.
func (s *Session) Enforced() bool { return s.enf != nil }

func (ns *Namespace) ticketDeny(s *Session, d *ticket.Denial) error {
	ns.q.Audit(d.Audit + s.Peer.Fields())
	return TicketDenial{d}
}

// TicketAuthorize applies the session ticket's scope and rate limit to a
// request for path (canonical) with verb.
func (ns *Namespace) TicketAuthorize(s *Session, path string, v ticket.Verb, listing bool) error {
	if s.enf == nil {
		return nil
	}
	if d := s.enf.Authorize(path, v, listing, ns.nowMs()); d != nil {
		return ns.ticketDeny(s, d)
	}
	return nil
}

// TicketScope applies the session ticket's scope alone (9P open).
func (ns *Namespace) TicketScope(s *Session, path string, v ticket.Verb) error {
	if s.enf == nil {
		return nil
	}
	if d := s.enf.Scope(path, v, false); d != nil {
		return ns.ticketDeny(s, d)
	}
	return nil
}

// TicketAuthorizePath is TicketAuthorize for a path as a client wrote it:
// the session's binds are applied first, so a bind cannot step around a
// scope. A malformed path passes; Resolve refuses it.
func (ns *Namespace) TicketAuthorizePath(s *Session, path string, v ticket.Verb, listing bool) error {
	if s.enf == nil {
		return nil
	}
	comps, err := ns.Split(path)
	if err != nil {
		return nil
	}
	return ns.TicketAuthorize(s, Join(ns.Rebind(s, comps)), v, listing)
}

// TicketBandwidth spends n bytes of the session ticket's bandwidth.
func (ns *Namespace) TicketBandwidth(s *Session, path string, v ticket.Verb, n int) error {
	if s.enf == nil || n <= 0 {
		return nil
	}
	if d := s.enf.Bandwidth(path, v, uint64(n)); d != nil {
		return ns.ticketDeny(s, d)
	}
	return nil
}

// IsTelemetryPath reports whether canonical comps name a worker telemetry
// ring, the paths cursor quotas govern.
func IsTelemetryPath(comps []string) bool {
	return len(comps) > 0 && comps[len(comps)-1] == "telemetry" && (comps[0] == "worker" || comps[0] == "shard")
}

// TicketCursor charges a read of a telemetry path at off against the
// session ticket's cursor quotas; other paths are not charged.
func (ns *Namespace) TicketCursor(s *Session, comps []string, off uint64) error {
	if s.enf == nil || !IsTelemetryPath(comps) {
		return nil
	}
	if d := s.enf.Cursor(Join(comps), off); d != nil {
		return ns.ticketDeny(s, d)
	}
	return nil
}

// TicketRecord records the end of a telemetry read as the cursor.
func (ns *Namespace) TicketRecord(s *Session, comps []string, end uint64) {
	if s.enf != nil && IsTelemetryPath(comps) {
		s.enf.Record(Join(comps), end)
	}
}
