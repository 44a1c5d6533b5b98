package swarmui

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/client"
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
	if err != nil {
		writeErr(w, http.StatusBadGateway, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, consoleResp{Lines: lines})
}

func (s *Server) runConsole(ctx context.Context, se *session, line string) ([]string, error) {
	if se.console == nil {
		c, err := client.DialOptions(ctx, s.cfg.ConsoleAddr, s.cfg.ConsoleToken, client.Options{Log: nil, Reconnect: false,
			Timeout: time.Duration(generated.ClientPoliciesRetryTimeoutMs) * time.Millisecond})
		if err != nil {
			return nil, err
		}
		se.console = &consoleState{conn: c}
	}
	cs := se.console
	if !cs.attached {
		cmd := console.Command{Verb: console.Attach, Role: se.role, Ticket: se.ticket}
		resp, err := cs.conn.DoContext(ctx, cmd.Line())
		if err != nil {
			return nil, err
		}
		if !resp.HasAck || !resp.Ack.OK {
			return resp.Raw, nil // the hive's refusal, verbatim
		}
		cs.attached = true
	}
	resp, err := cs.conn.DoContext(ctx, wireLine(line))
	if err != nil {
		cs.conn.Close()
		se.console = nil
		return nil, err
	}
	if strings.Fields(line)[0] == string(console.Quit) {
		cs.attached = false
	}
	return resp.Raw, nil
}

// wireLine is the console line for a shell line: cohsh's log verb is a
// tail of the queen log; other lines go verbatim.
func wireLine(line string) string {
	if line == "log" {
		return string(console.Tail) + " " + generated.ClientPathsLog
	}
	return line
}
