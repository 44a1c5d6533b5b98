package consoleserver

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/gate"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/ticket"
)

// Session is one console conversation (a TCP connection or the
// serial line). It is used by one goroutine at a time.
type Session struct {
	srv  *Server
	peer queen.Peer // transport and remote address, for the throttle and audit lines
	sess *gate.Session
	// closeConn ends the connection when the authority ends the session
	// between verbs (gate.Watch.Close); nil on the serial line.
	closeConn func()
	// endReason is why dispatch ended the conversation, if the authority
	// did (the connection close audit names it).
	endReason string
}

// Dispatch runs one console line and returns the lines to send, in order.
// quit reports whether the session asked to end. Every verb is one entry
// of the verb table (verbs.go); the checks every verb shares run here: the
// grammar, the authority's verdict on the session, and who may run it.
func (c *Session) Dispatch(line string) (out []string, quit bool) {
	cmd, err := console.Parse(line, c.srv.lim)
	if err != nil {
		return []string{c.parseError(err)}, false
	}
	label := cmd.Verb.Label()
	if err := c.srv.door.Live(c.sess); err != nil {
		return []string{c.ended(label, err)}, true
	}
	if c.isQueen() {
		c.srv.ns.QueenSeen() // /proc/root/last_seen_ms
	}
	v, ok := verbs[cmd.Verb]
	if !ok {
		return nil, false
	}
	if (v.need == attached && c.sess == nil) || (v.need == queenOnly && !c.isQueen()) {
		return []string{c.refuse(label, console.ReasonPolicy, console.DetailUnauthenticated, "unauthenticated command verb="+string(cmd.Verb))}, false
	}
	return v.run(c, cmd, label)
}

// parseError answers a line the grammar refuses and audits it.
func (c *Session) parseError(err error) string {
	var pe *console.ParseError
	if !errors.As(err, &pe) {
		pe = &console.ParseError{Msg: console.MsgUnsupportedCommand}
	}
	c.refused(pe.Ack(), "console error: "+pe.Msg)
	return pe.Ack().Render(c.srv.lim)
}

// isQueen reports whether the session is attached as the queen.
func (c *Session) isQueen() bool { return c.sess != nil && c.sess.Role == ticket.RoleQueen }

// refuse renders a refusal with kv, counts it and writes audit (if not "").
func (c *Session) refuse(label, reason, detail, audit string, kv ...string) string {
	a := console.Refusal(label, reason, detail, kv...)
	c.refused(a, audit)
	return a.Render(c.srv.lim)
}

// refused counts a refusal in /proc/pressure and writes its audit line.
func (c *Session) refused(a console.Ack, audit string) {
	switch a.Reason() {
	case console.ReasonBusy:
		c.srv.q.Pressure.Busy.Add(1)
	case console.ReasonQuota:
		c.srv.q.Pressure.Quota.Add(1)
	case console.ReasonCut:
		c.srv.q.Pressure.Cut.Add(1)
	case console.ReasonPolicy:
		c.srv.q.Pressure.Policy.Add(1)
	}
	if audit != "" {
		c.srv.q.Audit(audit + c.peer.Fields())
	}
}

