package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/client"
	"github.com/cohesix/cohesix/internal/cohtrace"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/manifest"
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/ticket"
)

// Where a response line came from, for script failure reports.
const (
	sourceServer = "server"
	sourceCohsh  = "cohsh"
	sourceNone   = "none"
)

// result is what one shell command produced.
type result struct {
	lines  []string // stdout lines: the hive's lines verbatim, then cohsh's own
	ack    string   // the response line EXPECT sees; "" if none
	source string   // sourceServer, sourceCohsh or sourceNone
	failed bool     // an ERR response or a local error
	err    error    // local or transport error, for stderr
	quit   bool     // the shell ends after this command
}

// usageError is a command typed wrongly; one-shot mode exits 2 for it.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

func localErr(err error) result { return result{source: sourceNone, failed: true, err: err} }

// isConnErr reports whether err means the hive is unreachable or refused AUTH.
func isConnErr(err error) bool {
	var ce *client.ConnError
	var ae *client.AuthError
	return errors.As(err, &ce) || errors.As(err, &ae)
}

// shell interprets the cohsh grammar (spec console.md §7) over one console
// connection, dialled on first use. Not safe for concurrent use, except
// that the keepalive may read conn.
type shell struct {
	connect     func(ctx context.Context) (*client.Conn, error)
	conn        atomic.Pointer[client.Conn]
	lim         console.Limits
	interactive bool
	json        bool

	attached   bool
	role       string // canonical role of the attached session
	lastRole   string // last successful attach, for re-attach after test
	lastTicket string
	sleep      func(ctx context.Context, ms int) error
	follow     io.Writer       // where `tail -f` streams; nil in scripts
	rec        *cohtrace.Trace // --record-trace, nil when not recording (trace.go)
}

func (sh *shell) close() {
	if c := sh.conn.Load(); c != nil {
		c.Close()
	}
}

// wire sends one console line and tracks attach state from the reply.
func (sh *shell) wire(ctx context.Context, line string) (client.Response, error) {
	c := sh.conn.Load()
	if c == nil {
		var err error
		if c, err = sh.connect(ctx); err != nil {
			return client.Response{}, err
		}
		sh.conn.Store(c)
	}
	resp, err := c.DoContext(ctx, line)
	sh.record(line, resp)
	if err != nil {
		if isConnErr(err) {
			sh.attached = false
		}
		return resp, err
	}
	if resp.HasAck && resp.Ack.OK {
		switch resp.Ack.Label {
		case console.Attach.Label():
			sh.attached = true
			sh.role, _ = resp.Ack.Field("role")
		case console.Quit.Label():
			sh.attached = false
			sh.role = ""
		}
	}
	return resp, nil
}

// wireResult runs line on the hive and turns the reply into a result.
func (sh *shell) wireResult(ctx context.Context, line string) result {
	resp, err := sh.wire(ctx, line)
	r := result{lines: resp.Raw, ack: resp.AckLine(), source: sourceServer}
	if r.ack == "" {
		r.source = sourceNone
	}
	if err != nil {
		r.failed, r.err = true, err
		return r
	}
	r.failed = !resp.HasAck || !resp.Ack.OK
	return r
}

// helpText is the local command list.
var helpText = []string{
	"Commands:",
	"  help                               show this list",
	"  attach <role> [ticket]             attach (alias: login); roles: queen, worker-heartbeat (worker), worker-gpu, worker-bus, worker-lora",
	"  detach                             end the session, stay in the shell",
	"  ping                               check the attached session",
	"  tail [-f] <path>                   print a log or telemetry file; -f follows it until Ctrl-C",
	"  telemetry push <file> --device ID  push a .txt/.log/.json/.ndjson/.csv file as one ingest segment (queen)",
	"  log                                tail " + generated.ClientPathsLog,
	"  cat <path>                         print a file",
	"  ls <path>                          list a directory",
	"  echo <text> > <path>               append one line to a file",
	"  spawn heartbeat ticks=N [ttl_s=N] [ops=N]",
	"  spawn gpu gpu_id=ID mem_mb=N streams=N ttl_s=N [priority=N] [budget_ttl_s=N] [budget_ops=N]",
	"  kill <worker_id>                   stop a worker",
	"  bind <src> <dst>                   bind a path in the queen's namespace",
	"  mount <service> <path>             mount a service",
	"  lifecycle cordon|drain|resume|quiesce|reset",
	"  test [--mode quick|full] [--json] [--timeout s] [--no-mutate]",
	"  quit                               end the session and leave cohsh",
	"Other lines are sent to the hive verbatim (e.g. BI, CAPS, NETSTATS, CACHELOG 4).",
}

// exec runs one shell command line: a cohsh verb from the table in
// verbs.go, or any other line sent to the hive verbatim.
func (sh *shell) exec(ctx context.Context, line string) result {
	line = strings.TrimSpace(line)
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return result{source: sourceNone}
	}
	v, ok := verbs[fields[0]]
	if !ok {
		return sh.wireResult(ctx, line)
	}
	return v(sh, ctx, command{name: fields[0], args: fields[1:], line: line})
}

