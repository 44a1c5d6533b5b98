package secure9p

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/hugelgupf/p9/linux"

	"github.com/cohesix/cohesix/internal/auditline"
	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/gate"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/ticket"
)

// attachLabel starts the audit lines of a Tattach.
const attachLabel = "nine-door: attach"

// authorize decides a Tattach (spec secure9p §5 with DECISIONS D3): the
// ticket in aname is required, its MAC must verify with one of its role's
// secrets, the worker-attach lifecycle gate must be open for a worker role,
// and the claims must be in date (ticket.Claims.CheckTime: not issued
// beyond the clock skew allowance, not expired) and within the manifest
// limits. uname is advisory. A worker's subject must name a live worker of
// its role. A connection has one identity: a later attach must carry the
// same ticket. Every refusal is audited. The first attach of a connection
// is one queen command (DECISIONS P7, P45): the per-peer throttle is
// checked first, so a held-back peer gets EAGAIN and no verdict, then the
// lifecycle gate, then the outcome is counted. A trusted forwarder's
// via=<ip:port> uname makes the forwarded client the peer of all of it
// (DECISIONS P48).
func (c *conn) authorize(uname, aname string) error {
	token := strings.TrimSpace(aname)
	if c.token != "" {
		return c.reattach(uname, token)
	}
	q := c.srv.ns.Queen()
	peer, uname, ignored, err := c.delegate(uname)
	if err != nil {
		return err
	}
	unverified, perr := ticket.Parse(token)
	s, lines, err := c.verify(peer, uname, token, unverified, perr)
	if ignored != "" && err != nil {
		lines = append([]string{ignored}, lines...)
	}
	attempt := queen.PeerAttempt{Peer: peer, Subject: unverified.Subject, Label: attachLabel, Failed: err != nil, Guess: errors.Is(err, errForged),
		Authenticated: err == nil, Lines: lines, WorkerGate: s.gate}
	if _, qerr := q.Do(context.Background(), attempt); qerr != nil {
		return throttledErr(qerr) // a held-back peer learns no verdict
	}
	if err != nil {
		return err
	}
	// Authority is checked on every request (conn.Read); the door's watch
	// also closes the connection at the expiry instant or the worker's
	// revocation.
	c.peer = peer
	sess := c.srv.door.Begin(s.role, s.claims, token, c.peer, func() { c.nc.Close() })
	c.token = token
	c.session.Store(sess)
	who := s.claims.Subject
	if who == "" {
		who = "none"
	}
	q.Audit(fmt.Sprintf("%s role=%s subject=%s session=%d ticket=%s%s", attachLabel, s.role, auditline.Field(who), sess.ID, ticket.MaskToken(token), c.peer.Fields()))
	if ignored != "" {
		q.Audit(ignored)
	}
	return nil
}

// viaPrefix starts the uname of a Tattach a forwarder (hive-gateway) makes
// for a client: via=<ip:port> (DECISIONS P48).
const viaPrefix = "via="

// delegate reads a via=<ip:port> uname. From a trusted forwarder it
// returns the peer that names the forwarded client, so the throttle keys
// on the client and every line of the session names it; an unparsable via
// there is a forwarder fault, refused EINVAL and audited, not counted as a
// guess. From any other peer via is advisory like any uname: the
// connection's own address stays the peer, and ignored is the line that
// says so, written once with the attach's outcome. The rest of the uname
// checkUname sees is "" for a via uname.
func (c *conn) delegate(uname string) (peer queen.Peer, rest, ignored string, err error) {
	raw, ok := strings.CutPrefix(uname, viaPrefix)
	if !ok {
		return c.peer, uname, "", nil
	}
	if !c.srv.trusted(c.peer) {
		return c.peer, "", fmt.Sprintf("%s via ignored reason=untrusted-forwarder via=%s%s", attachLabel, viaField(raw), c.peer.Fields()), nil
	}
	via, ok := parseVia(raw)
	if !ok {
		c.srv.ns.Queen().Audit(fmt.Sprintf("%s denied role=none reason=invalid-via via=%s%s", attachLabel, viaField(raw), c.peer.Fields()))
		return c.peer, "", "", errs.New(errs.ErrInvalid, "via is not an ip:port")
	}
	peer = c.peer
	peer.Via = via
	return peer, "", "", nil
}