// nsError renders a namespace failure (spec console §5 mapping table) and
// counts it; the namespace has already written the audit line for policy
// denials, so only the other classes are audited here.
func (c *Session) nsError(label, path string, err error) string {
	var reason, detail, text string
	audit := true
	var leases *queen.LeasesError
	if d, ok := gate.AsTicketDenial(err); ok {
		// Spec console §5: scope → policy/EPERM, rate, bandwidth and
		// cursor → quota/ELIMIT; the namespace wrote the ui-ticket line.
		reason, text := console.ReasonPolicy, console.ErrorTextEPERM
		if d.Quota() {
			reason, text = console.ReasonQuota, "ELIMIT"
		}
		a := console.Refusal(label, reason, "", "path", path, "error", text)
		c.refused(a, "")
		return a.Render(c.srv.lim)
	}
	switch {
	case errors.As(err, &leases):
		// The spec's console shows outstanding leases as a denial (EPERM);
		// the queen has audited it.
		reason, detail, text = console.ReasonPolicy, console.DetailDenied, console.ErrorTextEPERM
		audit = false
		c.srv.q.Pressure.Policy.Add(1)
	case queen.IsInboxFull(err):
		// Submit has counted it in /proc/pressure/busy.
		a := console.Refusal(label, console.ReasonBusy, "busy", "path", path, "error", "EBUSY")
		c.srv.q.Audit(fmt.Sprintf("console: %s refused path=%s reason=busy cause=%q", strings.ToLower(label), path, errs.Message(err)))
		return a.Render(c.srv.lim)
	case errors.Is(err, errs.ErrCut):
		reason, detail, text = console.ReasonCut, console.DetailRootUnreachable, "EHOSTUNREACH"
		audit = false // the queen wrote "worker command denied: root unreachable"
		c.srv.q.Pressure.Cut.Add(1)
	case errors.Is(err, errs.ErrPermission):
		reason, detail, text = console.ReasonPolicy, console.DetailDenied, console.ErrorTextEPERM
		audit = false
		c.srv.q.Pressure.Policy.Add(1)
	case errors.Is(err, errs.ErrNotFound):
		reason, detail, text = console.ReasonPolicy, console.DetailInvalidPath, console.ErrorTextInvalidPath
	case errors.Is(err, errs.ErrQuota), errors.Is(err, errs.ErrTooBig):
		reason, detail, text = console.ReasonQuota, console.DetailBufferFull, console.ErrorTextBufferFull
	case errors.Is(err, errs.ErrBusy):
		reason, detail, text = console.ReasonBusy, "busy", "EBUSY"
	case errors.Is(err, errs.ErrClosed):
		reason, detail, text = console.ReasonPolicy, console.DetailRevoked, "closed"
	case errors.Is(err, errs.ErrInvalid) && errs.Message(err) == console.ErrorTextInvalidPath:
		reason, detail, text = console.ReasonPolicy, console.DetailInvalidPath, console.ErrorTextInvalidPath
	default:
		reason, detail, text = console.ReasonPolicy, console.DetailInvalidPayload, console.ErrorTextInvalidPayload
	}
	a := console.Refusal(label, reason, detail, "path", path, "error", text)
	if audit {
		c.refused(a, fmt.Sprintf("console: %s refused path=%s reason=%s detail=%s cause=%q", strings.ToLower(label), path, reason, detail, errs.Message(err)))
	}
	return a.Render(c.srv.lim)
}

// write appends payload to path through the door (gate.Door.Write).
func (c *Session) write(path, payload string) error {
	_, err := c.srv.door.Write(c.sess, path, []byte(payload))
	return err
}

func (c *Session) tail(path string) []string {
	label := console.Tail.Label()
	h, err := c.srv.door.Open(c.sess, path, gate.OpRead)
	var data []byte
	if err == nil {
		tailer, isTailer := h.Node().(gate.Tailer)
		if h.Path() != generated.ClientPathsLog && !gate.IsTelemetryPath(h.Canon()) && !isTailer {
			a := console.Refusal(label, console.ReasonPolicy, console.DetailInvalidPath, "path", path)
			c.refused(a, "console: tail refused invalid-path path="+path)
			return []string{a.Render(c.srv.lim)}
		}
		if isTailer {
			tailer.Tail(c.sess)
		}
		data, err = h.ReadAll(true)
	}
	if err != nil {
		return []string{c.nsError(label, path, err)}
	}
	out := []string{console.Success(label, "path", path).Render(c.srv.lim)}
	out = append(out, console.SplitLines(data)...)
	return append(out, console.End)
}

func (c *Session) cat(path string) []string {
	label := console.Cat.Label()
	h, err := c.srv.door.Open(c.sess, path, gate.OpRead)
	var data []byte
	if err == nil {
		data, err = h.ReadAll(h.Path() != generated.ClientPathsLog)
	}
	if err != nil {
		return []string{c.nsError(label, path, err)}
	}
	lines := console.ContentLines(data, c.srv.lim)
	summary := console.CatSummary(path, lines, c.srv.lim)
	out := []string{console.Success(label, "path", path, "data", summary).Render(c.srv.lim)}
	if h.Path() != generated.ClientPathsLog {
		out = append(out, lines...)
	}
	return append(out, console.End)
}

// presentedSubject is the subject a ticket claims before it is verified:
// forged tickets count against it too, so guesses spread over many
// addresses still meet one back-off (DECISIONS P7).
func presentedSubject(token string) string {
	if token == "" {
		return ""
	}
	c, err := ticket.Parse(token)
	if err != nil {
		return ""
	}
	return c.Subject
}

