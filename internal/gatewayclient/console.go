package gatewayclient

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/gatewayapi"
	"github.com/cohesix/cohesix/internal/ticket"
)

// Console is the console over the gateway (cohsh --transport rest,
// SwarmUI's console panel in gateway mode). The gateway is sessionless,
// so Console plays the console's part on the
// host: it takes the same command lines the TCP transport sends, parses
// them with the console's own grammar (so ERR PARSE lines are the
// server's), maps each verb onto a gateway route, and writes back the
// lines the console would have sent — the gateway's ack, the payload and
// END. It is the exchange of a client.NewExchangeConn, so the shell,
// scripts and EXPECT above it are unchanged. A gateway that cannot answer
// (unreachable, 401, 503, 504) fails the exchange, which the client
// reports as a broken console (exit 3).
//
// The attach ticket becomes the X-Cohesix-Ticket of every later request;
// `attach queen` without a ticket uses the gateway's own identity. The
// console's per-session rules that decide words before the hive is asked
// (verbs that need an attached session or the queen, a worker's echo only
// to sidecar paths) are applied here with the console's words; they can
// only refuse, never grant: the hive judges every request again.
type Console struct {
	base *Client // no ticket
	gw   *Client // carries the attached ticket
	lim  console.Limits
	now  func() time.Time
	role string // attached role; "" when detached
}

// NewConsole is a console over gw (no ticket yet: attach sets one); now
// is the clock that tells an expired ticket.
func NewConsole(gw *Client, now func() time.Time) *Console {
	return &Console{base: gw, gw: gw, lim: console.ManifestLimits(), now: now}
}

// consoleVerb answers one parsed console command over the gateway.
type consoleVerb struct {
	need need
	run  func(c *Console, ctx context.Context, cmd console.Command) ([]string, error)
}

// need is who may run a verb (the console's rule, consoleserver verbs.go).
type need uint8

const (
	anyone need = iota
	attached
	queenOnly
)

// consoleVerbs maps the console verbs onto gateway routes. The verbs with no
// REST twin are answered here with the hosted console's fixed words,
// which never depend on the hive: the help text, bi/caps/mem unavailable,
// test host-only, nettest/netstats/cachelog unsupported (docs/GATEWAY.md,
// Clients).
var consoleVerbs = map[console.Verb]consoleVerb{
	console.Help:     {anyone, help},
	console.BootInfo: {anyone, noTwin(console.DetailUnavailable)},
	console.Caps:     {anyone, noTwin(console.DetailUnavailable)},
	console.Mem:      {anyone, noTwin(console.DetailUnavailable)},
	console.Test:     {anyone, noTwin(console.DetailHostOnly)},
	console.NetTest:  {anyone, noTwin(console.DetailUnsupported)},
	console.NetStats: {anyone, noTwin(console.DetailUnsupported)},
	console.CacheLog: {anyone, noTwin(console.DetailUnsupported)},
	console.Ping:     {anyone, (*Console).ping},
	console.Quit:     {anyone, (*Console).quit},
	console.Attach:   {anyone, (*Console).attach},
	console.Log:      {queenOnly, (*Console).log},
	console.Tail:     {attached, (*Console).read},
	console.Cat:      {attached, (*Console).read},
	console.Ls:       {attached, (*Console).read},
	console.Echo:     {attached, (*Console).echo},
	console.Spawn:    {queenOnly, (*Console).spawn},
	console.Kill:     {queenOnly, (*Console).kill},
}

// requestTimeout bounds one gateway request, as the TCP transport bounds
// one console read.
func consoleTimeout() time.Duration {
	return time.Duration(generated.ClientPoliciesRetryTimeoutMs) * time.Millisecond
}

// Dispatch answers one console line: the lines the TCP console would
// have sent for it.
func (c *Console) Dispatch(line string) ([]string, error) {
	if len(line) > c.lim.Line {
		// The TCP console refuses an over-long line at the frame, before
		// the parser; the REST transport keeps its words.
		return []string{console.FrameRefusal.Render(c.lim)}, nil
	}
	cmd, err := console.Parse(line, c.lim)
	if err != nil {
		var pe *console.ParseError
		if !errors.As(err, &pe) {
			pe = &console.ParseError{Msg: console.MsgUnsupportedCommand}
		}
		return []string{pe.Ack().Render(c.lim)}, nil
	}
	v := consoleVerbs[cmd.Verb]
	if (v.need == attached && c.role == "") || (v.need == queenOnly && c.role != ticket.RoleQueen.String()) {
		return []string{c.refuse(cmd.Verb.Label(), console.ReasonPolicy, console.DetailUnauthenticated)}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), consoleTimeout())
	defer cancel()
	return v.run(c, ctx, cmd)
}