// parseVia reads the address of a via uname: an IP (IPv6 in brackets, an
// IPv4-mapped one unmapped, no zone) and a port. It returns the canonical
// form, which holds no byte the client chose beyond digits, hex, dots,
// colons and brackets, and so goes into audit lines as it is.
func parseVia(raw string) (string, bool) {
	ap, err := netip.ParseAddrPort(raw)
	if err != nil || ap.Addr().Zone() != "" {
		return "", false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String(), true
}

// viaField renders a via value that did not parse as one audit field:
// control bytes escaped (auditline.Field) and spaces too, so a forged
// "1.2.3.4:5 role=queen" cannot add a field to the line.
func viaField(via string) string {
	return strings.ReplaceAll(auditline.Field(via), " ", `\x20`)
}

// throttledErr is the 9P answer to a held-back peer: EAGAIN, the errno
// that says "not now, later" without judging the ticket (EPERM would
// claim a verdict the hive did not reach), or EBUSY when the queen's inbox
// was full.
func throttledErr(err error) error {
	var r *queen.Refusal
	if errors.As(err, &r) {
		return linux.EAGAIN
	}
	return err
}

// reattach checks a later Tattach on an attached connection: the Linux
// client attaches again with an empty uname; identity comes from the
// ticket, so the same ticket is the same session. The connection is
// authenticated, so this is not throttled.
func (c *conn) reattach(uname, token string) error {
	s := c.session.Load()
	deny := func(reason string, err error) error {
		c.srv.ns.Queen().Audit(fmt.Sprintf("%s denied role=%s reason=%s%s", attachLabel, s.Role, reason, c.peer.Fields()))
		return err
	}
	if token != c.token {
		return deny("ticket-mismatch", errs.New(errs.ErrPermission, "connection already attached"))
	}
	if err := checkUname(uname, s.Role, s.Subject); err != nil {
		return deny("uname-mismatch", err)
	}
	return nil
}

// verified is the identity of a ticket that passed every check. gate is
// the role the queen must pass through the worker-attach gate: set once
// the MAC of a worker ticket verifies, whatever the later checks find.
type verified struct {
	role   ticket.Role
	claims ticket.Claims
	gate   string
}

// verify checks a first Tattach's ticket; on refusal it returns the audit
// lines explaining it, which the queen writes under the summary of peer
// (the forwarded client's, for a trusted forwarder's via).
func (c *conn) verify(peer queen.Peer, uname, token string, unverified ticket.Claims, perr error) (verified, []string, error) {
	srv := c.srv
	var gated string
	deny := func(role, reason string, err error, extra ...string) (verified, []string, error) {
		return verified{gate: gated}, append(extra, fmt.Sprintf("%s denied role=%s reason=%s%s", attachLabel, role, reason, peer.Fields())), err
	}
	eperm := func(msg string) error { return errs.New(errs.ErrPermission, "%s", msg) }

	if token == "" {
		return deny("none", "ticket-required", eperm("ticket required"))
	}
	if len(token) > ticket.MaxTokenLen {
		return deny("none", "ticket-too-long", eperm("ticket rejected"))
	}
	if perr != nil {
		return deny("none", "invalid-ticket", eperm("ticket rejected"))
	}
	role := unverified.Role
	v := srv.door.VerifyTicket(token, role)
	if v.Fail == gate.NoEntropy {
		return deny(role.String(), "no-entropy", eperm("no entropy source: tickets are refused"), v.Audit)
	}
	if v.Fail != gate.Passed {
		return deny(role.String(), "ticket-rejected", errForged)
	}

	if role != ticket.RoleQueen {
		gated = role.String() // the queen applies the gate before this verdict
	}
	v = srv.door.CheckClaims(v.Claims, token)
	switch v.Fail {
	case gate.Expired, gate.NotYetValid:
		reason := ticket.TimeDenialReason(v.Err)
		return deny(role.String(), reason, eperm("ticket "+reason), v.Audit)
	case gate.OverLimits:
		return deny(role.String(), "invalid-claims", eperm("ticket invalid"), v.Audit)
	}
	claims := v.Claims
	if err := checkUname(uname, role, claims.Subject); err != nil {
		return deny(role.String(), "uname-mismatch", err)
	}
	if reason, err := checkIdentity(role, claims.Subject, srv.ns.Queen().Snapshot()); err != nil {
		return deny(role.String(), reason, err)
	}
	return verified{role: role, claims: claims, gate: gated}, nil, nil
}

// checkIdentity applies the identity rules of a worker role: a subject is
// required, and names a live worker of the role (heartbeat, gpu) or a
// sidecar scope (bus, lora: none is configured in this build). It returns
// the audit reason with the refusal.
func checkIdentity(role ticket.Role, subject string, snap *queen.Snapshot) (string, error) {
	if !role.IsWorker() {
		return "", nil
	}
	if subject == "" {
		return "identity-required", errs.New(errs.ErrInvalid, "%s attach requires identity", role)
	}
	switch role {
	case ticket.RoleWorkerHeartbeat, ticket.RoleWorkerGPU:
		if w, ok := snap.Worker(subject); !ok || w.Role != role.String() {
			return "worker-not-found", errs.New(errs.ErrNotFound, "worker %s not found", subject)
		}
		return "", nil
	}
	kind := strings.TrimPrefix(role.String(), "worker-")
	return "scope-not-found", errs.New(errs.ErrNotFound, "%s scope %s not found", kind, subject)
}

// errForged refuses a ticket whose MAC no key of its role verifies; the
// queen counts it against the presented subject as well (DECISIONS P7).
var errForged = errs.New(errs.ErrPermission, "ticket rejected")

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
