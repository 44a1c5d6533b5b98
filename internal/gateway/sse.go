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
	"github.com/cohesix/cohesix/internal/nineclient"
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
// offset after it as its id (the last keep lines when keep > 0); it
// returns the cursor after the last complete line.
func (e *sseStream) lines(data []byte, off int64, keep int, anchor string) (cursor, error) {
	end := strings.LastIndexByte(string(data), '\n')
	if end < 0 {
		return cursor{off: off, anchor: anchor}, nil
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
			return cursor{}, err
		}
	}
	return cursor{off: off + int64(end) + 1, anchor: all[len(all)-1]}, nil
}

// tailFollow streams a tail as server-sent events (tail -f): the last
// lines first (or from Last-Event-ID), then each new line as the hive's
// file grows, polled every client_policies.cohsh.tail poll interval. A
// refusal ends the stream with an `event: error` carrying the ERR ack.
func (s *Server) tailFollow(w http.ResponseWriter, r *http.Request, q readQuery) {
	off, resume, err := parseEventID(r.Header.Get("Last-Event-ID"))
	if err != nil {
		s.refuseBad(w, r, gatewayapi.PathTail, err)
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
	cur := cursor{off: off, window: !resume}
	t := time.NewTicker(s.cfg.TailPoll)
	defer t.Stop()
	for {
		var next chunk
		err := s.upstream(r, broker.Telemetry, func(sess *session) error {
			var err error
			next, err = pollTail(sess.c, q.path, cur)
			return err
		})
		switch {
		case err == nil && next.notTailable:
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
		if cur.window {
			n = keep
		}
		if cur, err = e.lines(next.data, next.start, n, cur.anchor); err != nil {
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

// cursor is where a follower is: the offset after the last line sent and
// that line's text (the anchor), or window: start from the file's tail.
type cursor struct {
	off    int64
	anchor string
	window bool
}

// chunk is what one poll read: data starting at offset start.
type chunk struct {
	data        []byte
	start       int64
	notTailable bool
}

// pollTail reads what follows cur in path. A file that grew in place
// (the bytes before cur.off still end with the anchor line) is read from
// cur.off; a file rewritten meanwhile (the log is a ring: once full it
// drops its oldest lines as it adds new ones, so offsets shift) is read
// from its tail window after the last copy of the anchor line, or whole
// when the anchor has scrolled out.
func pollTail(c *nineclient.Client, path string, cur cursor) (chunk, error) {
	st, err := c.Stat(path)
	if err != nil {
		return chunk{}, err
	}
	if !tailable(path) {
		return chunk{notTailable: true}, nil
	}
	size := int64(st.Size)
	if cur.window {
		data, start, err := tailWindow(c, path, generated.GatewayMaxReadBytes)
		return chunk{data: data, start: start}, err
	}
	if cur.anchor == "" && cur.off <= size {
		data, err := readN(c, path, cur.off, int(min(size-cur.off, generated.GatewayMaxReadBytes)))
		return chunk{data: data, start: cur.off}, err
	}
	if n := int64(len(cur.anchor)) + 1; cur.anchor != "" && cur.off >= n && cur.off <= size {
		b, err := readN(c, path, cur.off-n, int(min(size-cur.off+n, generated.GatewayMaxReadBytes)))
		if err != nil {
			return chunk{}, err
		}
		if int64(len(b)) >= n && string(b[:n]) == cur.anchor+"\n" {
			return chunk{data: b[n:], start: cur.off}, nil
		}
	}
	data, start, err := tailWindow(c, path, generated.GatewayMaxReadBytes)
	if err != nil {
		return chunk{}, err
	}
	return afterAnchor(data, start, cur.anchor), nil
}

// afterAnchor cuts data (starting at start) after the last whole line
// equal to anchor; without one it is all new.
func afterAnchor(data []byte, start int64, anchor string) chunk {
	if anchor == "" {
		return chunk{data: data, start: start}
	}
	k := strings.LastIndex("\n"+string(data), "\n"+anchor+"\n")
	if k < 0 {
		return chunk{data: data, start: start}
	}
	cut := k + len(anchor) + 1
	return chunk{data: data[cut:], start: start + int64(cut)}
}

// tailWindow reads the last max bytes of path, starting at a line.
func tailWindow(c *nineclient.Client, path string, max int) ([]byte, int64, error) {
	data, end, err := tailRead(c, path, max)
	return data, end - int64(len(data)), err
}
