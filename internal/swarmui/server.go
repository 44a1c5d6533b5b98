package swarmui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/netguard"
	"github.com/cohesix/cohesix/internal/ticket"
)

// CSP is the page's Content-Security-Policy (20f): scripts, styles and
// connections only from the server itself.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; worker-src 'self' blob:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// CSRFHeader must be on every POST (the page always sends it; a
// cross-site form cannot).
const CSRFHeader = "X-Cohesix-UI"

// notBuilt is the answer to / when the page bundle was not built.
const notBuilt = "the UI bundle is not built: run make ui"

// Server is one SwarmUI server.
type Server struct {
	cfg   Config
	sess  sessions
	log   *log.Logger
	mux   *http.ServeMux
	local *replayHive // --replay: the offline hive, nil when live
	conns netguard.Stats
}

// New builds a server; cfg must have passed Check.
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, sess: sessions{max: cfg.SessionsMax, perSubject: cfg.SessionsPerSubject, idle: cfg.SessionIdle, m: map[string]*session{}},
		log: log.New(cfg.Log, "swarmui: ", log.LstdFlags|log.LUTC)}
	if cfg.Replay != "" {
		r, err := loadReplayFile(cfg.Replay, cfg.Now())
		if err != nil {
			return nil, err
		}
		s.local = r
	}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /api/login", s.login)
	m.HandleFunc("POST /api/logout", s.authed(s.logout))
	m.HandleFunc("GET /api/whoami", s.authed(s.whoami))
	m.HandleFunc("GET /api/stream", s.authed(s.stream))
	m.HandleFunc("POST /api/console", s.authed(s.consoleRoute))
	m.HandleFunc("GET /api/console/follow", s.authed(s.followRoute))
	m.HandleFunc("GET /api/worker", s.authed(s.worker))
	m.HandleFunc("GET /api/panel", s.authed(s.panel))
	m.HandleFunc("POST /api/replay", s.authed(s.replay))
	m.HandleFunc("GET /api/snapshot", s.authed(s.snapshot))
	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, http.StatusNotFound, "no such API route: "+r.Method+" "+r.URL.Path)
	})
	m.HandleFunc("/", s.static)
	s.mux = m
}

// ServeHTTP adds the security headers every response carries.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	if strings.HasPrefix(r.URL.Path, "/api/") {
		h.Set("Cache-Control", "no-store")
	}
	s.mux.ServeHTTP(w, r)
}

// Close ends every session's upstream.
func (s *Server) Close() { s.sess.closeAll() }

// Run serves on the configured bind until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	l, err := net.Listen("tcp", s.cfg.Bind)
	if err != nil {
		return err
	}
	return s.Serve(ctx, l)
}

// Serve serves on l until ctx ends.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: time.Duration(generated.GatewayReadHeaderTimeoutMs) * time.Millisecond,
		IdleTimeout: time.Duration(generated.GatewayIdleTimeoutMs) * time.Millisecond, ErrorLog: s.log,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() {
		<-ctx.Done()
		hs.Close()
	}()
	scheme := "http"
	if s.cfg.TLSCert != "" {
		scheme = "https"
	}
	s.log.Printf("serving %s://%s (hive %s)", scheme, l.Addr(), s.upstreamName())
	// The gateway's HTTP-front rules, as for its timeouts above: one
	// address holds at most gateway.max_conns_per_peer connections.
	l = netguard.Limit(l, netguard.Config{Name: "swarmui", MaxConnsPerPeer: generated.GatewayMaxConnsPerPeer, ReturnMemory: true,
		AuditWindow: time.Duration(generated.NetworkAuditSummaryWindowMs) * time.Millisecond,
		Audit:       func(line string) { s.log.Print(line) }, Stats: &s.conns})
	if s.cfg.TLSCert != "" {
		err := hs.ServeTLS(l, s.cfg.TLSCert, s.cfg.TLSKey)
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
	if err := hs.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (s *Server) upstreamName() string {
	switch {
	case s.local != nil:
		return "replay " + s.cfg.Replay
	case s.cfg.Gateway != "":
		return "gateway " + s.cfg.Gateway
	}
	return "Secure9P " + s.cfg.Hive9P
}

// static serves the embedded page; 503 when it was not built.
func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Assets == nil {
		http.Error(w, notBuilt, http.StatusServiceUnavailable)
		return
	}
	if _, err := fs.Stat(s.cfg.Assets, "index.html"); err != nil {
		http.Error(w, notBuilt, http.StatusServiceUnavailable)
		return
	}
	http.FileServerFS(s.cfg.Assets).ServeHTTP(w, r)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// authed resolves the cookie to a session (401 without one), applies the
// CSRF header rule to POSTs and the per-session rate (429, Retry-After).
func (s *Server) authed(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(CookieName)
		if err != nil {
			writeErr(w, http.StatusUnauthorized, "not logged in: POST /api/login with a ticket")
			return
		}
		se, ok := s.sess.get(c.Value, s.cfg.Now())
		if !ok {
			writeErr(w, http.StatusUnauthorized, "the UI session has ended: log in again")
			return
		}
		if r.Method == http.MethodPost && r.Header.Get(CSRFHeader) != "1" {
			writeErr(w, http.StatusForbidden, "missing header "+CSRFHeader+": 1")
			return
		}
		if ok, wait := se.allow(s.cfg.Now(), s.cfg.RatePerS); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(max(1, (wait+time.Second-1)/time.Second))))
			writeErr(w, http.StatusTooManyRequests, fmt.Sprintf("over this session's quota of %d requests per second", s.cfg.RatePerS))
			return
		}
		h(w, r, se)
	}
}

