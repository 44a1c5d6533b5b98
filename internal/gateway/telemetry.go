package gateway

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/gateway/broker"
	"github.com/cohesix/cohesix/internal/gateway/teleio"
	"github.com/cohesix/cohesix/internal/gatewayapi"
	"github.com/cohesix/cohesix/internal/nineclient"
)

// telemetryRoot is where devices live (client_policies.coh.telemetry.root),
// as coh telemetry push and pull use it.
const telemetryRoot = generated.ClientPoliciesCohTelemetryRoot

func (s *Server) telemetryRoutes(mux *http.ServeMux) {
	route := gatewayapi.PathTelemetry
	mux.HandleFunc("GET "+route, s.logged(route, s.validatedNoBody(route, false, s.telemetryList)))
	mux.HandleFunc("POST "+route+"/{device}", s.logged(route+"/{device}", s.pushAdmitted(route, s.validatedNoBody(route, false, s.telemetryPush))))
	mux.HandleFunc("GET "+route+"/{device}", s.logged(route+"/{device}", s.validatedNoBody(route, false, s.telemetryPullDevice)))
	mux.HandleFunc("GET "+route+"/{device}/{seg}", s.logged(route+"/{device}/{seg}", s.validatedNoBody(route, false, s.telemetryPull)))
}

// pushAdmitted checks the token and takes a push slot before anything
// else is spent on a push. When every slot streams, up to
// gateway.broker.telemetry_queue pushes wait for one (as the broker's
// telemetry queue would), for at most the broker's deadline; beyond that
// the answer is 429 at once, so under a flood the refusals cost as
// little as a request can and the waiting pushes cost nothing.
func (s *Server) pushAdmitted(route string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.authorize(w, r, route) {
			return
		}
		select {
		case s.pushSlots <- struct{}{}:
		default:
			if !s.awaitPushSlot(r) {
				s.overloaded(w, r, s.broker.RetryAfter())
				return
			}
		}
		defer func() { <-s.pushSlots }()
		h(w, r)
	}
}

// awaitPushSlot waits for a push slot in the bounded waiting room.
func (s *Server) awaitPushSlot(r *http.Request) bool {
	if s.pushWaiting.Add(1) > generated.GatewayBrokerTelemetryQueue {
		s.pushWaiting.Add(-1)
		return false
	}
	defer s.pushWaiting.Add(-1)
	t := time.NewTimer(ms(generated.GatewayBrokerDeadlineMs))
	defer t.Stop()
	select {
	case s.pushSlots <- struct{}{}:
		return true
	case <-r.Context().Done():
	case <-t.C:
	}
	return false
}

// validatedNoBody is validated for routes whose body is streamed, never
// read whole: the token on a mutating route, then the OpenAPI document
// without the body (teleio checks the body as it streams).
func (s *Server) validatedNoBody(route string, mutating bool, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if mutating && !s.authorize(w, r, route) {
			return
		}
		if err := s.contract.ValidateRequest(r.Context(), r, nil); err != nil {
			s.refuseBad(w, r, route, bad(gatewayapi.CodeBadRequest, "the request does not match the OpenAPI document: %s", firstLine(err.Error())))
			return
		}
		h(w, r)
	}
}

// teleError answers a teleio error: bad input 400, a missing segment
// 404, a hive refusal as the console words (verb), else an upstream
// failure.
func (s *Server) teleError(w http.ResponseWriter, r *http.Request, verb console.Verb, path string, err error) {
	switch {
	case teleio.IsBadInput(err):
		s.refuseBad(w, r, gatewayapi.PathTelemetry, bad(gatewayapi.CodeBadRequest, "%s", err.Error()))
	case errors.Is(err, teleio.ErrNotFound):
		problem(w, http.StatusNotFound, gatewayapi.CodeNotFound, err.Error())
	case isRefusal(err) && verb == console.Echo:
		// A push answers a PushResult, not a Response: a refusal is a
		// Problem carrying the console's words.
		problem(w, http.StatusForbidden, "forbidden", refused(verb, path, err).Ack)
	case isRefusal(err):
		writeJSON(w, http.StatusOK, refused(verb, path, err))
	default:
		s.upstreamError(w, r, err)
	}
}

