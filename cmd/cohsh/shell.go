package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"github.com/cohesix/cohesix/internal/client"
	"github.com/cohesix/cohesix/internal/cohtrace"
	"github.com/cohesix/cohesix/internal/cohverb"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/manifest"
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
// The verb rules shared with swarmui (internal/cohverb) return it too.
type usageError = cohverb.UsageError

func usagef(format string, args ...any) error { return cohverb.Usagef(format, args...) }

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
	return sh.wireResult(ctx, cohverb.CtlLine(js))
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
