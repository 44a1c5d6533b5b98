package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hugelgupf/p9/p9"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/gateway/broker"
	"github.com/cohesix/cohesix/internal/gateway/hotcache"
	"github.com/cohesix/cohesix/internal/gatewayapi"
	"github.com/cohesix/cohesix/internal/nineclient"
	"github.com/cohesix/cohesix/internal/ticket"
)

// routes builds the gateway's mux.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	plain := func(route string, h http.HandlerFunc) { mux.HandleFunc("GET "+route, s.logged(route, h)) }
	plain(gatewayapi.PathHealthz, func(w http.ResponseWriter, _ *http.Request) { text(w, http.StatusOK, "ok\n") })
	plain(gatewayapi.PathReadyz, s.readyz)
	plain(gatewayapi.PathMetrics, s.metrics.handler().ServeHTTP)
	plain(gatewayapi.PathOpenAPI, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(OpenAPIDocument())
	})
	s.docsRoutes(mux)
	get := func(route string, h http.HandlerFunc) {
		mux.HandleFunc("GET "+route, s.logged(route, s.validated(route, false, h)))
	}
	get(gatewayapi.PathBounds, s.bounds)
	get(gatewayapi.PathStatus, s.status)
	get(gatewayapi.PathLs, s.ls)
	get(gatewayapi.PathCat, s.cat)
	get(gatewayapi.PathTail, s.tail)
	get(gatewayapi.PathRead, s.read)
	get(gatewayapi.PathStat, s.stat)
	mux.HandleFunc("POST "+gatewayapi.PathEcho, s.logged(gatewayapi.PathEcho, s.validated(gatewayapi.PathEcho, true, s.echo)))
	s.telemetryRoutes(mux)
	mux.HandleFunc("/", s.logged("other", func(w http.ResponseWriter, r *http.Request) {
		problem(w, http.StatusNotFound, gatewayapi.CodeNotFound, "no such route; see /v1/openapi.yaml")
	}))
	return mux
}

func text(w http.ResponseWriter, status int, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, s)
}

// validated checks a request before its handler runs: the request-auth
// token on a mutating route, then the OpenAPI document (and, for a POST,
// the body read within GatewayMaxBodyBytes). Bad input is answered here
// and never reaches the hive.
func (s *Server) validated(route string, mutating bool, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// The server has no Read/WriteTimeout (a stream may last); each
		// request gets its own: a JSON body must arrive as fast as a
		// header, an answer must leave within the broker's deadline and as
		// long again. An SSE stream replaces the write deadline per event.
		// (A read deadline left running would cancel the request's
		// context when it passes, so it is cleared once the body is in.)
		rc := http.NewResponseController(w)
		_ = rc.SetWriteDeadline(time.Now().Add(2 * ms(generated.GatewayBrokerDeadlineMs)))
		if mutating && !s.authorize(w, r, route) {
			return
		}
		var body []byte
		if mutating {
			if err := checkContentType(r, "application/json"); err != nil {
				s.refuseBad(w, r, route, err)
				return
			}
			var err error
			_ = rc.SetReadDeadline(time.Now().Add(ms(generated.GatewayReadHeaderTimeoutMs)))
			body, err = readBody(r.Body)
			_ = rc.SetReadDeadline(time.Time{})
			if err == nil {
				_, err = parseEcho(body)
			}
			if err != nil {
				s.refuseBad(w, r, route, err)
				return
			}
		} else if _, err := parseReadQuery(r.URL.Query()); err != nil && route != gatewayapi.PathBounds && route != gatewayapi.PathStatus {
			s.refuseBad(w, r, route, err)
			return
		}
		if err := s.contract.ValidateRequest(r.Context(), r, body); err != nil {
			s.refuseBad(w, r, route, bad(gatewayapi.CodeBadRequest, "the request does not match the OpenAPI document: %s", firstLine(err.Error())))
			return
		}
		h(w, r)
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// requestTicket is the ticket a request runs under: its own delegated
// ticket, else the gateway's.
func (s *Server) requestTicket(r *http.Request) string {
	if t := strings.TrimSpace(r.Header.Get(gatewayapi.HeaderTicket)); t != "" {
		return t
	}
	return s.ticket
}

// upstream runs fn on the request's session through the broker. A broken
// session is dropped (the next request redials after the back-off); a
// hive refusal comes back to the caller as it is.
func (s *Server) upstream(r *http.Request, class broker.Class, fn func(*session) error) error {
	tok := s.requestTicket(r)
	return s.broker.Do(r.Context(), class, ticketHash(tok), func(context.Context) error {
		sess, err := s.pool.get(tok, r.RemoteAddr)
		if err != nil {
			return err
		}
		if err := fn(sess); err != nil {
			if isRefusal(err) {
				return err
			}
			return s.pool.drop(sess, err)
		}
		return nil
	})
}

// answer writes the response of a console-like verb: the refusal in the
// console's words when the hive refused, else resp.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, verb console.Verb, path string, err error, resp func() gatewayapi.Response) {
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, resp())
	case isRefusal(err):
		writeJSON(w, http.StatusOK, refused(verb, path, err))
	default:
		s.upstreamError(w, r, err)
	}
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if !s.pool.up() {
		retryAfter(w, ms(generated.GatewayReconnectBackoffMs))
		problem(w, http.StatusServiceUnavailable, gatewayapi.CodeUnavailable, "the hive is unreachable")
		return
	}
	text(w, http.StatusOK, "ready\n")
}

