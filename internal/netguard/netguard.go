// Package netguard is the one accept loop every hive listener (the TCP
// console and Secure9P) runs. It keeps a listener alive through temporary
// accept failures, as net/http's Server.Serve does: it backs off (5 ms,
// doubling, capped at network.accept_backoff_max_ms) and tries again,
// counting each failure and auditing them at most once per
// network.audit_summary_window_ms. It returns only a permanent error, so
// the root task can exit and be restarted. It also caps the live
// connections of one source address (network.max_conns_per_peer): over
// the cap the newest connection is closed at once.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/cohesix/cohesix/generated"
)

// Config is one listener's share of the manifest.
type Config struct {
	// Name is the listener in audit lines: "console" or "secure9p".
	Name string
	// MaxConnsPerPeer is the most live connections from one source
	// address (its host part); 0 means no cap.
	MaxConnsPerPeer int
	// BackoffMax caps the pause after a temporary accept error.
	BackoffMax time.Duration
	// AuditWindow is the shortest interval between two audit lines of one
	// kind; the events between are counted in the next line.
	AuditWindow time.Duration
	// Audit writes one audit line; nil writes none.
	Audit func(line string)
	// Stats receives the counters; nil keeps them private.
	Stats *Stats
	// ReturnMemory hands the heap closed connections leave behind back
	// to the OS soon after (memory.go: a forced collection once a second
	// for a few seconds after the last close), for a server whose RSS
	// must come back after a flood: the hive's listeners. A server that
	// bounds its heap another way leaves it off: hive-gateway runs under
	// its manifest memory limit (DECISIONS P111), and with clients that
	// open a connection per request it would collect every second.
	ReturnMemory bool

	// wait pauses for d or until ctx ends (tests record the delays).
	wait func(ctx context.Context, d time.Duration)
}

// DefaultConfig is the manifest's listener named name.
func DefaultConfig(name string) Config {
	return Config{
		Name:            name,
		MaxConnsPerPeer: generated.NetworkMaxConnsPerPeer,
		BackoffMax:      time.Duration(generated.NetworkAcceptBackoffMaxMs) * time.Millisecond,
		AuditWindow:     time.Duration(generated.NetworkAuditSummaryWindowMs) * time.Millisecond,
		ReturnMemory:    true,
	}
}

// backoffMin is the first pause after a temporary accept error; it
// doubles up to Config.BackoffMax (net/http's Server.Serve schedule).
const backoffMin = 5 * time.Millisecond

