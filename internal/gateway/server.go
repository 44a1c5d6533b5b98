// Package gateway is hive-gateway (milestones 24c, 24e, 25b, 25d, 25f,
// 28b): the hive's HTTP API. It is a Secure9P client of the hive, never
// an authority: each request runs on an upstream session attached with
// the caller's ticket (X-Cohesix-Ticket) or the gateway's own, so the
// hive applies that ticket's role, scopes and quotas and names the HTTP
// client (via=) in its audit lines. The OpenAPI 3.1 document it serves
// is the contract every request is validated against.
package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/gateway/broker"
	"github.com/cohesix/cohesix/internal/gateway/hotcache"
	"github.com/cohesix/cohesix/internal/gatewayapi"
	"github.com/cohesix/cohesix/internal/netguard"
	"github.com/cohesix/cohesix/internal/nineclient"
)

// ms is a manifest duration in milliseconds.
func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// Config is what a Server is built from; zero fields take the manifest's
// defaults.
type Config struct {
	Bind    string // listen address (generated.GatewayBind)
	Hive9P  string // the hive's Secure9P address (generated.NetworkSecure9pListen)
	Ticket  string // the gateway's own ticket; "" in the dev profile: a minted queen ticket
	Token   string // request-auth token; "" only in the dev profile
	Profile string // manifest profile (generated.ProfileName)
	// AllowNonLoopback is the risk flag a non-loopback Bind needs.
	AllowNonLoopback bool
	TLSCert, TLSKey  string // serve HTTPS from this pair
	// RequireTicket makes mutating routes need X-Cohesix-Ticket (always
	// so outside the dev profile).
	RequireTicket bool
	Log           io.Writer // request and event log; nil: discarded
	// UpstreamIdle and TailPoll override the manifest for tests.
	UpstreamIdle time.Duration
	TailPoll     time.Duration
	// Broker bounds the broker; zero fields take the manifest's
	// gateway.broker (tests shorten the deadline).
	Broker broker.Config
	// Dial opens an upstream session; nil: nineclient.DialAs.
	Dial func(addr, tok, uname string, timeout time.Duration) (*nineclient.Client, error)
}

// withDefaults fills zero fields from the manifest.
func (c Config) withDefaults() Config {
	if c.Bind == "" {
		c.Bind = generated.GatewayBind
	}
	if c.Hive9P == "" {
		c.Hive9P = generated.NetworkSecure9pListen
	}
	if c.Profile == "" {
		c.Profile = generated.ProfileName
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	if c.UpstreamIdle == 0 {
		c.UpstreamIdle = ms(generated.GatewayUpstreamIdleMs)
	}
	if c.TailPoll == 0 {
		c.TailPoll = ms(generated.ClientPoliciesCohshTailPollMsDefault)
	}
	if c.Dial == nil {
		c.Dial = nineclient.DialAs
	}
	return c
}

// timeZero clears a deadline.
var timeZero time.Time

// devProfile is the manifest profile in which the gateway may run
// without a request-auth token and mint its own queen ticket.
const devProfile = "dev"

// Check refuses a configuration the gateway must not start with: a
// non-loopback bind without the risk flag, half a TLS pair, or no
// request-auth token outside the dev profile.
func (c Config) Check() error {
	c = c.withDefaults()
	if err := gatewayapi.CheckBind("gateway", c.Bind, c.AllowNonLoopback); err != nil {
		return err
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if c.Profile != devProfile && c.Token == "" {
		return fmt.Errorf("manifest profile %q is not dev and no request-auth token is set: set --request-auth-token or HIVE_GATEWAY_REQUEST_AUTH_TOKEN", c.Profile)
	}
	if c.Profile != devProfile && c.Ticket == "" {
		return fmt.Errorf("manifest profile %q is not dev and no gateway ticket is set: set --ticket or COH_TICKET", c.Profile)
	}
	return nil
}

// Server is one gateway.
type Server struct {
	cfg      Config
	contract *Contract
	pool     *pool
	log      *log.Logger
	metrics  *metrics
	broker   *broker.Broker
	cache    *hotcache.Cache
	ticket   string // the gateway's own ticket
	// pushSlots bounds the telemetry pushes streaming at once.
	pushSlots   chan struct{}
	pushWaiting atomic.Int32 // pushes waiting for a slot
	handler     http.Handler
	conns       netguard.Stats // the listener's connections (netguard.Limit)

	mu     sync.Mutex
	srv    *http.Server
	stop   chan struct{}
	closed bool
}

// New builds a Server from cfg after Check.
func New(cfg Config) (*Server, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	contract, err := LoadContract()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		contract: contract,
		log:      log.New(cfg.Log, "hive-gateway: ", log.LstdFlags|log.LUTC),
		stop:     make(chan struct{}),
		pool: &pool{
			addr: cfg.Hive9P, timeout: ms(generated.GatewayBrokerDeadlineMs),
			max: generated.GatewayUpstreamSessionsMax, idle: cfg.UpstreamIdle,
			base: ms(generated.GatewayReconnectBackoffMs), ceiling: ms(generated.GatewayReconnectCeilingMs),
			dial: cfg.Dial, now: time.Now, sessions: map[string]*session{},
		},
	}
	s.metrics = newMetrics(s.pool)
	s.broker = broker.New(cfg.Broker)
	s.pushSlots = make(chan struct{}, generated.GatewayBrokerWorkers)
	s.cache = hotcache.NewDefault()
	s.metrics.register(s.broker.Collector(), s.cache.Collector(),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cohesix_gateway_connections",
			Help: "Live HTTP connections."}, func() float64 { return float64(s.conns.Open.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cohesix_gateway_connections_refused_peer_cap_total",
			Help: "Connections closed at once: their address held gateway.max_conns_per_peer."}, func() float64 { return float64(s.conns.RefusedPeerCap.Load()) }))
	s.ticket = cfg.Ticket
	if s.ticket == "" {
		// Dev profile only (Check): a queen ticket minted from the
		// manifest, as coh does.
		if s.ticket, err = nineclient.MintQueen(time.Now()); err != nil {
			return nil, fmt.Errorf("mint the gateway's queen ticket: %w", err)
		}
	}
	s.handler = s.routes()
	go s.sweep()
	return s, nil
}

