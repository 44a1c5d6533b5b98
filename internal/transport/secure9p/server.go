package secure9p

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hugelgupf/p9/linux"
	"github.com/hugelgupf/p9/p9"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/auditline"
	"github.com/cohesix/cohesix/internal/gate"
	"github.com/cohesix/cohesix/internal/netguard"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/ticket"
)

// Config is the Secure9P share of the manifest.
type Config struct {
	// Limits are each connection's protocol limits (secure9p.msize,
	// walk_depth, walk_component_max_bytes, tags_per_session,
	// fids_per_session), which its Policy enforces.
	Limits
	// Tickets are the per-role ticket secrets ([[tickets]]).
	Tickets []generated.TicketsEntry
	// TicketLimits are the manifest's ticket_limits.
	TicketLimits ticket.Limits
	// HandshakeTimeout is how long a connection has, from its accept, to
	// complete a successful Tattach; then it is closed.
	HandshakeTimeout time.Duration
	// IdleTimeout closes an attached connection that sends nothing for
	// this long.
	IdleTimeout time.Duration
	// Listener is the accept loop's share: per-peer cap, back-off, audit
	// window.
	Listener netguard.Config
	// TrustedForwarders are the peer IPs whose first Tattach may name the
	// client it forwards, uname via=<ip:port> (network.trusted_forwarders,
	// DECISIONS P48). Entries that do not parse as an IP trust nothing.
	TrustedForwarders []string
	// BatchFrames is secure9p.batch_frames: with Tags it bounds the queue
	// of frames received and not yet judged (QueueDepth).
	BatchFrames int
	// ShortWrite is secure9p.short_write: what a reply write that the
	// transport took only part of does.
	ShortWrite ShortWrite
}

// ShortWrite is the manifest's short-write policy (spec secure9p §7).
type ShortWrite struct {
	// Retry writes the rest again, up to Attempts times, after Base <<
	// attempt; false (policy "reject") ends the connection at once.
	Retry    bool
	Attempts int
	Base     time.Duration
}

// QueueDepth is the most frames the server holds received and not yet
// judged: min(tags_per_session, max(batch_frames, 1)) (spec secure9p §3).
func (c Config) QueueDepth() int { return min(c.Tags, max(c.BatchFrames, 1)) }

// DefaultConfig reads the limits and ticket secrets from the generated
// manifest tables.
func DefaultConfig() Config {
	return Config{
		Limits: Limits{
			Msize:        generated.Secure9pMsize,
			WalkDepth:    generated.Secure9pWalkDepth,
			ComponentMax: generated.Secure9pWalkComponentMaxBytes,
			Tags:         generated.Secure9pTagsPerSession,
			Fids:         generated.Secure9pFidsPerSession,
		},
		Tickets:           generated.Tickets,
		TicketLimits:      ticket.DefaultLimits(),
		HandshakeTimeout:  time.Duration(generated.NetworkHandshakeTimeoutMs) * time.Millisecond,
		IdleTimeout:       time.Duration(generated.NetworkSecure9pIdleTimeoutMs) * time.Millisecond,
		Listener:          netguard.DefaultConfig("secure9p"),
		TrustedForwarders: generated.NetworkTrustedForwarders,
		BatchFrames:       generated.Secure9pBatchFrames,
		ShortWrite: ShortWrite{
			Retry:    generated.Secure9pShortWritePolicy == "retry",
			Attempts: generated.Secure9pShortWriteRetryAttempts,
			Base:     time.Duration(generated.Secure9pShortWriteRetryBaseMs) * time.Millisecond,
		},
	}
}

// maxDiscard is the largest oversized frame whose body is skipped so the
// connection can go on; a larger declared size ends the connection.
const maxDiscard = 1 << 20

// Server serves the namespace over 9P2000.L with the Cohesix rules.
type Server struct {
	ns        *gate.Namespace
	door      *gate.Door // every walk, open, read, write and list (file.go)
	cfg       Config
	forwarder map[netip.Addr]bool // cfg.TrustedForwarders, unmapped
	bufs      sync.Pool           // read buffers of cfg.Msize bytes (readbuf.go)
	outs      sync.Pool           // output queues of a tag window of replies (replies.go)
}

// NewServer returns a server for ns with a door of its own, built from
// cfg's ticket secrets and limits (tests, a standalone server). clock gives
// the time for ticket expiry; nil means time.Now.
func NewServer(ns *gate.Namespace, cfg Config, clock func() time.Time) *Server {
	if clock == nil {
		clock = time.Now
	}
	return NewServerOn(gate.NewDoor(ns, gate.DoorConfig{Tickets: cfg.Tickets, Limits: cfg.TicketLimits, Now: clock}), cfg)
}

