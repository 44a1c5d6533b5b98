package swarmui

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/client"
	"github.com/cohesix/cohesix/internal/cohverb"
	"github.com/cohesix/cohesix/internal/console"
)

// consoleState is one UI session's console: a TCP console connection the
// server holds (the AUTH token stays here) and whether it is attached
// with the session's ticket.
type consoleState struct {
	conn     *client.Conn
	attached bool
}

type consoleReq struct {
	Line string `json:"line"`
}

type consoleResp struct {
	Lines []string `json:"lines"`
}

// consoleRoute is POST /api/console: one line, the lines the hive's
// console answered (ERR lines included, still 200). The first command
// attaches the console with the login's role and ticket, so the page
// never types a ticket again.
func (s *Server) consoleRoute(w http.ResponseWriter, r *http.Request, se *session) {
	var req consoleReq
	if err := decodeBody(r, &req); err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	line := strings.TrimSpace(req.Line)
	if line == "" {
		writeErr(w, http.StatusBadRequest, "line is empty")
		return
	}
	if len(line) > generated.ConsoleLineMaxBytes {
		writeErr(w, http.StatusBadRequest, "line is over the console's line limit")
		return
	}
	if s.local != nil {
		writeErr(w, http.StatusServiceUnavailable, errOffline.Error())
		return
	}
	se.consoleMu.Lock()
	defer se.consoleMu.Unlock()
	lines, err := s.runConsole(r.Context(), se, line)
	var le *errLocal
	if errors.As(err, &le) {
		writeErr(w, http.StatusBadRequest, le.msg)
		return
	}
	if err != nil {
		writeErr(w, http.StatusBadGateway, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, consoleResp{Lines: lines})
}

// errLocal is a line cohsh refuses before sending it: 400 with its words.
type errLocal struct{ msg string }

func (e *errLocal) Error() string { return e.msg }

// runConsole runs one shell line as cohsh would: cohverb.Wire turns the
// verbs cohsh rewrites (help, log, cat, ls, tail, echo, spawn, kill, bind,
// mount) into their console lines, lifecycle is cohverb's check and line,
// attach and quit keep the session's attach state, and any other line
// goes to the hive verbatim. tail -f streams (followRoute).
func (s *Server) runConsole(ctx context.Context, se *session, line string) ([]string, error) {
	f := strings.Fields(line)
	wire, local, ok, err := cohverb.Wire(line)
	switch {
	case err != nil:
		return nil, &errLocal{err.Error()}
	case local != nil:
		return local, nil
	case !ok && (f[0] == "attach" || f[0] == "login"):
		if err := se.checkAttach(f); err != nil {
			return nil, err
		}
		return s.attachConsole(ctx, se)
	case !ok && f[0] == "tail":
		return nil, &errLocal{"tail -f streams: GET /api/console/follow?path=<path> (the page does this for you)"}
	case !ok && f[0] == "lifecycle":
		return s.lifecycle(ctx, se, f[1:])
	}
	if err := se.checkVerb(f, ok); err != nil {
		return nil, err
	}
	resp, err := s.wire(ctx, se, wire)
	if err != nil {
		return nil, err
	}
	if !se.console.attached { // the attach was refused: its lines
		return resp.Raw, nil
	}
	if f[0] == "quit" || f[0] == "detach" {
		se.console.attached = false
		if f[0] == "quit" {
			return append(resp.Raw, "closing session"), nil
		}
	}
	return resp.Raw, nil
}

// wire sends one console line on the session's console, attaching it
// with the login's ticket first when it is not attached. A refused attach
// comes back as its lines (Raw) with no ack of line's own; a broken
// connection is dropped, so the next line dials again.
func (s *Server) wire(ctx context.Context, se *session, line string) (client.Response, error) {
	if err := s.ensureConsole(ctx, se); err != nil {
		return client.Response{}, err
	}
	cs := se.console
	if !cs.attached {
		if lines, err := s.attachConsole(ctx, se); err != nil || !cs.attached {
			return client.Response{Raw: lines}, err // the hive's refusal, verbatim
		}
	}
	resp, err := cs.conn.DoContext(ctx, line)
	if err != nil {
		cs.conn.Close()
		se.console = nil
		return client.Response{}, err
	}
	return resp, nil
}

// lifecycle is cohsh's lifecycle verb: the queen only, the state read
// and the transition checked before the line is sent (cohverb).
func (s *Server) lifecycle(ctx context.Context, se *session, args []string) ([]string, error) {
	action, err := cohverb.LifecycleAction(args)
	if err != nil {
		return nil, &errLocal{err.Error()}
	}
	if se.role != "queen" {
		return nil, &errLocal{"lifecycle requires an attached queen session"}
	}
	resp, err := s.wire(ctx, se, string(console.Cat)+" "+cohverb.LifecycleStatePath)
	if err != nil || !resp.HasAck || !resp.Ack.OK {
		return resp.Raw, err
	}
	if line := cohverb.LifecycleRefusal(action, cohverb.LifecycleState(resp.Lines), console.ManifestLimits()); line != "" {
		return []string{line}, nil
	}
	resp, err = s.wire(ctx, se, cohverb.LifecycleLine(action))
	return resp.Raw, err
}

// cohshOnly are the cohsh verbs that need the operator's terminal or
// files; the console panel refuses them with cohshOnlyWhy.
var cohshOnly = map[string]bool{"test": true, "telemetry": true, "pool": true, "tcp-diag": true}

const cohshOnlyWhy = "runs in cohsh, not in the console panel: it needs cohsh's script runner or the operator's files"

func (s *Server) ensureConsole(ctx context.Context, se *session) error {
	if se.console != nil {
		return nil
	}
	c, err := s.dialConsole(ctx)
	if err != nil {
		return err
	}
	se.console = &consoleState{conn: c}
	return nil
}

// attachConsole attaches the console with the login's role and ticket.
func (s *Server) attachConsole(ctx context.Context, se *session) ([]string, error) {
	if err := s.ensureConsole(ctx, se); err != nil {
		return nil, err
	}
	cmd := console.Command{Verb: console.Attach, Role: se.role, Ticket: se.ticket}
	resp, err := se.console.conn.DoContext(ctx, cmd.Line())
	if err != nil {
		se.console.conn.Close()
		se.console = nil
		return nil, err
	}
	se.console.attached = resp.HasAck && resp.Ack.OK
	return resp.Raw, nil
}

// checkAttach is cohsh's attach rule for the panel: one attach at a time,
// and only as the role the login ticket names.
func (se *session) checkAttach(f []string) error {
	if se.console != nil && se.console.attached {
		return &errLocal{"already attached; run 'quit' to close the current session"}
	}
	if len(f) < 2 || f[1] != se.role {
		return &errLocal{"this UI session attaches only as " + se.role + ", the role its ticket names"}
	}
	return nil
}

// checkVerb refuses what cohsh refuses locally: spawn without a queen
// session, and the verbs that need cohsh's terminal or files.
func (se *session) checkVerb(f []string, wired bool) error {
	if f[0] == "spawn" && se.role != "queen" {
		return &errLocal{"spawn requires an attached queen session"}
	}
	if !wired && cohshOnly[f[0]] {
		return &errLocal{f[0] + " " + cohshOnlyWhy}
	}
	return nil
}
