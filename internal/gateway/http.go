package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cohesix/cohesix/internal/gateway/broker"
	"github.com/cohesix/cohesix/internal/gatewayapi"
)

// statusWriter records the status a handler wrote, for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and the deadlines.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logged writes one line per request: method, route, status, client and
// duration. Never the query (it may carry a path a caller considers
// private), a header, a token or a ticket.
func (s *Server) logged(route string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		s.metrics.requests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
		s.log.Printf("%s %s %d client=%s dur=%s", r.Method, route, sw.status, r.RemoteAddr, time.Since(start).Round(time.Microsecond))
	}
}

// writeJSON answers v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// problem answers a Problem.
func problem(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, gatewayapi.Problem{Code: code, Error: msg})
}

// retryAfter sets Retry-After in whole seconds, at least one.
func retryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(d.Seconds())))))
}

// refuseBad answers bad input: 400 with the code and words, a log line,
// and nothing sent upstream.
func (s *Server) refuseBad(w http.ResponseWriter, r *http.Request, route string, err error) {
	var b *badInput
	if !errors.As(err, &b) {
		b = &badInput{code: gatewayapi.CodeBadRequest, msg: err.Error()}
	}
	s.metrics.badInput.WithLabelValues(b.code).Inc()
	s.log.Printf("bad input %s %s client=%s code=%s: %s", r.Method, route, r.RemoteAddr, b.code, b.msg)
	problem(w, http.StatusBadRequest, b.code, b.msg)
}

// presentedToken is the request-auth token of r: Authorization: Bearer
// first, then X-Cohesix-Auth.
func presentedToken(r *http.Request) string {
	if a := r.Header.Get("Authorization"); a != "" {
		if scheme, tok, ok := strings.Cut(a, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
		return ""
	}
	return r.Header.Get(gatewayapi.HeaderAuth)
}

// tokenOK compares in constant time (over fixed-length digests, so not
// even the length leaks).
func tokenOK(want, got string) bool {
	if want == "" {
		return true
	}
	a, b := sha256.Sum256([]byte(want)), sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1 && got != ""
}

// authorize checks a mutating request: the token, and the delegated
// ticket where one is required. It answers 401 itself and says false.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, route string) bool {
	if !tokenOK(s.cfg.Token, presentedToken(r)) {
		s.metrics.authFail.Inc()
		s.log.Printf("auth refused %s %s client=%s: missing or wrong request-auth token", r.Method, route, r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="hive-gateway"`)
		problem(w, http.StatusUnauthorized, gatewayapi.CodeUnauthorized, "missing or wrong request-auth token (Authorization: Bearer or X-Cohesix-Auth)")
		return false
	}
	if (s.cfg.RequireTicket || s.cfg.Profile != devProfile) && r.Header.Get(gatewayapi.HeaderTicket) == "" {
		s.metrics.authFail.Inc()
		s.log.Printf("auth refused %s %s client=%s: no delegated ticket", r.Method, route, r.RemoteAddr)
		problem(w, http.StatusUnauthorized, gatewayapi.CodeUnauthorized, "this gateway requires X-Cohesix-Ticket on mutating routes")
		return false
	}
	return true
}

// checkContentType refuses a body that is not one of want.
func checkContentType(r *http.Request, want ...string) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err == nil {
		for _, w := range want {
			if mt == w {
				return nil
			}
		}
	}
	return bad(gatewayapi.CodeBadRequest, "Content-Type %q is not %s", clipForLog(r.Header.Get("Content-Type")), strings.Join(want, " or "))
}

// overloaded answers 429: the class is full, retry after wait. The
// connection is held to that Retry-After (P112): a request it sends
// sooner that is refused too ignored it, and its 429 waits until then,
// so a client that retries at once gets an answer per Retry-After, not
// per round trip, and a flood of retries cannot take the CPU an
// operator's requests need. A client that honours Retry-After never
// waits here, nor does a request that finds room, nor another connection.
func (s *Server) overloaded(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	st, _ := r.Context().Value(connKey{}).(*connState)
	if st != nil {
		if early := time.Until(time.Unix(0, st.retryAt.Load())); early > 0 {
			s.metrics.retryEarly.Inc()
			t := time.NewTimer(early)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return // the client went away: nothing to answer
			}
		}
		st.retryAt.Store(time.Now().Add(wait).UnixNano())
	}
	retryAfter(w, wait)
	problem(w, http.StatusTooManyRequests, gatewayapi.CodeOverloaded, "the gateway's queue for this class is full")
}

// upstreamError answers an error that is not a hive refusal: 503, 429,
// 504 or 403, each with its Problem.
func (s *Server) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	var un *errUnavailable
	var at *errAttach
	switch {
	case errors.As(err, &un):
		retryAfter(w, un.retryAfter)
		problem(w, http.StatusServiceUnavailable, gatewayapi.CodeUnavailable, "the hive is unreachable; the gateway is reconnecting")
	case errors.Is(err, broker.ErrOverflow):
		s.overloaded(w, r, s.broker.RetryAfter())
	case errors.Is(err, broker.ErrDeadline), errors.Is(err, context.DeadlineExceeded):
		problem(w, http.StatusGatewayTimeout, gatewayapi.CodeDeadline, "the hive did not answer before the broker's deadline")
	case errors.As(err, &at):
		problem(w, http.StatusForbidden, "forbidden", at.Error())
	default:
		retryAfter(w, ms(1))
		problem(w, http.StatusServiceUnavailable, gatewayapi.CodeUnavailable, "the upstream session failed; the gateway is reconnecting")
	}
}
