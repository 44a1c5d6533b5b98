package gateway

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/gateway/broker"
	"github.com/cohesix/cohesix/internal/gatewayapi"
)

// sseWriteTimeout bounds one event write: a client that stops reading is
// cut instead of holding a handler (the server has no WriteTimeout so
// that streams may last).
const sseWriteTimeout = 10 * time.Second

// parseEventID parses Last-Event-ID: the byte offset after the last line
// the client received.
func parseEventID(s string) (int64, bool, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, false, bad(gatewayapi.CodeBadRequest, "Last-Event-ID %q is not a byte offset", clipForLog(s))
	}
	return n, true, nil
}

// sseStream writes server-sent events of one tail.
type sseStream struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (e *sseStream) send(event, id, data string) error {
	_ = e.rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout))
	var b strings.Builder
	if event != "" {
		fmt.Fprintf(&b, "event: %s\n", event)
	}
	if id != "" {
		fmt.Fprintf(&b, "id: %s\n", id)
	}
	fmt.Fprintf(&b, "data: %s\n\n", data)
	if _, err := e.w.Write([]byte(b.String())); err != nil {
		return err
	}
	return e.rc.Flush()
}

// lines sends each complete line of data, which starts at off, with the
// offset after it as its id; it returns the offset after the last
// complete line.
func (e *sseStream) lines(data []byte, off int64, keep int) (int64, error) {
	end := strings.LastIndexByte(string(data), '\n')
	if end < 0 {
		return off, nil
	}
	all := strings.Split(string(data[:end]), "\n")
	ids := make([]int64, len(all))
	at := off
	for i, l := range all {
		at += int64(len(l)) + 1
		ids[i] = at
	}
	first := 0
	if keep > 0 && len(all) > keep {
		first = len(all) - keep
	}
	for i := first; i < len(all); i++ {
		if err := e.send("", strconv.FormatInt(ids[i], 10), all[i]); err != nil {
			return off, err
		}
	}
	return off + int64(end) + 1, nil
}

// tailFollow streams a tail as server-sent events (tail -f): the last
// lines first (or from Last-Event-ID), then each new line as the hive's
// file grows, polled every client_policies.cohsh.tail poll interval. A
// refusal ends the stream with an `event: error` carrying the ERR ack.
// The file is followed by offset; a file that shrinks (a ring rewritten)
// is followed again from its start.
func (s *Server) tailFollow(w http.ResponseWriter, r *http.Request, q readQuery) {
	off, resume, err := parseEventID(r.Header.Get("Last-Event-ID"))
	if err != nil {
		s.refuseBad(w, r, "/v1/fs/tail", err)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	e := &sseStream{w: w, rc: http.NewResponseController(w)}
	_ = e.rc.Flush()
	keep := q.lines
	if keep == 0 {
		keep = generated.GatewayTailMaxLines
	}
	first := true
	t := time.NewTicker(s.cfg.TailPoll)
	defer t.Stop()
	for {
		var data []byte
		var start int64
		notTailable := false
		err := s.upstream(r, broker.Telemetry, func(sess *session) error {
			st, err := sess.c.Stat(q.path)
			if err != nil {
				return err
			}
			if !tailable(q.path) {
				notTailable = true
				return nil
			}
			size := int64(st.Size)
			switch {
			case first && !resume:
				data, start, err = tailWindow(sess, q.path, generated.GatewayMaxReadBytes)
				return err
			case size < off:
				off = 0
			}
			start = off
			if size > off {
				data, err = readN(sess.c, q.path, off, int(min(size-off, generated.GatewayMaxReadBytes)))
			}
			return err
		})
		switch {
		case notTailable:
			_ = e.send("error", "", console.Refusal(console.Tail.Label(), console.ReasonPolicy, console.DetailInvalidPath, "path", q.path).Render(lim))
			return
		case err != nil && isRefusal(err):
			_ = e.send("error", "", refused(console.Tail, q.path, err).Ack)
			return
		case err != nil:
			_ = e.send("error", "", "ERR TAIL reason=busy detail=unavailable path="+q.path)
			return
		}
		n := 0
		if first {
			n = keep
		}
		first = false
		if off, err = e.lines(data, start, n); err != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

// tailWindow reads the last max bytes of path, starting at a line.
func tailWindow(sess *session, path string, max int) ([]byte, int64, error) {
	data, end, err := tailRead(sess.c, path, max)
	return data, end - int64(len(data)), err
}