type loginReq struct {
	Ticket string `json:"ticket"`
}

type whoami struct {
	Role    string `json:"role"`
	Subject string `json:"subject"`
}

// login attaches an upstream session with the ticket as aname: the hive
// judges the ticket, and its refusal words come back with 401.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get(CSRFHeader) != "1" {
		writeErr(w, http.StatusForbidden, "missing header "+CSRFHeader+": 1")
		return
	}
	var req loginReq
	if err := decodeBody(r, &req); err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	tok := strings.TrimSpace(req.Ticket)
	claims, err := ticket.Parse(tok)
	if err != nil {
		s.log.Printf("login refused: ticket does not parse: %v", err)
		writeErr(w, http.StatusUnauthorized, "ticket refused: "+err.Error())
		return
	}
	se := &session{role: claims.Role.String(), subject: claims.Subject, ticket: tok,
		key: subjectKey(claims.Role.String(), claims.Subject, tok)}
	if err := s.sess.subjectFull(se.key, s.cfg.Now()); err != nil {
		s.refuseFlood(w, r, se, err)
		return
	}
	if s.local == nil {
		h, err := s.cfg.Dial(tok)
		if err != nil {
			s.log.Printf("login refused role=%s: %v", se.role, err)
			writeErr(w, http.StatusUnauthorized, "the hive refused the ticket: "+err.Error())
			return
		}
		se.hive = h
	}
	if err := s.sess.add(se, s.cfg.Now()); err != nil {
		se.close()
		var full *errSubjectFull
		if errors.As(err, &full) {
			s.refuseFlood(w, r, se, err)
			return
		}
		writeErr(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: se.id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.cfg.TLSCert != ""})
	s.log.Printf("login role=%s subject=%q", se.role, se.subject)
	writeJSON(w, http.StatusOK, whoami{Role: se.role, Subject: se.subject})
}

// refuseFlood answers a login over swarmui.sessions_per_subject: 429, and
// an audit line naming the subject and the client, never the ticket.
func (s *Server) refuseFlood(w http.ResponseWriter, r *http.Request, se *session, err error) {
	s.log.Printf("audit login refused reason=sessions-per-subject role=%s subject=%s limit=%d remote=%s",
		se.role, subjectName(se.key), s.sess.perSubject, r.RemoteAddr)
	w.Header().Set("Retry-After", strconv.Itoa(int(s.cfg.SessionIdle/time.Second)))
	writeErr(w, http.StatusTooManyRequests, err.Error())
}

func (s *Server) logout(w http.ResponseWriter, _ *http.Request, se *session) {
	s.sess.remove(se.id)
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) whoami(w http.ResponseWriter, _ *http.Request, se *session) {
	writeJSON(w, http.StatusOK, whoami{Role: se.role, Subject: se.subject})
}

// decodeBody reads one JSON object of at most gateway.max_body_bytes.
func decodeBody(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, generated.GatewayMaxBodyBytes+1))
	if err != nil {
		return fmt.Errorf("reading the body: %v", err)
	}
	if len(b) > generated.GatewayMaxBodyBytes {
		return fmt.Errorf("the body is over %d bytes", generated.GatewayMaxBodyBytes)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("the body is not the JSON this route takes: %v", err)
	}
	return nil
}
