package hive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/ninedoor"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/ticket"
)

// consoleSession is one console conversation (a TCP connection or the
// serial line). It is used by one goroutine at a time.
type consoleSession struct {
	h    *Hive
	peer queen.Peer // transport and remote address, for the throttle and audit lines
	sess *ninedoor.Session
	// closeConn ends the connection when the authority ends the session
	// between verbs (ninedoor.Watch.Close); nil on the serial line.
	closeConn func()
	// endReason is why dispatch ended the conversation, if the authority
	// did (the connection close audit names it).
	endReason string
}

// helpLines is the console's help text (spec console §10).
var helpLines = []string{"help", "bi", "caps", "mem", "ping", "test (host-only; use cohsh)", "nettest (dev-virt)", "netstats", "quit"}

// dispatch runs one console line and returns the lines to send, in order.
// quit reports whether the session asked to end.
func (c *consoleSession) dispatch(line string) (out []string, quit bool) {
	lim := c.h.lim
	emit := func(a console.Ack) { out = append(out, a.Render(lim)) }
	cmd, err := console.Parse(line, lim)
	if err != nil {
		var pe *console.ParseError
		if !errors.As(err, &pe) {
			pe = &console.ParseError{Msg: console.MsgUnsupportedCommand}
		}
		c.refused(pe.Ack(), "console error: "+pe.Msg)
		return []string{pe.Ack().Render(lim)}, false
	}
	label := cmd.Verb.Label()
	if err := c.h.ns.Live(c.sess); err != nil {
		return []string{c.ended(label, err)}, true
	}
	refuse := func(reason, detail string, audit string, kv ...string) {
		a := console.Refusal(label, reason, detail, kv...)
		c.refused(a, audit)
		emit(a)
	}
	attached := c.sess != nil
	if attached && c.sess.Role == ticket.RoleQueen {
		c.h.ns.QueenSeen() // /proc/root/last_seen_ms
	}
	queenOnly := func() bool {
		if attached && c.sess.Role == ticket.RoleQueen {
			return true
		}
		refuse(console.ReasonPolicy, console.DetailUnauthenticated, "unauthenticated command verb="+string(cmd.Verb))
		return false
	}
	needAttach := func() bool {
		if attached {
			return true
		}
		refuse(console.ReasonPolicy, console.DetailUnauthenticated, "unauthenticated command verb="+string(cmd.Verb))
		return false
	}

	switch cmd.Verb {
	case console.Help:
		out = append(out, helpLines...)
		emit(console.Success(label))
	case console.BootInfo, console.Caps, console.Mem:
		// The hosted platform has no seL4 boot context to report.
		refuse(console.ReasonPolicy, console.DetailUnavailable, "console: "+string(cmd.Verb)+" unavailable")
	case console.Ping:
		out = append(out, console.PingReply)
		emit(console.Success(label, "reply", "pong"))
	case console.Test:
		refuse(console.ReasonPolicy, console.DetailHostOnly, "console: test refused host-only")
	case console.NetTest, console.NetStats, console.CacheLog:
		refuse(console.ReasonPolicy, console.DetailUnsupported, "console: "+string(cmd.Verb)+" unsupported")
	case console.Quit:
		if attached {
			c.h.q.Audit(fmt.Sprintf("console: detach role=%s%s", c.sess.Role, c.peer.Fields()))
		}
		c.end("quit")
		emit(console.Success(label))
		return out, true
	case console.Attach:
		if a, ok := c.attach(cmd); !ok {
			emit(a)
		} else {
			emit(a)
		}
	case console.Log:
		if !queenOnly() {
			break
		}
		if err := c.h.ns.TicketAuthorizePath(c.sess, generated.ClientPathsLog, ticket.VerbRead, false); err != nil {
			out = append(out, c.nsError(label, generated.ClientPathsLog, nil, err))
			break
		}
		lines := c.h.q.Snapshot().Log
		emit(console.Success(label))
		out = append(out, lines...)
		out = append(out, console.End)
	case console.Tail:
		if !needAttach() {
			break
		}
		out = append(out, c.tail(cmd.Path)...)
	case console.Cat:
		if !needAttach() {
			break
		}
		out = append(out, c.cat(cmd.Path)...)
	case console.Ls:
		if !needAttach() {
			break
		}
		err := c.h.ns.TicketAuthorizePath(c.sess, cmd.Path, ticket.VerbRead, true)
		var n ninedoor.Node
		var comps []string
		if err == nil {
			n, comps, err = c.h.ns.Resolve(c.sess, cmd.Path, ninedoor.OpRead)
		}
		var names []string
		if err == nil {
			names, err = n.List()
		}
		if err != nil {
			out = append(out, c.nsError(label, cmd.Path, comps, err))
			break
		}
		emit(console.Success(label, "path", cmd.Path, "entries", strconv.Itoa(len(names))))
		out = append(out, names...)
		out = append(out, console.End)
	case console.Echo:
		if !needAttach() {
			break
		}
		if c.rootCut(label, &out) { // govern.go
			break
		}
		if c.sess.Role != ticket.RoleQueen && !strings.HasPrefix(cmd.Path, "/bus/") && !strings.HasPrefix(cmd.Path, "/lora/") {
			refuse(console.ReasonPolicy, console.DetailDenied, fmt.Sprintf("console: echo denied role=%s path=%s", c.sess.Role, cmd.Path), "path", cmd.Path, "error", console.ErrorTextEPERM)
			break
		}
		if err := c.ticketWrite(cmd.Path, len(cmd.Payload)); err != nil {
			out = append(out, c.nsError(label, cmd.Path, nil, err))
			break
		}
		if err := c.write(cmd.Path, cmd.Payload); err != nil {
			out = append(out, c.nsError(label, cmd.Path, nil, err))
			break
		}
		emit(console.Success(label, "path", cmd.Path, "bytes", strconv.Itoa(len(cmd.Payload))))
	case console.Spawn:
		if !queenOnly() {
			break
		}
		if err := c.ticketWrite(generated.ClientPathsQueenCtl, len(cmd.Payload)); err != nil {
			out = append(out, c.nsError(label, generated.ClientPathsQueenCtl, nil, err))
			break
		}
		if err := c.write(generated.ClientPathsQueenCtl, cmd.Payload); err != nil {
			out = append(out, c.nsError(label, generated.ClientPathsQueenCtl, nil, err))
			break
		}
		emit(console.Success(label, "payload", cmd.Payload))
	case console.Kill:
		if !queenOnly() {
			break
		}
		// Marshal, not concatenate: an id with quotes must not add keys.
		kill, _ := json.Marshal(struct {
			Kill string `json:"kill"`
		}{cmd.WorkerID})
		if err := c.ticketWrite(generated.ClientPathsQueenCtl, len(kill)); err != nil {
			out = append(out, c.nsError(label, generated.ClientPathsQueenCtl, nil, err))
			break
		}
		if err := c.write(generated.ClientPathsQueenCtl, string(kill)); err != nil {
			out = append(out, c.nsError(label, generated.ClientPathsQueenCtl, nil, err))
			break
		}
		emit(console.Success(label, "id", cmd.WorkerID))
	}
	return out, false
}

