package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cohesix/cohesix/internal/nineclient"
)

// errUnavailable is a hive the gateway cannot reach now: 503 with
// Retry-After (the back-off left before the next dial).
type errUnavailable struct {
	retryAfter time.Duration
	cause      error
}

func (e *errUnavailable) Error() string {
	return fmt.Sprintf("the hive is unreachable (%v); retry after %s", e.cause, e.retryAfter)
}

// errAttach is a ticket the hive refused to attach with.
type errAttach struct{ cause error }

func (e *errAttach) Error() string { return fmt.Sprintf("the hive refused the ticket: %v", e.cause) }

// dialFunc opens one upstream session (nineclient.DialAs).
type dialFunc func(addr, tok, uname string, timeout time.Duration) (*nineclient.Client, error)

// session is one upstream Secure9P session of a (ticket, client IP).
type session struct {
	key  string
	c    *nineclient.Client
	last time.Time // guarded by pool.mu
	pmu  sync.Mutex
	pipe *nineclient.Pipeline // opened on first bulk use, guarded by pmu
	// pushMu serialises telemetry pushes on the Pipeline: a push is a
	// run of exchanges that must not interleave with another's.
	pushMu sync.Mutex
	// streams counts pushes streaming on the session: it is not evicted
	// for idleness or room meanwhile.
	streams atomic.Int32
}

// resetPipeline closes a Pipeline that failed; the next use redials it.
func (s *session) resetPipeline() {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	if s.pipe != nil {
		s.pipe.Close()
		s.pipe = nil
	}
}

// Pipeline returns the session's bulk pipeline, opening it on first use.
func (s *session) Pipeline() (*nineclient.Pipeline, error) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	if s.pipe == nil {
		p, err := s.c.Pipeline()
		if err != nil {
			return nil, err
		}
		s.pipe = p
	}
	return s.pipe, nil
}

func (s *session) close() {
	s.pmu.Lock()
	if s.pipe != nil {
		s.pipe.Close()
		s.pipe = nil
	}
	s.pmu.Unlock()
	s.c.Close()
}

// pool keeps one upstream session per (ticket hash, client IP), at most
// max of them: the least recently used goes when a new one needs room,
// and any idle longer than idle goes on the next sweep. While the hive
// is unreachable it answers errUnavailable until the back-off passes;
// each failed dial doubles the back-off up to the ceiling.
type pool struct {
	addr    string
	timeout time.Duration
	max     int
	idle    time.Duration
	base    time.Duration
	ceiling time.Duration
	dial    dialFunc
	now     func() time.Time

	mu       sync.Mutex
	sessions map[string]*session
	backoff  time.Duration // 0: the hive is up
	retryAt  time.Time
	lastErr  error
	dials    uint64
	evicted  uint64
}

// ticketHash names a ticket without revealing it (logs, keys, broker).
func ticketHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:8])
}

// clientIP is the host part of a remote address.
func clientIP(remote string) string {
	if h, _, err := net.SplitHostPort(remote); err == nil {
		return h
	}
	return remote
}

// get returns the session of (tok, client), dialling one when none is
// kept. uname is sent on the Tattach (via=<client ip:port>).
func (p *pool) get(tok, remote string) (*session, error) {
	key := ticketHash(tok) + "|" + clientIP(remote)
	p.mu.Lock()
	if s, ok := p.sessions[key]; ok {
		s.last = p.now()
		p.mu.Unlock()
		return s, nil
	}
	if err := p.downLocked(); err != nil {
		p.mu.Unlock()
		return nil, err
	}
	p.dials++
	p.mu.Unlock()

	c, err := p.dial(p.addr, tok, "via="+remote, p.timeout)
	if err != nil {
		if isRefusal(errors.Unwrap(err)) || isRefusal(err) {
			return nil, &errAttach{cause: err}
		}
		return nil, p.failed(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backoff, p.lastErr = 0, nil
	if s, ok := p.sessions[key]; ok { // a concurrent request dialled first
		c.Close()
		s.last = p.now()
		return s, nil
	}
	s := &session{key: key, c: c, last: p.now()}
	if len(p.sessions) >= p.max {
		p.evictLRULocked()
	}
	p.sessions[key] = s
	return s, nil
}

// downLocked is errUnavailable while the back-off has not passed.
func (p *pool) downLocked() error {
	if p.backoff == 0 {
		return nil
	}
	if left := p.retryAt.Sub(p.now()); left > 0 {
		return &errUnavailable{retryAfter: left, cause: p.lastErr}
	}
	return nil
}

// failed records a dial or session failure and returns the 503 error.
func (p *pool) failed(err error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.backoff == 0 {
		p.backoff = p.base
	} else {
		p.backoff = min(2*p.backoff, p.ceiling)
	}
	p.retryAt = p.now().Add(p.backoff)
	p.lastErr = err
	return &errUnavailable{retryAfter: p.backoff, cause: err}
}

// drop closes a session whose connection broke and starts the back-off.
func (p *pool) drop(s *session, err error) error {
	p.mu.Lock()
	if p.sessions[s.key] == s {
		delete(p.sessions, s.key)
	}
	p.mu.Unlock()
	s.close()
	return p.failed(err)
}

func (p *pool) evictLRULocked() {
	var oldest *session
	for _, s := range p.sessions {
		if s.streams.Load() > 0 {
			continue
		}
		if oldest == nil || s.last.Before(oldest.last) {
			oldest = s
		}
	}
	if oldest != nil {
		delete(p.sessions, oldest.key)
		p.evicted++
		go oldest.close()
	}
}

// sweep closes sessions idle longer than p.idle.
func (p *pool) sweep() {
	p.mu.Lock()
	var idle []*session
	for k, s := range p.sessions {
		if p.now().Sub(s.last) > p.idle && s.streams.Load() == 0 {
			delete(p.sessions, k)
			idle = append(idle, s)
			p.evicted++
		}
	}
	p.mu.Unlock()
	for _, s := range idle {
		s.close()
	}
}

// up reports whether the hive is believed reachable: no back-off running,
// or a TCP dial to it succeeds now.
func (p *pool) up() bool {
	p.mu.Lock()
	err := p.downLocked()
	p.mu.Unlock()
	if err != nil {
		return false
	}
	c, derr := net.DialTimeout("tcp", p.addr, p.timeout)
	if derr != nil {
		p.failed(derr)
		return false
	}
	c.Close()
	return true
}

// stats is the pool's state for /v1/meta/status and /metrics.
func (p *pool) stats() (sessions int, up bool, dials, evicted uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.sessions), p.backoff == 0, p.dials, p.evicted
}

// closeAll ends every session.
func (p *pool) closeAll() {
	p.mu.Lock()
	all := p.sessions
	p.sessions = map[string]*session{}
	p.mu.Unlock()
	for _, s := range all {
		s.close()
	}
}