func (s *Server) bounds(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, gatewayapi.Bounds{
		MaxReadBytes: generated.GatewayMaxReadBytes, TailMaxLines: generated.GatewayTailMaxLines,
		MaxBodyBytes: generated.GatewayMaxBodyBytes, LineMaxBytes: generated.ConsoleLineMaxBytes,
		PathMaxBytes: generated.ConsolePathMax, EchoMaxBytes: generated.ConsoleEchoMax,
		TelemetryRoot: generated.ClientPoliciesCohTelemetryRoot, SegmentMaxBytes: generated.TelemetryIngestMaxBytesPerSegment,
		RecordMaxBytes: generated.TelemetryIngestMaxRecordBytes, SegmentsPerDevice: generated.TelemetryIngestMaxSegmentsPerDevice,
		ManifestSHA256: generated.ManifestSHA256,
	})
}

// StatusBody is GET /v1/meta/status.
type StatusBody struct {
	HiveUp           bool               `json:"hive_up"`
	UpstreamSessions int                `json:"upstream_sessions"`
	Counters         map[string]float64 `json:"counters"`
}

func (s *Server) status(w http.ResponseWriter, _ *http.Request) {
	n, up, _, _ := s.pool.stats()
	writeJSON(w, http.StatusOK, StatusBody{HiveUp: up, UpstreamSessions: n, Counters: s.metrics.snapshot()})
}

func (s *Server) ls(w http.ResponseWriter, r *http.Request) {
	q, _ := parseReadQuery(r.URL.Query())
	var names []string
	err := s.upstream(r, broker.Control, func(sess *session) error {
		var err error
		names, err = sess.c.List(q.path)
		return err
	})
	s.answer(w, r, console.Ls, q.path, err, func() gatewayapi.Response { return lsResponse(q.path, names) })
}

// readN reads at most n bytes of path from off on c.
func readN(c *nineclient.Client, path string, off int64, n int) ([]byte, error) {
	f, err := c.Walk(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, _, err := f.Open(p9.ReadOnly); err != nil {
		return nil, err
	}
	// One ReadAt: the client reads msize chunks and stops at the first
	// short one, which is the end of a hive file. A second call would be a
	// second read of the ticket's cursor quota for what the console's
	// tail spends one on.
	buf := make([]byte, n)
	got, err := f.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:got], nil
}

// splitLines is console.SplitLines with an empty list for no lines (the
// response object's lines is never null).
func splitLines(b []byte) []string {
	if l := console.SplitLines(b); l != nil {
		return l
	}
	return []string{}
}

func (s *Server) cat(w http.ResponseWriter, r *http.Request) {
	q, _ := parseReadQuery(r.URL.Query())
	n := q.maxBytes
	if n == 0 {
		n = generated.GatewayMaxReadBytes
	}
	var data []byte
	load := func(context.Context) (any, error) {
		var b []byte
		err := s.upstream(r, broker.Control, func(sess *session) error {
			var err error
			b, err = readN(sess.c, q.path, 0, n)
			return err
		})
		return b, err
	}
	var v any
	var err error
	if hotcache.Cacheable(q.path) {
		v, _, err = s.cache.Load(r.Context(), hotcache.Key(q.path, ticketHash(s.requestTicket(r)), n), load)
	} else {
		v, err = load(r.Context())
	}
	if err == nil {
		data = v.([]byte)
	}
	s.answer(w, r, console.Cat, q.path, err, func() gatewayapi.Response {
		lines := console.ContentLines(data, lim)
		if lines == nil {
			lines = []string{} // never null in the response object
		}
		summary := console.CatSummary(q.path, lines, lim)
		if q.path == generated.ClientPathsLog {
			lines = nil // the console's cat of the log shows only the summary
		}
		return okResponse(console.Cat, q.path, lines, len(data), "path", q.path, "data", summary)
	})
}

// tailable is the console's rule for tail (consoleserver tail): the
// queen's log, a worker's telemetry ring, and the files that advance on
// tail (/proc/ingest/watch, the trace event files).
func tailable(path string) bool {
	comps := nineclient.Split(path)
	switch {
	case path == generated.ClientPathsLog:
		return true
	case len(comps) > 0 && comps[len(comps)-1] == "telemetry" && (comps[0] == "worker" || comps[0] == "shard"):
		return true
	case path == "/proc/ingest/watch", path == "/trace/events", path == "/kmesg":
		return true
	}
	return false
}