// pipelineCall runs fn on the request session's Pipeline in the
// telemetry class; errors of fn that are not the session's (bad input, a
// missing segment, a refusal) come back in appErr and leave the session
// up.
func (s *Server) pipelineCall(r *http.Request, fn func(*nineclient.Pipeline) error) (appErr, err error) {
	err = s.upstream(r, broker.Telemetry, func(sess *session) error {
		pl, err := sess.Pipeline()
		if err != nil {
			return err
		}
		if e := fn(pl); e != nil {
			if teleio.IsBadInput(e) || errors.Is(e, teleio.ErrNotFound) || isRefusal(e) {
				appErr = e
				return nil
			}
			sess.resetPipeline()
			return e
		}
		return nil
	})
	return appErr, err
}

func (s *Server) telemetryList(w http.ResponseWriter, r *http.Request) {
	var out gatewayapi.Segments
	var appErr error
	err := s.upstream(r, broker.Telemetry, func(sess *session) error {
		var e error
		if out, e = teleio.List(sess.c, telemetryRoot); e != nil && isRefusal(e) {
			appErr = e
			return nil
		}
		return e
	})
	if err == nil {
		err = appErr
	}
	if err != nil {
		s.teleError(w, r, console.Ls, telemetryRoot, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// segBufs holds segment-sized read buffers for pulls, so a pull does not
// allocate one max_bytes_per_segment buffer per request.
var segBufs = sync.Pool{New: func() any {
	b := make([]byte, generated.TelemetryIngestMaxBytesPerSegment)
	return &b
}}

// queryOffset is the request's offset parameter (0 when absent); a bad
// one is answered 400 and ok is false.
func (s *Server) queryOffset(w http.ResponseWriter, r *http.Request) (off int64, ok bool) {
	v := r.URL.Query().Get("offset")
	if v == "" {
		return 0, true
	}
	off, err := strconv.ParseInt(v, 10, 64)
	if err != nil || off < 0 {
		s.refuseBad(w, r, gatewayapi.PathTelemetry, bad(gatewayapi.CodeBadRequest, "offset %q is not a byte offset", clipForLog(v)))
		return 0, false
	}
	return off, true
}

// deviceBufs holds device-sized read buffers for device pulls
// (max_total_bytes_per_device: every segment a device holds).
var deviceBufs = sync.Pool{New: func() any {
	b := make([]byte, generated.TelemetryIngestMaxTotalBytesPerDevice)
	return &b
}}

// telemetryPullDevice answers a device's segments from a cursor in one
// body (spans in HeaderSpans): what a pull of the device needs, in one
// request instead of one per segment.
func (s *Server) telemetryPullDevice(w http.ResponseWriter, r *http.Request) {
	device, from := r.PathValue("device"), r.URL.Query().Get("from")
	off, ok := s.queryOffset(w, r)
	if !ok {
		return
	}
	var spans []gatewayapi.Span
	var data []byte
	var buf *[]byte
	appErr, err := s.pipelineCall(r, func(pl *nineclient.Pipeline) error {
		// Taken once the broker has admitted the pull, so a flood that
		// gets 429s holds no device-sized buffers.
		buf = deviceBufs.Get().(*[]byte)
		var e error
		spans, data, e = teleio.ReadDevice(pl, telemetryRoot, device, from, off, *buf)
		return e
	})
	if err == nil {
		defer deviceBufs.Put(buf) // fn has returned: buf is this request's alone
		err = appErr
	}
	if err != nil {
		s.teleError(w, r, console.Cat, telemetryRoot+"/"+device+"/seg", err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set(gatewayapi.HeaderSpans, gatewayapi.EncodeSpans(spans))
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

func (s *Server) telemetryPull(w http.ResponseWriter, r *http.Request) {
	device, seg := r.PathValue("device"), r.PathValue("seg")
	off, ok := s.queryOffset(w, r)
	if !ok {
		return
	}
	var data []byte
	var size int64
	var buf *[]byte
	appErr, err := s.pipelineCall(r, func(pl *nineclient.Pipeline) error {
		buf = segBufs.Get().(*[]byte) // once admitted, as for a device pull
		var e error
		data, size, e = teleio.ReadSegmentInto(pl, telemetryRoot, device, seg, off, *buf)
		return e
	})
	if err == nil {
		// fn has returned (the broker may leave a late fn running only
		// when err is not nil): buf is this request's alone until the
		// answer is written.
		defer segBufs.Put(buf)
	}
	if err == nil {
		err = appErr
	}
	if err != nil {
		s.teleError(w, r, console.Cat, telemetryRoot+"/"+device+"/seg/"+seg, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set(gatewayapi.HeaderSize, strconv.FormatInt(size, 10))
	w.Header().Set(gatewayapi.HeaderOffset, strconv.FormatInt(off, 10))
	// The span is whole before the answer starts: a Content-Length spares
	// the chunked framing and a write per pull on both sides.
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

// telemetryPush streams the body into segments. The broker admits the
// push in the telemetry class (429 when that class is full) and opens
// the session's Pipeline; the stream itself runs outside the broker's
// deadline, which bounds one call, not a body of any size, and at most
// gateway.broker.workers pushes stream at once (429 beyond).
func (s *Server) telemetryPush(w http.ResponseWriter, r *http.Request) {
	device := r.PathValue("device")
	mime, err := teleio.Mime(r.Header.Get("Content-Type"))
	if err != nil {
		s.teleError(w, r, console.Echo, telemetryRoot+"/"+device, err)
		return
	}
	var sess *session
	err = s.upstream(r, broker.Telemetry, func(ss *session) error {
		if _, err := ss.Pipeline(); err != nil {
			return err
		}
		sess = ss
		return nil
	})
	if err != nil {
		s.upstreamError(w, r, err)
		return
	}
	sess.streams.Add(1)
	defer sess.streams.Add(-1)
	// A push holds the Pipeline for its whole stream: pushes of one
	// session take turns.
	sess.pushMu.Lock()
	defer sess.pushMu.Unlock()
	pl, err := sess.Pipeline()
	if err != nil {
		s.upstreamError(w, r, s.pool.drop(sess, err))
		return
	}
	rc := http.NewResponseController(w)
	body := &idleReader{r: r.Body, rc: rc, idle: ms(generated.GatewayIdleTimeoutMs)}
	res, err := teleio.Push(pl, telemetryRoot, device, mime, body)
	_ = rc.SetReadDeadline(timeZero)
	s.cache.InvalidateAll() // a push moves the /proc/ingest counters
	if err != nil {
		if !teleio.IsBadInput(err) && !isRefusal(err) {
			sess.resetPipeline()
		}
		s.log.Printf("telemetry push client=%s device-bytes=%d segments=%d: %v", r.RemoteAddr, res.Bytes, len(res.Segments), err)
		s.teleError(w, r, console.Echo, telemetryRoot+"/"+device, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// idleReader cuts a body that stops arriving: each Read must make
// progress within idle (gateway.idle_timeout_ms), so a client dripping a
// push cannot hold a push slot for ever; a body of any size still
// streams.
type idleReader struct {
	r    io.Reader
	rc   *http.ResponseController
	idle time.Duration
}

func (b *idleReader) Read(p []byte) (int, error) {
	_ = b.rc.SetReadDeadline(time.Now().Add(b.idle))
	return b.r.Read(p)
}