// NewServerOn returns a server whose every attach, walk, read and write
// goes through door: the hive's, which its console shares.
func NewServerOn(door *gate.Door, cfg Config) *Server {
	fw := map[netip.Addr]bool{}
	for _, a := range cfg.TrustedForwarders {
		if ip, err := netip.ParseAddr(a); err == nil && ip.Zone() == "" {
			fw[ip.Unmap()] = true
		}
	}
	s := &Server{ns: door.Namespace(), door: door, cfg: cfg, forwarder: fw}
	s.bufs.New = func() any {
		b := make([]byte, cfg.Msize)
		return &b
	}
	return s
}

// trusted reports whether p connected from a trusted forwarder's address.
func (s *Server) trusted(p queen.Peer) bool {
	ap, err := netip.ParseAddrPort(p.Remote)
	return err == nil && s.forwarder[ap.Addr().Unmap()]
}

// Serve accepts connections on l through the hive's accept loop
// (netguard: back-off on temporary accept errors, the per-peer connection
// cap, /proc/net/secure9p) and serves each until ctx ends; then it closes
// l and every connection and returns nil once they have stopped. A
// permanent accept error is returned.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	cfg := s.cfg.Listener
	cfg.Stats = s.ns.Secure9PNet()
	cfg.Audit = func(line string) { s.ns.Queen().Audit(line) }
	return netguard.Serve(ctx, l, cfg, s.ServeConn)
}

// ServeConn serves one connection until it closes or breaks the framing,
// then closes it.
func (s *Server) ServeConn(nc net.Conn) {
	c := newConn(s, nc)
	// The handshake deadline is absolute: a peer trickling bytes without
	// attaching is closed as surely as a silent one. It bounds writes too,
	// so a peer that does not take its replies cannot hold a connection.
	if s.cfg.HandshakeTimeout > 0 {
		_ = nc.SetDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	}
	c.pol = NewPolicy(s.cfg.Limits)
	c.pol.Authorize = c.authorize
	c.pol.OnInvalidName = c.invalidName
	c.pol.OnWait = func() { c.hold(false) }
	c.pol.OnBusy = func() {
		s.ns.Queen().Pressure.Busy.Add(1)
		c.windowFull = true // audited by Read, outside the policy's lock
	}
	s.ns.NineP().Track(c, c.pol.InFlight) // /proc/9p/outstanding
	defer func() {
		s.ns.NineP().Untrack(c)
		c.queued(-c.inQueue)
		s.ns.CloseSession(c.session.Load(), "eof")
	}()
	defer func() {
		// Last line of defence against the teardown race described at
		// quiesce: a WaitGroup misuse panic must not take the hive down.
		if recover() != nil {
			nc.Close()
		}
	}()
	_ = p9.NewServer(attacher{c}).Handle(c, &replyWriter{c: c})
}

// newConn returns the connection state for nc, before its policy.
func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{srv: s, nc: nc, br: newReadBuf(nc, &s.bufs, int(s.cfg.Msize)), peer: queen.PeerOf("9p", nc.RemoteAddr())}
	c.wdone.L = &c.wmu
	return c
}

// conn is one client connection: the policy, the identity fixed by the
// first attach, and the two ends given to the 9P server.
type conn struct {
	srv  *Server
	nc   net.Conn
	br   *readBuf
	pol  *Policy
	peer queen.Peer // transport and remote address, for the throttle and audit lines

	// Output queue (replies.go), guarded by wmu; wdone signals progress.
	wmu       sync.Mutex
	wdone     sync.Cond
	werr      error    // the first failed write
	out       []byte   // replies queued, not yet written
	spare     []byte   // the flusher's last buffer, reused
	flushing  bool     // a flusher runs (out is not empty, or it is writing)
	writeBy   deadline // the flusher's (one at a time)
	held      bool     // the reader holds more requests: replies wait for theirs
	queuedTo  uint64   // bytes ever queued
	writtenTo uint64   // bytes ever handed to nc (written or failed)

	// Read side; only the 9P server's receiving goroutine (one at a
	// time) touches these.
	hdr     [headerLen]byte
	buf     []byte
	pending []byte // rest of the frame being handed to the server
	readBy  deadline
	// readerHeld is the reader's copy of held, so that it takes wmu
	// only when the value changes.
	readerHeld bool

	// Identity, fixed by the first successful attach. token is written
	// by authorize on the reading goroutine only.
	session atomic.Pointer[gate.Session]
	token   string

	timeoutSeen atomic.Bool // a deadline was counted (timedOut)

	// Receive queue (batch.go) and the tag-window flag OnBusy sets; the
	// receiving goroutine only.
	queue      queueState
	inQueue    int64 // this connection's share of NinePStats.Queued
	windowFull bool
}

