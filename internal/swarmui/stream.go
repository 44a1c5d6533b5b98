package swarmui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/cohesix/cohesix/generated"
)

// Paths of the /proc/ui projection (internal/prov/procfs/ui.go).
const (
	PathUIGen   = "/proc/ui/gen"
	PathUIPages = "/proc/ui/workers/"
)

// poll reads the hive's state once through the session's upstream. A
// queen-side ticket reads the /proc/ui pages; a worker ticket, whose
// scope the hive confines to its own subtree, stats its own telemetry.
func (s *Server) poll(se *session) (Queen, []rawWorker, error) {
	if s.local != nil {
		return s.local.poll(s.cfg.Now())
	}
	if se.subject != "" && se.role != "queen" {
		st, err := se.hive.Stat(generated.SwarmuiPathsWorkerRoot + "/" + se.subject + "/telemetry")
		if err != nil {
			return Queen{Lifecycle: "UNKNOWN"}, nil, nil // gone: the stream removes it
		}
		return Queen{Lifecycle: "UNKNOWN", Reachable: true, Workers: 1},
			[]rawWorker{{id: se.subject, role: se.role, state: "running", end: st.Size}}, nil
	}
	return se.fids.poll(se.hive)
}

// stream is GET /api/stream: a hive event, then at most one diff per
// swarmui.push_ms while anything changed.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, se *session) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeErr(w, http.StatusInternalServerError, "streaming is not supported by this connection")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	if s.local != nil { // --replay: the file's last frame, as recorded
		event(w, "hive", s.local.last)
		fl.Flush()
		<-r.Context().Done()
		return
	}
	p := newProjector()
	sent, failing := false, false
	t := time.NewTicker(s.cfg.Push)
	defer t.Stop()
	for {
		q, raws, err := s.poll(se)
		now := s.cfg.Now()
		switch {
		case err != nil:
			if !failing {
				event(w, "error", map[string]string{"error": err.Error()})
				fl.Flush()
			}
			failing, sent = true, false // resync with a hive event once it answers
		case !sent:
			p.apply(q, raws, now)
			p.apply(q, raws, now) // a second look settles removals: the first hive event is exact
			event(w, "hive", p.full(now))
			fl.Flush()
			sent, failing = true, false
		default:
			if d := p.apply(q, raws, now); len(d.Upsert)+len(d.Remove) > 0 {
				if d.Upsert == nil {
					d.Upsert = []Worker{}
				}
				if d.Remove == nil {
					d.Remove = []string{}
				}
				event(w, "diff", d)
				fl.Flush()
			}
		}
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
		}
	}
}

func event(w http.ResponseWriter, name string, v any) {
	b, _ := json.Marshal(v)
	fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, b)
}