// tailRead reads the last max bytes of path from its size, dropping a
// partial first line, and returns the lines and the offset after them.
func tailRead(c *nineclient.Client, path string, max int) ([]byte, int64, error) {
	st, err := c.Stat(path)
	if err != nil {
		return nil, 0, err
	}
	off := max64(0, int64(st.Size)-int64(max))
	data, err := readN(c, path, off, max)
	if err != nil {
		return nil, 0, err
	}
	if off > 0 {
		if i := strings.IndexByte(string(data), '\n'); i >= 0 {
			data = data[i+1:]
		} else {
			data = nil
		}
	}
	return data, off + int64(len(data)), nil
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

func (s *Server) tail(w http.ResponseWriter, r *http.Request) {
	q, _ := parseReadQuery(r.URL.Query())
	if q.follow || strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		s.tailFollow(w, r, q)
		return
	}
	n := q.maxBytes
	if n == 0 {
		n = generated.GatewayMaxReadBytes
	}
	var data []byte
	notTailable := false
	err := s.upstream(r, broker.Control, func(sess *session) error {
		if _, err := sess.c.Stat(q.path); err != nil {
			return err
		}
		if !tailable(q.path) {
			notTailable = true
			return nil
		}
		var err error
		data, _, err = tailRead(sess.c, q.path, n)
		return err
	})
	if err == nil && notTailable {
		s.log.Printf("tail refused invalid-path client=%s", r.RemoteAddr)
		writeJSON(w, http.StatusOK, errResponse(console.Tail, q.path, console.Refusal(console.Tail.Label(), console.ReasonPolicy, console.DetailInvalidPath, "path", q.path)))
		return
	}
	s.answer(w, r, console.Tail, q.path, err, func() gatewayapi.Response {
		lines := splitLines(data)
		if keep := q.lines; keep > 0 && len(lines) > keep {
			lines = lines[len(lines)-keep:]
		} else if len(lines) > generated.GatewayTailMaxLines {
			lines = lines[len(lines)-generated.GatewayTailMaxLines:]
		}
		return okResponse(console.Tail, q.path, lines, len(data), "path", q.path)
	})
}

// echoAllowed is the console's echo rule (consoleserver echo): a role
// other than the queen may echo only to sidecar paths, which the hive
// then judges. The gateway applies it so REST and TCP answer alike; the
// ticket's role is read without verifying it, as the hive verifies.
func echoAllowed(tok, path string) bool {
	c, err := ticket.Parse(tok)
	if err == nil && c.Role == ticket.RoleQueen {
		return true
	}
	return strings.HasPrefix(path, "/bus/") || strings.HasPrefix(path, "/lora/")
}

func (s *Server) echo(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req, _ := parseEcho(body)
	if !echoAllowed(s.requestTicket(r), req.Path) {
		s.log.Printf("echo refused denied client=%s", r.RemoteAddr)
		writeJSON(w, http.StatusOK, errResponse(console.Echo, req.Path, console.Refusal(console.Echo.Label(), console.ReasonPolicy, console.DetailDenied, "path", req.Path, "error", console.ErrorTextEPERM)))
		return
	}
	err := s.upstream(r, broker.Control, func(sess *session) error {
		// No offset, as the console's echo: an append at 0 would be
		// refused by an offset-checked file that is not empty.
		_, err := sess.c.AppendAtEnd(req.Path, []byte(req.Line))
		return err
	})
	if err == nil {
		s.cache.InvalidateAll() // a write may change any /proc view
	}
	s.answer(w, r, console.Echo, req.Path, err, func() gatewayapi.Response {
		return okResponse(console.Echo, req.Path, nil, len(req.Line), "path", req.Path, "bytes", strconv.Itoa(len(req.Line)))
	})
}

func (s *Server) read(w http.ResponseWriter, r *http.Request) {
	q, _ := parseReadQuery(r.URL.Query())
	n := q.maxBytes
	if n == 0 {
		n = generated.GatewayMaxReadBytes
	}
	var data []byte
	var size uint64
	err := s.upstream(r, broker.Control, func(sess *session) error {
		st, err := sess.c.Stat(q.path)
		if err != nil {
			return err
		}
		size = st.Size
		data, err = readN(sess.c, q.path, q.offset, n)
		return err
	})
	if err != nil {
		s.answer(w, r, console.Cat, q.path, err, nil)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set(gatewayapi.HeaderSize, strconv.FormatUint(size, 10))
	w.Header().Set(gatewayapi.HeaderOffset, strconv.FormatInt(q.offset, 10))
	_, _ = w.Write(data)
}

func (s *Server) stat(w http.ResponseWriter, r *http.Request) {
	q, _ := parseReadQuery(r.URL.Query())
	var st nineclient.Stat
	err := s.upstream(r, broker.Control, func(sess *session) error {
		var err error
		st, err = sess.c.Stat(q.path)
		return err
	})
	if err != nil {
		s.answer(w, r, console.Cat, q.path, err, nil)
		return
	}
	kind := gatewayapi.KindFile
	if st.Dir {
		kind = gatewayapi.KindDir
	}
	writeJSON(w, http.StatusOK, gatewayapi.Stat{Path: q.path, Kind: kind, Size: int64(st.Size), AppendOnly: !st.Dir && st.Mode&0o222 != 0})
}