// invalidName audits a walk name refused for a control character under
// the peer's summary window (queen.PeerNote), so a flood of them, on one
// connection or on many, cannot push real entries out of the log ring.
// Like every audit line it waits for room rather than being dropped
// (DECISIONS P46).
func (c *conn) invalidName(name string) {
	line := "nine-door: walk refused reason=invalid-name name=" + auditline.Field(name) + c.peer.Fields()
	_, _ = c.srv.ns.Queen().SubmitWait(context.Background(), queen.PeerNote{Peer: c.peer, Lines: []string{line}})
}

// Read gives the 9P server the next frame the policy forwards. Refused
// frames are answered here and never reach the server.
func (c *conn) Read(p []byte) (int, error) {
	for len(c.pending) == 0 {
		// About to block on the socket when no complete frame is
		// buffered: nothing held may wait for that.
		c.hold(hasFrame(c.br.Buffered()))
		c.extendDeadline()
		frame, err := c.readFrame()
		if err != nil {
			c.timedOut(err)
			return 0, c.quiesce(err)
		}
		if !c.admit() {
			if err := c.refuseBusy(frame); err != nil {
				return 0, c.quiesce(err)
			}
			continue
		}
		if err := c.srv.ns.Live(c.session.Load()); err != nil {
			// The authority ended the session (ticket expired, worker
			// killed or revoked): this request is refused, then the
			// connection ends.
			_ = c.writeRefusal(rlerror(le.Uint16(frame[5:]), Errno(err)))
			return 0, c.quiesce(err)
		}
		if err := c.pol.Await(frame); err != nil {
			return 0, c.quiesce(err)
		}
		fwd, reply, err := c.pol.Inbound(frame)
		if err != nil {
			return 0, c.quiesce(err)
		}
		if reply != nil {
			if c.windowFull {
				c.windowFull = false
				c.note("nine-door: request refused reason=tag-window-exceeded tag=" + fmt.Sprint(le.Uint16(frame[5:])) + " window=" + fmt.Sprint(c.srv.cfg.Tags))
			}
			if err := c.writeRefusal(reply); err != nil {
				return 0, c.quiesce(err)
			}
			continue
		}
		c.pending = fwd
		c.hold(hasFrame(c.br.Buffered()))
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// extendDeadline gives an attached connection IdleTimeout to send its next
// frame; before the first successful attach the handshake deadline stands.
// It moves the read deadline only: each reply write has its own (write),
// so a peer that keeps sending cannot stretch a reply it does not take.
func (c *conn) extendDeadline() {
	if c.session.Load() == nil {
		return
	}
	c.readBy.extend(c.srv.cfg.IdleTimeout, c.nc.SetReadDeadline)
}

// deadline is one direction's deadline as last set. Setting a deadline
// costs a timer update in the runtime's poller, and a pipelined session
// would pay one per frame; so extend moves it only once an eighth of the
// timeout has passed since it was last set: the peer gets between 7/8 and
// all of the timeout, never less.
type deadline struct {
	at  time.Time // zero with set: lifted (no timeout)
	set bool
}

// extend gives the connection timeout d from now (d <= 0: none, lifting
// the handshake deadline) through set.
func (l *deadline) extend(d time.Duration, set func(time.Time) error) {
	if d <= 0 {
		if !l.set || !l.at.IsZero() {
			l.at, l.set = time.Time{}, true
			_ = set(l.at)
		}
		return
	}
	now := time.Now()
	if l.set && !l.at.IsZero() && l.at.Sub(now) > d-d/8 {
		return
	}
	l.at, l.set = now.Add(d), true
	_ = set(l.at)
}

// timedOut counts and audits a read or write that failed on a deadline,
// once per connection (a read and a write may both time out at its end).
func (c *conn) timedOut(err error) {
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || c.timeoutSeen.Swap(true) {
		return
	}
	st, remote, window := c.srv.ns.Secure9PNet(), c.nc.RemoteAddr().String(), c.srv.cfg.Listener.AuditWindow
	line := ""
	if c.session.Load() == nil {
		line = st.HandshakeTimeout("secure9p", remote, window)
	} else {
		line = st.IdleTimeout("secure9p", remote, window)
	}
	if line != "" {
		c.srv.ns.Queen().Audit(line)
	}
}

// quiesce prepares the end of the connection and returns err for the 9P
// server. hugelgupf/p9 v0.3.0 tears a connection down racily: a receiver
// goroutine it has just started, or a handler looping back for the next
// request, can call WaitGroup.Add while Handle's stop is in Wait (fixed
// upstream after v0.3.0, hugelgupf/p9#105, not released). So the socket is
// closed first, which fails any reply still being written, and the end is
// reported only once every forwarded request has been answered and the
// handlers have had a moment to queue for the next receive: by then each
// of them is counted in the WaitGroup, and Handle's Wait sees them leave.
// The moment is generous because a receiver the library has just started
// waits in a run queue behind whatever else the process runs: 2 ms was
// not enough under the race detector on a loaded 2-core machine (a CI
// run of TestAttachRefusals). The wait costs the closing connection's
// goroutine only.
//
// The moment is a bound, not a proof (DECISIONS P62): the receiver is
// started at server.go:508 without WaitGroup.Add and does its own Add
// whenever the scheduler runs it; nothing the library exports (no hook,
// no count) tells a caller it has.
func (c *conn) quiesce(err error) error {
	if c.readerHeld {
		// Replies held for requests this reader will not forward now go
		// out before the socket closes, as they would have unheld.
		c.setHeld(false, true)
	}
	c.nc.Close()
	deadline := time.Now().Add(quiesceMax)
	for c.pol.InFlight() > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Microsecond)
	}
	for range quiesceYields {
		runtime.Gosched()
	}
	time.Sleep(quiesceSettle)
	return err
}