// Handler is the gateway's HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.handler }

// sweep evicts idle upstream sessions until Close.
func (s *Server) sweep() {
	t := time.NewTicker(max(s.cfg.UpstreamIdle/4, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.pool.sweep()
		}
	}
}

// httpServer is the http.Server with the manifest's timeouts: a client
// that sends half a header or idles is cut. WriteTimeout is left to each
// handler (ResponseController) so server-sent events can stream.
func (s *Server) httpServer() *http.Server {
	return &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: ms(generated.GatewayReadHeaderTimeoutMs),
		ReadTimeout:       0, // a telemetry push streams a body of any size; handlers set read deadlines
		IdleTimeout:       ms(generated.GatewayIdleTimeoutMs),
		MaxHeaderBytes:    generated.GatewayMaxBodyBytes * 4,
		ErrorLog:          s.log,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12},
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, new(connState))
		},
	}
}

// connKey finds a request's connState in its context.
type connKey struct{}

// connState is what the gateway remembers of one client connection.
type connState struct {
	// retryAt is when the connection was last told it may push again
	// (Retry-After of a 429), in Unix nanoseconds.
	retryAt atomic.Int64
}

// Serve answers on ln until ctx ends or Close.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return http.ErrServerClosed
	}
	srv := s.httpServer()
	s.srv = srv
	s.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
			s.Close()
		case <-s.stop:
		}
	}()
	s.log.Printf("listening %s hive=%s profile=%s tls=%t", ln.Addr(), s.cfg.Hive9P, s.cfg.Profile, s.cfg.TLSCert != "")
	// One address cannot hold every connection the process can open: the
	// newest beyond gateway.max_conns_per_peer is closed at once.
	ln = netguard.Limit(ln, netguard.Config{
		Name:            "gateway",
		MaxConnsPerPeer: generated.GatewayMaxConnsPerPeer,
		AuditWindow:     ms(generated.NetworkAuditSummaryWindowMs),
		Audit:           func(line string) { s.log.Print(line) },
		Stats:           &s.conns,
		// No forced returns after closes: the heap is bounded by the
		// manifest's memory limit (P111), and clients that open a
		// connection per request would have it collect every second.
		ReturnMemory: false,
	})
	var err error
	if s.cfg.TLSCert != "" {
		err = srv.ServeTLS(ln, s.cfg.TLSCert, s.cfg.TLSKey)
	} else {
		err = srv.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Run listens on cfg.Bind and serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Bind)
	if err != nil {
		return fmt.Errorf("listen %s: %w (is another gateway running? pass --bind)", s.cfg.Bind, err)
	}
	return s.Serve(ctx, ln)
}

// Close stops serving and ends every upstream session.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	srv := s.srv
	s.mu.Unlock()
	var err error
	if srv != nil {
		err = srv.Close()
	}
	s.pool.closeAll()
	s.broker.Close()
	return err
}