func (c *Console) refuse(label, reason, detail string, kv ...string) string {
	return console.Refusal(label, reason, detail, kv...).Render(c.lim)
}

// noTwin answers a verb the gateway has no route for with detail.
func noTwin(detail string) func(*Console, context.Context, console.Command) ([]string, error) {
	return func(c *Console, _ context.Context, cmd console.Command) ([]string, error) {
		return []string{c.refuse(cmd.Verb.Label(), console.ReasonPolicy, detail)}, nil
	}
}

func help(c *Console, _ context.Context, cmd console.Command) ([]string, error) {
	return append(append([]string(nil), console.HelpLines...), console.Success(cmd.Verb.Label()).Render(c.lim)), nil
}

// ping asks the gateway for its status: the gateway answering is the
// REST twin of the console answering PONG.
func (c *Console) ping(ctx context.Context, cmd console.Command) ([]string, error) {
	if _, err := c.gw.Status(ctx); err != nil {
		return nil, err
	}
	return []string{console.PingReply, console.Success(cmd.Verb.Label(), "reply", "pong").Render(c.lim)}, nil
}

func (c *Console) quit(_ context.Context, cmd console.Command) ([]string, error) {
	c.role, c.gw = "", c.base
	return []string{console.Success(cmd.Verb.Label()).Render(c.lim)}, nil
}

// gatewayAnswer turns a gateway Response (or the error of asking for one)
// into console lines: the ack, and for an OK of a streaming verb the
// payload lines and END. Gateway refusals of the request itself become
// the console's words where one fits; the others fail the transport.
func (c *Console) gatewayAnswer(label, p string, r gatewayapi.Response, err error, payload bool) ([]string, error) {
	var pe *ProblemError
	if errors.As(err, &pe) {
		switch pe.HTTPStatus {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			// The gateway refuses a path the console's grammar let
			// through (.., control bytes) before the hive sees it; the
			// hive would have called it an invalid path.
			return []string{c.refuse(label, console.ReasonPolicy, console.DetailInvalidPath, "path", p, "error", console.ErrorTextInvalidPath)}, nil
		case http.StatusTooManyRequests:
			return []string{c.refuse(label, console.ReasonBusy, "busy", "path", p, "error", "EBUSY")}, nil
		}
	}
	if err != nil {
		return nil, err
	}
	if r.Status != gatewayapi.StatusOK {
		return []string{r.Ack}, nil
	}
	if !payload {
		return []string{r.Ack}, nil
	}
	out := append([]string{r.Ack}, r.Lines...)
	return append(out, console.End), nil
}

// read is ls, cat and tail.
func (c *Console) read(ctx context.Context, cmd console.Command) ([]string, error) {
	var r gatewayapi.Response
	var err error
	switch cmd.Verb {
	case console.Ls:
		r, err = c.gw.Ls(ctx, cmd.Path)
	case console.Cat:
		r, err = c.gw.Cat(ctx, cmd.Path, 0)
		if path.Clean(cmd.Path) == generated.ClientPathsLog {
			// The console's cat of the log shows only its summary.
			r.Lines = nil
		}
	default:
		r, err = c.gw.Tail(ctx, cmd.Path, 0, 0)
	}
	return c.gatewayAnswer(cmd.Verb.Label(), cmd.Path, r, err, true)
}

func (c *Console) echo(ctx context.Context, cmd console.Command) ([]string, error) {
	label := cmd.Verb.Label()
	if c.role != ticket.RoleQueen.String() && !strings.HasPrefix(cmd.Path, "/bus/") && !strings.HasPrefix(cmd.Path, "/lora/") {
		return []string{c.refuse(label, console.ReasonPolicy, console.DetailDenied, "path", cmd.Path, "error", console.ErrorTextEPERM)}, nil
	}
	r, err := c.gw.Echo(ctx, cmd.Path, cmd.Payload)
	return c.gatewayAnswer(label, cmd.Path, r, err, false)
}