// Bounds of quiesce.
const (
	quiesceMax    = 2 * time.Second
	quiesceYields = 8
	quiesceSettle = 25 * time.Millisecond
)

// readFrame reads one frame. An oversized frame within maxDiscard is
// skipped and only its header returned (the policy refuses it by its
// declared size); anything worse is an error that ends the connection.
func (c *conn) readFrame() ([]byte, error) {
	if _, err := io.ReadFull(c.br, c.hdr[:]); err != nil {
		return nil, err
	}
	size := le.Uint32(c.hdr[:])
	switch {
	case size < headerLen || size > maxDiscard:
		return nil, ErrFraming
	case size > c.pol.Msize():
		if err := c.br.Discard(int(size - headerLen)); err != nil {
			return nil, err
		}
		return c.hdr[:], nil
	}
	if cap(c.buf) < int(size) {
		c.buf = make([]byte, size)
	}
	c.buf = c.buf[:size]
	copy(c.buf, c.hdr[:])
	if _, err := io.ReadFull(c.br, c.buf[headerLen:]); err != nil {
		return nil, err
	}
	return c.buf, nil
}

// writeFrame queues one reply of the 9P server after the policy has seen
// it (replies.go). Every reply passes through Outbound, even once writing
// has failed, so the policy settles each request it forwarded and no wait
// in Await outlives the connection. A reply that tells the policy a
// request was lost (Ended) is written, then the connection ends.
func (c *conn) writeFrame(frame []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	mark, err := c.enqueue(c.pol.Outbound(frame))
	if err == nil && c.pol.Ended() {
		if err = c.flushed(mark); err == nil {
			err = ErrEnded
			c.fail(err)
		}
	}
	return err
}

// writeRefusal writes an Rlerror the policy made itself and waits until
// it is on the wire: the reader may end the connection next, and a peer
// sending frames it refuses is held to the pace it takes their answers.
// It bypasses Outbound: its tag may be that of a request in flight (a
// duplicate tag), whose own reply must still settle that request and the
// fid it makes.
func (c *conn) writeRefusal(frame []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	mark, err := c.enqueue(frame)
	if err != nil {
		return err
	}
	return c.flushed(mark)
}

// fail ends the connection after err; c.wmu is held. Closing the socket
// ends the reader's read; End ends its wait in Await.
func (c *conn) fail(err error) {
	if c.werr == nil {
		c.werr = err
	}
	c.nc.Close()
	c.pol.End()
	c.wdone.Broadcast() // sends waiting for room or for the wire
}

// Close implements io.Closer for the 9P server.
func (c *conn) Close() error { return c.nc.Close() }

// replyWriter collects the server's replies, which arrive in several
// Write calls per message, and writes each as one frame. The 9P server
// serialises its sends, so the buffer needs no lock of its own. A frame
// leaves the buffer whether or not its write succeeded: left at the head,
// it would hold back every later reply from Outbound, leaving their
// requests in flight for the policy forever, and offer itself to Outbound
// again, settling whichever newer request then held its tag.
type replyWriter struct {
	c   *conn
	buf []byte
}

func (w *replyWriter) Write(b []byte) (int, error) {
	w.buf = append(w.buf, b...)
	for len(w.buf) >= 4 {
		size := int(le.Uint32(w.buf))
		if size < headerLen {
			return 0, ErrFraming
		}
		if len(w.buf) < size {
			break
		}
		err := w.c.writeFrame(w.buf[:size])
		w.buf = append(w.buf[:0], w.buf[size:]...)
		if err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

func (w *replyWriter) Close() error { return w.c.nc.Close() }

// attacher hands the 9P server the root of the connection's session.
type attacher struct{ c *conn }

func (a attacher) Attach() (p9.File, error) {
	s := a.c.session.Load()
	if s == nil {
		return nil, linux.EPERM
	}
	root, err := a.c.srv.door.Root(s)
	if err != nil {
		return nil, Errno(err)
	}
	return &file{c: a.c, h: root}, nil
}