// refused counts a refusal in /proc/pressure and writes its audit line.
func (c *consoleSession) refused(a console.Ack, audit string) {
	switch a.Reason() {
	case console.ReasonBusy:
		c.h.q.Pressure.Busy.Add(1)
	case console.ReasonQuota:
		c.h.q.Pressure.Quota.Add(1)
	case console.ReasonCut:
		c.h.q.Pressure.Cut.Add(1)
	case console.ReasonPolicy:
		c.h.q.Pressure.Policy.Add(1)
	}
	if audit != "" {
		c.h.q.Audit(audit + c.peer.Fields())
	}
}

// nsError renders a namespace failure (spec console §5 mapping table) and
// counts it; the namespace has already written the audit line for policy
// denials, so only the other classes are audited here.
func (c *consoleSession) nsError(label, path string, _ []string, err error) string {
	var reason, detail, text string
	audit := true
	var leases *queen.LeasesError
	if d, ok := ninedoor.AsTicketDenial(err); ok {
		// Spec console §5: scope → policy/EPERM, rate, bandwidth and
		// cursor → quota/ELIMIT; the namespace wrote the ui-ticket line.
		reason, text := console.ReasonPolicy, console.ErrorTextEPERM
		if d.Quota() {
			reason, text = console.ReasonQuota, "ELIMIT"
		}
		a := console.Refusal(label, reason, "", "path", path, "error", text)
		c.refused(a, "")
		return a.Render(c.h.lim)
	}
	switch {
	case errors.As(err, &leases):
		// The spec's console shows outstanding leases as a denial (EPERM);
		// the queen has audited it.
		reason, detail, text = console.ReasonPolicy, console.DetailDenied, console.ErrorTextEPERM
		audit = false
		c.h.q.Pressure.Policy.Add(1)
	case queen.IsInboxFull(err):
		// Submit has counted it in /proc/pressure/busy.
		a := console.Refusal(label, console.ReasonBusy, "busy", "path", path, "error", "EBUSY")
		c.h.q.Audit(fmt.Sprintf("console: %s refused path=%s reason=busy cause=%q", strings.ToLower(label), path, errs.Message(err)))
		return a.Render(c.h.lim)
	case errors.Is(err, errs.ErrCut):
		reason, detail, text = console.ReasonCut, console.DetailRootUnreachable, "EHOSTUNREACH"
		audit = false // the queen wrote "worker command denied: root unreachable"
		c.h.q.Pressure.Cut.Add(1)
	case errors.Is(err, errs.ErrPermission):
		reason, detail, text = console.ReasonPolicy, console.DetailDenied, console.ErrorTextEPERM
		audit = false
		c.h.q.Pressure.Policy.Add(1)
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
	return a.Render(c.h.lim)
}

func (c *consoleSession) write(path, payload string) error {
	n, _, err := c.h.ns.Resolve(c.sess, path, ninedoor.OpWrite)
	if err != nil {
		return err
	}
	_, err = n.Append(c.sess, []byte(payload), -1)
	return err
}

func splitLines(b []byte) []string {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func isTelemetry(comps []string) bool { return ninedoor.IsTelemetryPath(comps) }

// ticketWrite applies the session ticket's write scope, rate and
// bandwidth (n payload bytes) to a console write (spec roles-tickets §5).
func (c *consoleSession) ticketWrite(path string, n int) error {
	if err := c.h.ns.TicketAuthorizePath(c.sess, path, ticket.VerbWrite, false); err != nil {
		return err
	}
	return c.h.ns.TicketBandwidth(c.sess, path, ticket.VerbWrite, n)
}

// ticketRead reads a file node for tail or cat under the session ticket's
// read scope, rate, cursor quotas (telemetry rings: the read starts at the
// ring base, so reading again what was read before is a resume) and
// bandwidth (the bytes sent; charged counts false for cat of the log,
// which sends only its summary).
func (c *consoleSession) ticketRead(path string, n ninedoor.Node, comps []string, charged bool) ([]byte, error) {
	ns := c.h.ns
	if err := ns.TicketAuthorize(c.sess, ninedoor.Join(comps), ticket.VerbRead, false); err != nil {
		return nil, err
	}
	var base uint64
	if w, ok := n.(ninedoor.Windowed); ok {
		b, err := w.Base()
		if err != nil {
			return nil, err
		}
		base = b
	}
	if err := ns.TicketCursor(c.sess, comps, base); err != nil {
		return nil, err
	}
	data, err := ninedoor.ReadAll(n)
	if err != nil {
		return nil, err
	}
	if charged {
		if err := ns.TicketBandwidth(c.sess, ninedoor.Join(comps), ticket.VerbRead, len(data)); err != nil {
			return nil, err
		}
	}
	ns.TicketRecord(c.sess, comps, base+uint64(len(data)))
	return data, nil
}

func (c *consoleSession) tail(path string) []string {
	label := console.Tail.Label()
	n, comps, err := c.h.ns.Resolve(c.sess, path, ninedoor.OpRead)
	tailer, isTailer := n.(ninedoor.Tailer)
	if err == nil && ninedoor.Join(comps) != generated.ClientPathsLog && !isTelemetry(comps) && !isTailer {
		a := console.Refusal(label, console.ReasonPolicy, console.DetailInvalidPath, "path", path)
		c.refused(a, "console: tail refused invalid-path path="+path)
		return []string{a.Render(c.h.lim)}
	}
	var data []byte
	if err == nil {
		if isTailer {
			tailer.Tail(c.sess)
		}
		data, err = c.ticketRead(path, n, comps, true)
	}
	if err != nil {
		return []string{c.nsError(label, path, comps, err)}
	}
	out := []string{console.Success(label, "path", path).Render(c.h.lim)}
	out = append(out, splitLines(data)...)
	return append(out, console.End)
}

func (c *consoleSession) cat(path string) []string {
	label := console.Cat.Label()
	n, comps, err := c.h.ns.Resolve(c.sess, path, ninedoor.OpRead)
	var data []byte
	if err == nil {
		data, err = c.ticketRead(path, n, comps, ninedoor.Join(comps) != generated.ClientPathsLog)
	}
	if err != nil {
		return []string{c.nsError(label, path, comps, err)}
	}
	lines := splitLines(data)
	summary := console.CatSummary(path, lines, c.h.lim)
	out := []string{console.Success(label, "path", path, "data", summary).Render(c.h.lim)}
	if ninedoor.Join(comps) != generated.ClientPathsLog {
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

// attach validates a console attach (spec console §6) and asks the queen,
// which applies the throttle and the worker-attach gate.
func (c *consoleSession) attach(cmd console.Command) (console.Ack, bool) {
	label := console.Attach.Label()
	role, err := ticket.ParseRole(cmd.Role)
	var verdict *queen.Refusal
	var audit []string
	var claims ticket.Claims
	guess := false // the ticket's MAC did not verify
	switch {
	case err != nil:
		verdict = &queen.Refusal{Reason: console.ReasonPolicy, Detail: console.DetailInvalidRole}
	case cmd.Ticket == "" && role == ticket.RoleQueen:
		// The queen may attach on the console without a ticket.
	case cmd.Ticket == "":
		verdict = &queen.Refusal{Reason: console.ReasonPolicy, Detail: console.DetailDenied}
	default:
		claims, err = ticket.Verify(cmd.Ticket, c.h.secret(role))
		nowMs := uint64(c.h.clock.Now().UnixMilli())
		switch {
		case errors.Is(err, ticket.ErrMacMismatch), errors.Is(err, ticket.ErrMalformedToken), errors.Is(err, ticket.ErrMissingPrefix), errors.Is(err, ticket.ErrInvalidMacLength):
			verdict = &queen.Refusal{Reason: console.ReasonPolicy, Detail: console.DetailDenied}
			guess = true
		case err != nil:
			verdict = &queen.Refusal{Reason: console.ReasonPolicy, Detail: console.DetailInvalidClaims}
			audit = append(audit, fmt.Sprintf("ui-ticket outcome=deny reason=invalid-claims role=%s ticket=%s detail=%v", role, ticket.MaskToken(cmd.Ticket), err))
		case claims.Role != role:
			verdict = &queen.Refusal{Reason: console.ReasonPolicy, Detail: console.DetailDenied}
		default:
			verdict, audit = c.claimsVerdict(claims, cmd.Ticket, nowMs)
		}
	}
	roleLabel := strings.ToLower(cmd.Role)
	if err == nil || verdict == nil {
		roleLabel = role.String()
	}
	_, qerr := c.h.q.Do(context.Background(), queen.Attach{Peer: c.peer, Subject: presentedSubject(cmd.Ticket), Guess: guess, Role: roleLabel, Verdict: verdict, Audit: audit})
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
		c.h.ns.CloseSession(c.sess, "replaced")
	}
	masked := ""
	if cmd.Ticket != "" {
		masked = ticket.MaskToken(cmd.Ticket)
	}
	c.sess = c.h.ns.OpenSession(role, claims.Subject, masked, c.peer)
	c.h.ns.EnforceTicket(c.sess, cmd.Ticket, claims, c.h.ticketLimits) // spec roles-tickets §5
	// Authority is checked on every verb (dispatch); this also ends the
	// connection at the expiry instant or the worker's revocation. The
	// console attaches a worker ticket whether or not its worker exists
	// (spec console §6); the session is bound to the worker if it runs.
	c.h.ns.Guard(c.sess, ninedoor.Watch{Claims: claims, SkewMs: c.h.ticketLimits.ClockSkewMs,
		Worker: c.h.ns.RunningWorker(role, claims.Subject), Close: c.closeConn})
	return console.Success(label, "role", role.String()), true
}

// claimsVerdict applies the claims checks after the MAC and role (spec
// console §6): in date (ticket.Claims.CheckTime: expired → reason=quota
// detail=expired; issued beyond the clock skew allowance → reason=quota
// detail=invalid-claims, the spec's word for claims the manifest refuses),
// then within the manifest limits. It returns nil when they pass, else
// the refusal and its audit lines.
func (c *consoleSession) claimsVerdict(claims ticket.Claims, token string, nowMs uint64) (*queen.Refusal, []string) {
	masked, skew := ticket.MaskToken(token), c.h.ticketLimits.ClockSkewMs
	if err := claims.CheckTime(nowMs, skew); err != nil {
		detail := console.DetailExpired
		if errors.Is(err, ticket.ErrNotYetValid) {
			detail = console.DetailInvalidClaims
		}
		return &queen.Refusal{Reason: console.ReasonQuota, Detail: detail}, []string{ticket.TimeDenialAudit(err, claims, masked, nowMs, skew)}
	}
	if err := ticket.CheckLimits(claims, c.h.ticketLimits); err != nil {
		return &queen.Refusal{Reason: console.ReasonQuota, Detail: console.DetailInvalidClaims},
			[]string{fmt.Sprintf("ui-ticket outcome=deny reason=invalid-claims role=%s ticket=%s detail=%v", claims.Role, masked, err)}
	}
	return nil, nil
}

// ended answers a verb of a session the authority has ended (spec
// security §2.6 and console §6 words: an expired ticket is reason=quota
// detail=expired; a killed or revoked worker's session is reason=policy
// detail=revoked, as a closed session is elsewhere) and ends the session.
// The namespace has audited the end; the caller closes the connection.
func (c *consoleSession) ended(label string, err error) string {
	reason, detail := console.ReasonPolicy, console.DetailRevoked
	if e, ok := ninedoor.AsSessionEnded(err); ok && e.Reason == ninedoor.EndExpired {
		reason, detail = console.ReasonQuota, console.DetailExpired
	}
	a := console.Refusal(label, reason, detail)
	c.refused(a, "")
	c.end(ninedoor.EndRevoked)
	c.endReason = "session-" + detail
	return a.Render(c.h.lim)
}