// ctl appends line to /queen/ctl and answers ok on success, or the
// gateway's refusal relabelled to the console verb that asked.
func (c *Console) ctl(ctx context.Context, label, line string, ok console.Ack) ([]string, error) {
	r, err := c.gw.Echo(ctx, generated.ClientPathsQueenCtl, line)
	out, err := c.gatewayAnswer(label, generated.ClientPathsQueenCtl, r, err, false)
	if err != nil {
		return nil, err
	}
	if a, parsed := console.ParseAck(out[0]); parsed && a.OK {
		return []string{ok.Render(c.lim)}, nil
	} else if parsed {
		a.Label = label
		return []string{a.Render(c.lim)}, nil
	}
	return out, nil
}

func (c *Console) spawn(ctx context.Context, cmd console.Command) ([]string, error) {
	label := cmd.Verb.Label()
	return c.ctl(ctx, label, cmd.Payload, console.Success(label, "payload", cmd.Payload))
}

func (c *Console) kill(ctx context.Context, cmd console.Command) ([]string, error) {
	label := cmd.Verb.Label()
	// Marshal, not concatenate: an id with quotes must not add keys.
	line, _ := json.Marshal(struct {
		Kill string `json:"kill"`
	}{cmd.WorkerID})
	return c.ctl(ctx, label, string(line), console.Success(label, "id", cmd.WorkerID))
}

// log is the console's LOG: the queen's log, as a tail of it.
func (c *Console) log(ctx context.Context, cmd console.Command) ([]string, error) {
	label := cmd.Verb.Label()
	r, err := c.gw.Tail(ctx, generated.ClientPathsLog, 0, 0)
	out, err := c.gatewayAnswer(label, generated.ClientPathsLog, r, err, true)
	if err != nil || len(out) == 0 {
		return out, err
	}
	if a, ok := console.ParseAck(out[0]); ok {
		if a.OK {
			a.Detail = ""
		}
		a.Label = label
		out[0] = a.Render(c.lim)
	}
	return out, nil
}

// attach validates the role and ticket as the console does, then asks the
// gateway to stat / with the ticket: the hive's verdict on the ticket.
func (c *Console) attach(ctx context.Context, cmd console.Command) ([]string, error) {
	label := cmd.Verb.Label()
	role, err := ticket.ParseRole(cmd.Role)
	switch {
	case err != nil:
		return []string{c.refuse(label, console.ReasonPolicy, console.DetailInvalidRole)}, nil
	case cmd.Ticket == "" && role != ticket.RoleQueen:
		return []string{c.refuse(label, console.ReasonPolicy, console.DetailDenied)}, nil
	}
	var claims ticket.Claims
	if cmd.Ticket != "" {
		if claims, err = ticket.Parse(cmd.Ticket); err != nil || claims.Role != role {
			return []string{c.refuse(label, console.ReasonPolicy, console.DetailDenied)}, nil
		}
	}
	gw := c.base.WithTicket(cmd.Ticket)
	refused, err := probeTicket(ctx, gw)
	if err != nil {
		return nil, err
	}
	if refused {
		// 9P carries only an errno; the ticket's own claims tell an
		// expired ticket from one the hive does not accept.
		if cmd.Ticket != "" && claims.Expired(uint64(c.now().UnixMilli())) {
			return []string{c.refuse(label, console.ReasonQuota, console.DetailExpired)}, nil
		}
		return []string{c.refuse(label, console.ReasonPolicy, console.DetailDenied)}, nil
	}
	c.gw, c.role = gw, role.String()
	return []string{console.Success(label, "role", role.String()).Render(c.lim)}, nil
}

// probeTicket stats / as gw's ticket. refused is true when the hive (or
// the gateway on its behalf) refused the ticket: an ERR Response or 403.
func probeTicket(ctx context.Context, gw *Client) (refused bool, err error) {
	resp, err := gw.Request(ctx, http.MethodGet, gatewayapi.PathStat, url.Values{"path": {"/"}}, nil, "")
	if IsStatus(err, http.StatusForbidden) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Kind   string `json:"kind"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, int64(generated.GatewayMaxBodyBytes))).Decode(&body); err != nil {
		return false, errors.New("gateway: malformed stat answer: " + err.Error())
	}
	return body.Status == gatewayapi.StatusERR || body.Kind == "", nil
}
