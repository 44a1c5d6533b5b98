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
	"github.com/cohesix/cohesix/internal/gate"
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
		if err := c.h.door.Charge(c.sess, generated.ClientPathsLog, ticket.VerbRead); err != nil {
			out = append(out, c.nsError(label, generated.ClientPathsLog, err))
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
		names, err := c.h.door.List(c.sess, cmd.Path)
		if err != nil {
			out = append(out, c.nsError(label, cmd.Path, err))
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
		if err := c.write(cmd.Path, cmd.Payload); err != nil {
			out = append(out, c.nsError(label, cmd.Path, err))
			break
		}
		emit(console.Success(label, "path", cmd.Path, "bytes", strconv.Itoa(len(cmd.Payload))))
	case console.Spawn:
		if !queenOnly() {
			break
		}
		if err := c.write(generated.ClientPathsQueenCtl, cmd.Payload); err != nil {
			out = append(out, c.nsError(label, generated.ClientPathsQueenCtl, err))
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
		if err := c.write(generated.ClientPathsQueenCtl, string(kill)); err != nil {
			out = append(out, c.nsError(label, generated.ClientPathsQueenCtl, err))
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
func (c *consoleSession) nsError(label, path string, err error) string {
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

// write appends payload to path through the door (gate.Door.Write).
func (c *consoleSession) write(path, payload string) error {
	_, err := c.h.door.Write(c.sess, path, []byte(payload))
	return err
}

func splitLines(b []byte) []string {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func (c *consoleSession) tail(path string) []string {
	label := console.Tail.Label()
	h, err := c.h.door.Open(c.sess, path, ninedoor.OpRead)
	var data []byte
	if err == nil {
		tailer, isTailer := h.Node().(ninedoor.Tailer)
		if h.Path() != generated.ClientPathsLog && !ninedoor.IsTelemetryPath(h.Canon()) && !isTailer {
			a := console.Refusal(label, console.ReasonPolicy, console.DetailInvalidPath, "path", path)
			c.refused(a, "console: tail refused invalid-path path="+path)
			return []string{a.Render(c.h.lim)}
		}
		if isTailer {
			tailer.Tail(c.sess)
		}
		data, err = h.ReadAll(true)
	}
	if err != nil {
		return []string{c.nsError(label, path, err)}
	}
	out := []string{console.Success(label, "path", path).Render(c.h.lim)}
	out = append(out, splitLines(data)...)
	return append(out, console.End)
}

func (c *consoleSession) cat(path string) []string {
	label := console.Cat.Label()
	h, err := c.h.door.Open(c.sess, path, ninedoor.OpRead)
	var data []byte
	if err == nil {
		data, err = h.ReadAll(h.Path() != generated.ClientPathsLog)
	}
	if err != nil {
		return []string{c.nsError(label, path, err)}
	}
	lines := splitLines(data)
	summary := console.CatSummary(path, lines, c.h.lim)
	out := []string{console.Success(label, "path", path, "data", summary).Render(c.h.lim)}
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
func (c *consoleSession) attach(cmd console.Command) (console.Ack, bool) {
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
		v := c.h.door.VerifyTicket(cmd.Ticket, role)
		if v.Fail == gate.Passed {
			v = c.h.door.CheckClaims(v.Claims, cmd.Ticket)
		}
		if v.Fail != gate.Forged && v.Fail != gate.BadClaims {
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
		c.h.door.End(c.sess, "replaced")
	}
	// Authority is checked on every verb (dispatch); the door's watch also
	// ends the connection at the expiry instant or the worker's revocation.
	// The console attaches a worker ticket whether or not its worker exists
	// (spec console §6); the session is bound to the worker if it runs.
	c.sess = c.h.door.Begin(role, claims, cmd.Ticket, c.peer, c.closeConn)
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