// Serve accepts connections on l and runs handle for each in its own
// goroutine; handle must close its connection before returning.
//
// A temporary accept error (descriptor or buffer exhaustion, an aborted
// connection, a timeout) pauses and retries. When ctx ends, Serve closes
// l and every live connection and returns nil once their handlers have
// returned. When l is closed by its owner Serve returns nil at once, and
// on a permanent accept error it returns that error; in both cases live
// connections are left to their handlers.
func Serve(ctx context.Context, l net.Listener, cfg Config, handle func(net.Conn)) error {
	if cfg.Stats == nil {
		cfg.Stats = new(Stats)
	}
	if cfg.wait == nil {
		cfg.wait = sleep
	}
	g := &guard{cfg: cfg, peers: map[netip.Addr]int{}, conns: map[net.Conn]struct{}{}}
	stop := context.AfterFunc(ctx, func() {
		l.Close()
		g.closeAll()
	})
	defer stop()
	var delay time.Duration
	for {
		c, err := l.Accept()
		if err == nil {
			delay = 0
			g.admit(c, handle)
			continue
		}
		if ctx.Err() != nil {
			g.wg.Wait()
			return nil
		}
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		cfg.Stats.AcceptErrors.Add(1)
		if !Temporary(err) {
			if cfg.Audit != nil { // once per listener: never held back
				cfg.Audit(fmt.Sprintf("netguard: accept failed listener=%s error=%q; listener stops", cfg.Name, err.Error()))
			}
			return fmt.Errorf("%s accept: %w", cfg.Name, err)
		}
		delay = min(max(2*delay, backoffMin), max(cfg.BackoffMax, backoffMin))
		cfg.Stats.Backoffs.Add(1)
		g.audit(&g.acceptLines, fmt.Sprintf("netguard: accept backoff listener=%s error=%q delay_ms=%d accept_errors=%d",
			cfg.Name, err.Error(), delay.Milliseconds(), cfg.Stats.AcceptErrors.Load()))
		cfg.wait(ctx, delay)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// temporaryErrnos are the accept failures that pass: the process or the
// system is out of descriptors or buffers for now, or the peer gave up
// before the accept completed.
var temporaryErrnos = []error{
	syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
	syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EINTR, syscall.EAGAIN,
	syscall.EPROTO, syscall.ETIMEDOUT,
}

// Temporary reports whether an accept error is worth retrying: one of
// temporaryErrnos, a timeout, or an error that says it is temporary (a
// platform listener that is not a host socket).
func Temporary(err error) bool {
	for _, e := range temporaryErrnos {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// guard is the state of one Serve call.
type guard struct {
	cfg Config
	wg  sync.WaitGroup

	mu    sync.Mutex
	peers map[netip.Addr]int    // guarded by mu: live connections per source address
	conns map[net.Conn]struct{} // guarded by mu: live connections, closed when ctx ends
	ended bool                  // guarded by mu: ctx has ended; admit closes what it is given

	acceptLines Summary // accept errors
	capLines    Summary // connections over the per-peer cap
}

// admit serves c unless its peer is over the cap, in which case c, the
// newest, is closed at once.
func (g *guard) admit(c net.Conn, handle func(net.Conn)) {
	peer, ok := g.take(c, true)
	if !ok {
		return
	}
	go func() {
		defer g.wg.Done()
		defer g.release(c, peer)
		handle(c)
	}()
}

// take counts c against its peer's cap, or closes it (counted, audited)
// when the peer is at the cap or the guard has ended. wait adds c to the
// WaitGroup that Serve's end waits on.
func (g *guard) take(c net.Conn, wait bool) (netip.Addr, bool) {
	peer := PeerAddr(c.RemoteAddr())
	g.mu.Lock()
	if g.ended {
		g.mu.Unlock()
		c.Close()
		return peer, false
	}
	if g.cfg.MaxConnsPerPeer > 0 && g.peers[peer] >= g.cfg.MaxConnsPerPeer {
		g.mu.Unlock()
		c.Close()
		n := g.cfg.Stats.RefusedPeerCap.Add(1)
		g.audit(&g.capLines, fmt.Sprintf("netguard: connection refused listener=%s remote=%s reason=peer-cap max_conns_per_peer=%d refused_peer_cap=%d",
			g.cfg.Name, c.RemoteAddr(), g.cfg.MaxConnsPerPeer, n))
		return peer, false
	}
	g.peers[peer]++
	g.conns[c] = struct{}{}
	if wait {
		g.wg.Add(1)
	}
	g.mu.Unlock()
	g.cfg.Stats.Open.Add(1)
	return peer, true
}

// Limit wraps l for a server with an accept loop of its own (net/http's,
// which already backs off on temporary accept errors): Accept applies the
// per-peer cap of cfg, closing a connection over it at once (counted in
// cfg.Stats, audited under cfg.AuditWindow) and accepting the next; a
// connection it returns is released when it is closed.
func Limit(l net.Listener, cfg Config) net.Listener {
	if cfg.Stats == nil {
		cfg.Stats = new(Stats)
	}
	return &limited{Listener: l, g: &guard{cfg: cfg, peers: map[netip.Addr]int{}, conns: map[net.Conn]struct{}{}}}
}

type limited struct {
	net.Listener
	g *guard
}

func (l *limited) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if peer, ok := l.g.take(c, false); ok {
			return &limitedConn{Conn: c, release: sync.OnceFunc(func() { l.g.release(c, peer) })}, nil
		}
	}
}

// limitedConn gives its peer's place back on its first Close.
type limitedConn struct {
	net.Conn
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}

func (g *guard) release(c net.Conn, peer netip.Addr) {
	g.cfg.Stats.Open.Add(-1)
	g.mu.Lock()
	delete(g.conns, c)
	if g.peers[peer]--; g.peers[peer] <= 0 {
		delete(g.peers, peer)
	}
	g.mu.Unlock()
	if g.cfg.ReturnMemory {
		returnMemory()
	}
}

func (g *guard) closeAll() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ended = true
	for c := range g.conns {
		c.Close()
	}
}

// audit writes line unless s has written one this window; the events it
// held back are counted at the end of the next line it writes.
func (g *guard) audit(s *Summary, line string) {
	if g.cfg.Audit == nil {
		return
	}
	if l := summarise(s, g.cfg.AuditWindow, line); l != "" {
		g.cfg.Audit(l)
	}
}

// PeerAddr is the source address a connection counts against: the host
// part of addr, IPv4-mapped IPv6 folded to IPv4. Anything that is not an
// IP address (a pipe, a test stub) is one peer, the zero Addr.
func PeerAddr(addr net.Addr) netip.Addr {
	if ta, ok := addr.(*net.TCPAddr); ok {
		a, _ := netip.AddrFromSlice(ta.IP)
		return a.Unmap()
	}
	if addr == nil {
		return netip.Addr{}
	}
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
