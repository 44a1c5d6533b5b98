package secure9p

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cohesix/cohesix/internal/auditline"
	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/ticket"
)

// authorize decides a Tattach (spec secure9p §5 with DECISIONS D3): the
// ticket in aname is required, its MAC must verify with its role's secret,
// and the claims must be in date and within the manifest limits. uname is
// advisory. A worker's subject must name a live worker of its role. A
// connection has one identity: a later attach must carry the same ticket.
// Every refusal is audited.
func (c *conn) authorize(uname, aname string) error {
	srv := c.srv
	q := srv.ns.Queen()
	token := strings.TrimSpace(aname)
	masked := ticket.MaskToken(token)
	deny := func(role, reason string, err error, extra ...string) error {
		q.Audit(append(extra, fmt.Sprintf("nine-door: attach denied role=%s reason=%s", role, reason))...)
		return err
	}
	eperm := func(msg string) error { return errs.New(errs.ErrPermission, "%s", msg) }

	if token == "" {
		return deny("none", "ticket-required", eperm("ticket required"))
	}
	if len(token) > ticket.MaxTokenLen {
		return deny("none", "ticket-too-long", eperm("ticket rejected"))
	}
	if c.token != "" {
		// The Linux client attaches again with an empty uname; identity
		// comes from the ticket, so the same ticket is the same session.
		s := c.session.Load()
		if token != c.token {
			return deny(s.Role.String(), "ticket-mismatch", eperm("connection already attached"))
		}
		if err := checkUname(uname, s.Role, s.Subject); err != nil {
			return deny(s.Role.String(), "uname-mismatch", err)
		}
		return nil
	}

	unverified, err := ticket.Parse(token)
	if err != nil {
		return deny("none", "invalid-ticket", eperm("ticket rejected"))
	}
	role := unverified.Role
	var claims ticket.Claims
	err = errNoSecret
	for _, k := range srv.keys[role] {
		if claims, err = ticket.VerifyWithKey(token, k); err == nil {
			break
		}
	}
	if err != nil {
		return deny(role.String(), "ticket-rejected", eperm("ticket rejected"))
	}

	snap := q.Snapshot()
	if role != ticket.RoleQueen && !queen.Gate(snap.Lifecycle.State, "worker-attach") {
		return deny(role.String(), "gate-denied", eperm("EPERM"),
			fmt.Sprintf("lifecycle denied action=worker-attach state=%s reason=gate-denied", snap.Lifecycle.State))
	}
	nowMs := uint64(srv.clock().UnixMilli())
	if claims.Expired(nowMs) {
		var ttl uint64
		if claims.TTLs != nil {
			ttl = *claims.TTLs
		}
		return deny(role.String(), "expired", eperm("ticket expired"),
			fmt.Sprintf("ui-ticket outcome=deny reason=expired role=%s ticket=%s issued_at_ms=%d ttl_s=%d now_ms=%d",
				role, masked, claims.IssuedAtMs, ttl, nowMs))
	}
	if err := ticket.CheckLimits(claims, srv.cfg.TicketLimits); err != nil {
		return deny(role.String(), "invalid-claims", eperm("ticket invalid"),
			fmt.Sprintf("ui-ticket outcome=deny reason=invalid-claims role=%s ticket=%s detail=%s", role, masked, err))
	}
	if err := checkUname(uname, role, claims.Subject); err != nil {
		return deny(role.String(), "uname-mismatch", err)
	}

	subject := claims.Subject
	if role.IsWorker() {
		if subject == "" {
			return deny(role.String(), "identity-required", errs.New(errs.ErrInvalid, "%s attach requires identity", role))
		}
		switch role {
		case ticket.RoleWorkerHeartbeat, ticket.RoleWorkerGPU:
			if w, ok := snap.Worker(subject); !ok || w.Role != role.String() {
				return deny(role.String(), "worker-not-found", errs.New(errs.ErrNotFound, "worker %s not found", subject))
			}
		default:
			// No sidecar scopes are configured in this build.
			kind := strings.TrimPrefix(role.String(), "worker-")
			return deny(role.String(), "scope-not-found", errs.New(errs.ErrNotFound, "%s scope %s not found", kind, subject))
		}
	}

	s := srv.ns.OpenSession(role, subject, masked, "9p")         // /proc/9p/session
	srv.ns.EnforceTicket(s, token, claims, srv.cfg.TicketLimits) // spec roles-tickets §5
	c.token = token
	c.session.Store(s)
	who := subject
	if who == "" {
		who = "none"
	}
	q.Audit(fmt.Sprintf("nine-door: attach role=%s subject=%s session=%d ticket=%s", role, auditline.Field(who), s.ID, masked))
	return nil
}

var errNoSecret = errors.New("no secret for role")

// checkUname applies the advisory uname (DECISIONS D3): "queen" or
// "<role>:<identity>" must agree with the ticket; anything else (a stock
// client's local user name, or empty) is ignored.
func checkUname(uname string, role ticket.Role, subject string) error {
	mismatch := errs.New(errs.ErrPermission, "ticket role mismatch")
	if uname == "queen" {
		if role != ticket.RoleQueen {
			return mismatch
		}
		return nil
	}
	label, id, ok := strings.Cut(uname, ":")
	if !ok {
		return nil
	}
	r, err := ticket.ParseRole(label)
	if err != nil {
		return nil
	}
	if r != role {
		return mismatch
	}
	if id != subject {
		return errs.New(errs.ErrPermission, "ticket subject mismatch")
	}
	return nil
}