// attach validates a console attach (spec console §6) through the door's
// ticket checks and asks the queen, which applies the throttle and the
// worker-attach gate.
func (c *Session) attach(cmd console.Command) (console.Ack, bool) {
	label := console.Attach.Label()
	role, err := ticket.ParseRole(cmd.Role)
	var verdict *queen.Refusal
	var audit []string
	var claims ticket.Claims
	guess := false // the ticket's MAC did not verify
	roleLabel := strings.ToLower(cmd.Role)
	switch {
	case err != nil:
		verdict = &queen.Refusal{Reason: console.ReasonPolicy, Detail: console.DetailInvalidRole}
	case cmd.Ticket == "" && role == ticket.RoleQueen:
		// The queen may attach on the console without a ticket.
		roleLabel = role.String()
	case cmd.Ticket == "":
		verdict = &queen.Refusal{Reason: console.ReasonPolicy, Detail: console.DetailDenied}
		roleLabel = role.String()
	default:
		v := c.srv.door.VerifyTicket(cmd.Ticket, role)
		if v.Fail == gate.Passed {
			v = c.srv.door.CheckClaims(v.Claims, cmd.Ticket)
		}
		if v.Fail != gate.Forged && v.Fail != gate.BadClaims && v.Fail != gate.NoEntropy {
			roleLabel = role.String() // the token verified: name the role it declares canonically
		}
		claims, guess = v.Claims, v.Fail == gate.Forged
		if r, ok := consoleVerdict[v.Fail]; ok {
			verdict = &r
		}
		if v.Audit != "" {
			audit = append(audit, v.Audit)
		}
	}
	_, qerr := c.srv.q.Do(context.Background(), queen.Attach{Peer: c.peer, Subject: presentedSubject(cmd.Ticket), Guess: guess, Role: roleLabel, Verdict: verdict, Audit: audit})
	if qerr != nil {
		var r *queen.Refusal
		if !errors.As(qerr, &r) {
			a := console.Refusal(label, console.ReasonBusy, "busy")
			c.refused(a, "")
			return a, false
		}
		a := console.Refusal(label, r.Reason, r.Detail, r.Extra...)
		c.refused(a, "")
		return a, false
	}
	if c.sess != nil {
		c.srv.door.End(c.sess, "replaced")
	}
	// Authority is checked on every verb (dispatch); the door's watch also
	// ends the connection at the expiry instant or the worker's revocation.
	// The console attaches a worker ticket whether or not its worker exists
	// (spec console §6); the session is bound to the worker if it runs.
	c.sess = c.srv.door.Begin(role, claims, cmd.Ticket, c.peer, c.closeConn)
	return console.Success(label, "role", role.String()), true
}

// consoleVerdict renders the door's ticket failures in the console's words
// (spec console §6): a token that is not ours or names another role is a
// plain denial; claims the hive refuses are invalid-claims; an expired
// ticket is reason=quota detail=expired, one issued beyond the clock skew
// allowance reason=quota detail=invalid-claims.
var consoleVerdict = map[gate.Failure]queen.Refusal{
	gate.Forged:      {Reason: console.ReasonPolicy, Detail: console.DetailDenied},
	gate.BadClaims:   {Reason: console.ReasonPolicy, Detail: console.DetailInvalidClaims},
	gate.WrongRole:   {Reason: console.ReasonPolicy, Detail: console.DetailDenied},
	gate.Expired:     {Reason: console.ReasonQuota, Detail: console.DetailExpired},
	gate.NotYetValid: {Reason: console.ReasonQuota, Detail: console.DetailInvalidClaims},
	gate.OverLimits:  {Reason: console.ReasonQuota, Detail: console.DetailInvalidClaims},
	gate.NoEntropy:   {Reason: console.ReasonPolicy, Detail: console.DetailNoEntropy},
}

// ended answers a verb of a session the authority has ended (spec
// security §2.6 and console §6 words: an expired ticket is reason=quota
// detail=expired; a killed or revoked worker's session is reason=policy
// detail=revoked, as a closed session is elsewhere) and ends the session.
// The namespace has audited the end; the caller closes the connection.
func (c *Session) ended(label string, err error) string {
	reason, detail := console.ReasonPolicy, console.DetailRevoked
	if e, ok := gate.AsSessionEnded(err); ok && e.Reason == gate.EndExpired {
		reason, detail = console.ReasonQuota, console.DetailExpired
	}
	a := console.Refusal(label, reason, detail)
	c.refused(a, "")
	c.end(gate.EndRevoked)
	c.endReason = "session-" + detail
	return a.Render(c.srv.lim)
}