// ctlWrite appends one JSON line to /queen/ctl through the console's echo.
func (sh *shell) ctlWrite(ctx context.Context, js string) result {
	return sh.wireResult(ctx, string(console.Echo)+" "+generated.ClientPathsQueenCtl+" "+js)
}

func (sh *shell) attach(ctx context.Context, args []string) result {
	switch {
	case len(args) == 0:
		return localErr(usagef("attach requires a role"))
	case len(args) > 2:
		return localErr(usagef("attach takes at most two arguments: role and optional ticket"))
	}
	role, err := ticket.ParseRole(args[0])
	if err != nil {
		return localErr(usagef("unknown role '%s'", args[0]))
	}
	if sh.attached {
		return localErr(errors.New("already attached; run 'quit' to close the current session"))
	}
	tok := ""
	if len(args) == 2 {
		tok = strings.TrimSpace(args[1])
	}
	if err := ticket.ValidateForAttach(role, tok, sh.lim.Ticket); err != nil {
		return localErr(err)
	}
	cmd := console.Command{Verb: console.Attach, Role: role.String(), Ticket: tok}
	r := sh.wireResult(ctx, cmd.Line())
	if r.failed {
		return r
	}
	if err := sh.checkManifest(ctx); err != nil {
		// A hive compiled from another manifest enforces other limits:
		// detach rather than run against a drifted policy.
		_, _ = sh.wire(ctx, string(console.Quit))
		sh.attached, sh.role = false, ""
		return localErr(err)
	}
	sh.lastRole, sh.lastTicket = role.String(), tok
	return r
}

// checkManifest compares the manifest hash the hive reports in /proc/boot
// with the one this cohsh was built from (spec manifest §4).
func (sh *shell) checkManifest(ctx context.Context) error {
	c := sh.conn.Load()
	if c == nil {
		return nil
	}
	got, err := c.ManifestSHA256(ctx)
	if err != nil {
		return fmt.Errorf("check the hive's manifest: %w", err)
	}
	return manifest.CheckHash(got)
}

// checkPath applies the client-side path rules: absolute, no "." or ".."
// components, no NUL, at most walk-depth components (empty ones skipped).
// A path is one wire token, so whitespace is refused too.
func checkPath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return usagef("path '%s' must start with '/'", p)
	}
	if strings.ContainsRune(p, 0) {
		return usagef("path must not contain NUL")
	}
	if strings.ContainsAny(p, " \t") {
		return usagef("path '%s' must not contain whitespace", p)
	}
	n := 0
	for _, c := range strings.Split(p, "/") {
		if c == "" {
			continue
		}
		if ns.Reserved(c) {
			return usagef("path component '%s' is not allowed", c)
		}
		n++
	}
	if n > generated.Secure9pWalkDepth {
		return usagef("path '%s' has more than %d components", p, generated.Secure9pWalkDepth)
	}
	return nil
}

// checkJSONString enforces the rule for strings placed in control JSON.
func checkJSONString(what, s string) error {
	if s == "" || strings.ContainsAny(s, `"\`) || strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return usagef("%s must be non-empty and contain no quotes, backslashes or control characters", what)
	}
	return nil
}

// msizeOverflow is the echo token that expands to an oversized spawn.
const msizeOverflow = "{{msize_overflow}}"

// echoLine maps "echo <text> > <path>" to the wire's "echo <path> <text>".
func echoLine(rest string) (string, error) {
	i := strings.IndexByte(rest, '>')
	if i < 0 {
		return "", usagef("echo requires '<text> > <path>'")
	}
	text, path := strings.TrimSpace(rest[:i]), strings.TrimSpace(rest[i+1:])
	if len(text) >= 2 && (text[0] == '"' || text[0] == '\'') && text[len(text)-1] == text[0] {
		text = text[1 : len(text)-1]
	}
	if strings.ContainsAny(text, "\x00\r\n") {
		return "", usagef("echo text must be one line without NUL")
	}
	if path == "" {
		return "", usagef("echo requires a path after '>'")
	}
	if err := checkPath(path); err != nil {
		return "", err
	}
	if text == msizeOverflow {
		text = overflowSpawn()
	}
	return string(console.Echo) + " " + path + " " + text, nil
}

// overflowSpawn is a spawn-gpu JSON padded to msize+64 bytes, a negative
// test of the frame and line limits.
func overflowSpawn() string {
	const head, tail = `{"spawn":"gpu","lease":{"gpu_id":"`, `","mem_mb":1,"streams":1,"ttl_s":1}}`
	pad := generated.Secure9pMsize + 64 - len(head) - len(tail)
	return head + strings.Repeat("x", pad) + tail
}
