package swarmui

import (
	"context"
	"net/http"
	"time"

	"github.com/cohesix/cohesix/internal/client"
	"github.com/cohesix/cohesix/internal/cohverb"
)

// followRoute is GET /api/console/follow?path=: the console panel's
// `tail -f`, cohverb.Follow (cohsh's loop) over the session's console,
// streamed as server-sent events: `line` {"line"} for the ack and each
// new line, then `end` {"lines"} with the hive's refusal when it refuses
// (the worker was killed), or {"error"} when the console broke. It is
// bounded to one stream per UI session and ends when the page closes it.
func (s *Server) followRoute(w http.ResponseWriter, r *http.Request, se *session) {
	path := r.URL.Query().Get("path")
	if err := cohverb.CheckPath(path); err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	if s.local != nil {
		writeErr(w, http.StatusServiceUnavailable, errOffline.Error())
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		writeErr(w, http.StatusInternalServerError, "streaming is not supported by this connection")
		return
	}
	if !se.following.CompareAndSwap(false, true) {
		writeErr(w, http.StatusConflict, "a tail -f is already streaming in this UI session: stop it first")
		return
	}
	defer se.following.Store(false)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	do := func(ctx context.Context, line string) (client.Response, error) {
		se.consoleMu.Lock() // one poll at a time with the panel's commands
		defer se.consoleMu.Unlock()
		return s.wire(ctx, se, line)
	}
	refused, err := cohverb.Follow(r.Context(), path, do, sleepMs, func(l string) error {
		event(w, "line", map[string]string{"line": l})
		fl.Flush()
		return r.Context().Err()
	})
	switch {
	case err != nil:
		event(w, "end", map[string]string{"error": err.Error()})
	case refused != nil:
		event(w, "end", map[string][]string{"lines": refused})
	default:
		return
	}
	fl.Flush()
}

func sleepMs(ctx context.Context, ms int) error {
	t := time.NewTimer(time.Duration(ms) * time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
