package secure9p

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hugelgupf/p9/linux"
)

// shortDeadlines shortens the handshake and idle deadlines so that the
// tests wait for the server, not the manifest's seconds and hours.
func shortDeadlines(handshake, idle time.Duration) func(*Config) {
	return func(c *Config) { c.HandshakeTimeout, c.IdleTimeout = handshake, idle }
}

// closedByServer reports whether the server closes nc: a read returns EOF
// or a reset before the bound (a client-side deadline is not a close).
func closedByServer(t *testing.T, nc net.Conn, bound time.Duration) bool {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(bound))
	var b [64]byte
	for {
		_, err := nc.Read(b[:])
		if err == nil {
			continue // a reply to what was sent; keep reading
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return false
		}
		return true
	}
}

// TestHandshakeDeadline: a connection that has not attached by the
// handshake deadline is closed, counted and audited with its remote
// address, whatever it sent meanwhile; an attached one is not.
func TestHandshakeDeadline(t *testing.T) {
	h := startHive(t, shortDeadlines(200*time.Millisecond, time.Hour))
	cases := []struct {
		name string
		send func(r *raw)
	}{
		{"silent", func(*raw) {}},
		{"half header", func(r *raw) { r.send([]byte{0x20, 0x00}) }},
		{"version only", func(r *raw) { r.version(8192) }},
		{"refused attach", func(r *raw) {
			r.version(8192)
			if e := r.attach(1, "not-a-ticket"); e == 0 {
				t.Fatal("attach with a bad ticket succeeded")
			}
		}},
	}
	honest := h.mustDial(t, queenTicket(t))
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.raw(t)
			tc.send(r)
			if !closedByServer(t, r.nc, 10*time.Second) {
				t.Fatal("connection still open 10 s after a 200 ms handshake deadline")
			}
			if got := h.ns.Secure9PNet().HandshakeTimeouts.Load(); got != uint64(i+1) {
				t.Errorf("handshake_timeouts = %d; want %d", got, i+1)
			}
		})
	}
	if _, err := readFile(honest, "/proc/boot"); err != nil {
		t.Errorf("attached connection after the handshake deadline: read /proc/boot = %v; want it served", err)
	}
	// One audit line per window, naming the first remote address.
	log := h.logText()
	if n := strings.Count(log, "reason=handshake-timeout"); n != 1 {
		t.Errorf("%d handshake-timeout audit lines; want 1 per window:\n%s", n, log)
	}
	if !strings.Contains(log, "listener=secure9p remote=127.0.0.1:") {
		t.Errorf("handshake-timeout audit line names no remote address:\n%s", log)
	}
}

// TestIdleDeadline: an attached connection that sends nothing for the
// idle timeout is closed and counted; one that keeps talking is not.
func TestIdleDeadline(t *testing.T) {
	h := startHive(t, shortDeadlines(time.Hour, 300*time.Millisecond))
	r := h.raw(t)
	r.version(8192)
	if e := r.attach(1, queenTicket(t)); e != 0 {
		t.Fatalf("attach: errno %d", e)
	}
	if !closedByServer(t, r.nc, 10*time.Second) {
		t.Fatal("idle attached connection still open 10 s after a 300 ms idle timeout")
	}
	if got := h.ns.Secure9PNet().IdleTimeouts.Load(); got != 1 {
		t.Errorf("idle_timeouts = %d; want 1", got)
	}
	if got := h.ns.Secure9PNet().HandshakeTimeouts.Load(); got != 0 {
		t.Errorf("handshake_timeouts = %d; want 0 for an attached connection", got)
	}

	busy := h.mustDial(t, queenTicket(t))
	for range 10 { // talking every 100 ms for longer than the idle timeout
		if _, err := readFile(busy, "/proc/boot"); err != nil {
			t.Fatalf("read /proc/boot on a busy connection = %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestServeCountsOpenConnections: /proc/net/secure9p counts the served
// connections and forgets them when they close.
func TestServeCountsOpenConnections(t *testing.T) {
	h := startHive(t)
	st := h.ns.Secure9PNet()
	r := h.raw(t)
	r.version(8192)
	if got := st.Open.Load(); got != 1 {
		t.Errorf("open = %d with one connection; want 1", got)
	}
	r.nc.Close()
	for deadline := time.Now().Add(10 * time.Second); st.Open.Load() != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("open = %d after the connection closed; want 0", st.Open.Load())
		}
	}
}

// TestIdleDeadlineBoundsWrites: an attached peer that keeps sending
// requests but never takes the replies is closed once the idle timeout
// passes, although it is never silent (over a net.Pipe, which buffers
// nothing, the first reply blocks, and the reader then blocks behind it).
func TestIdleDeadlineBoundsWrites(t *testing.T) {
	h := startHive(t, shortDeadlines(time.Hour, 200*time.Millisecond))
	server, client := net.Pipe()
	t.Cleanup(func() { client.Close() })
	done := make(chan struct{})
	go func() { h.srv.ServeConn(server); close(done) }()
	r := &raw{t: t, nc: client}
	client.SetDeadline(time.Now().Add(10 * time.Second))
	r.version(8192)
	if e := r.attach(1, queenTicket(t)); e != 0 {
		t.Fatalf("attach: errno %d", e)
	}
	client.SetDeadline(time.Now().Add(time.Minute))
	go func() {
		for i := range 100000 { // Rlerror replies that are never read
			if _, err := client.Write(frame(tTclunk, uint16(2+i%8), uint32(99))); err != nil {
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("connection that takes no replies still served 10 s after a 200 ms idle timeout")
	}
	if got := h.ns.Secure9PNet().IdleTimeouts.Load(); got != 1 {
		t.Errorf("idle_timeouts = %d; want 1 for a peer that took no replies", got)
	}
}

// TestFailedReplyWriteSettlesLaterReplies: once a reply cannot be written
// (the peer is gone, or took nothing until the deadline), the connection
// ends, and every later reply of the 9P server still reaches the policy,
// so no request stays in flight and nothing waits on one. The failed
// frame must not stay queued in front of them.
func TestFailedReplyWriteSettlesLaterReplies(t *testing.T) {
	server, client := net.Pipe()
	client.Close()
	c := newConn(&Server{}, server)
	c.pol = versioned(t, testLimits())
	for tag := uint16(2); tag <= 4; tag++ {
		if fwd, _, _ := c.pol.Inbound(frame(tTclunk, tag, uint32(99))); fwd == nil {
			t.Fatalf("Tclunk tag %d refused", tag)
		}
	}
	w := &replyWriter{c: c}
	var failed error
	for tag := uint16(2); tag <= 4; tag++ {
		// As hugelgupf/p9 sends it: the header, then the body. A reply
		// is queued (replies.go), so the first may be taken before its
		// write fails; once one has failed, every later one fails at once.
		reply := rlerror(tag, linux.EBADF)
		w.Write(reply[:headerLen])
		_, err := w.Write(reply[headerLen:])
		if failed != nil && err == nil {
			t.Fatalf("reply to tag %d taken after a failed write", tag)
		}
		c.wmu.Lock()
		if ferr := c.flushed(c.queuedTo); failed == nil {
			failed = ferr
		}
		c.wmu.Unlock()
	}
	if failed == nil {
		t.Fatal("replies written to a closed peer without an error")
	}
	if n := c.pol.InFlight(); n != 0 {
		t.Errorf("%d requests in flight after their replies failed; want 0", n)
	}
	if err := c.pol.Await(frame(tTclunk, 5, uint32(99))); !errors.Is(err, ErrEnded) {
		t.Errorf("Await after a failed reply = %v; want ErrEnded", err)
	}
}

// TestUndecodableRequestEndsTheConnection: a request the policy passes but
// hugelgupf/p9 cannot decode (a Tgetattr without its mask) is lost there;
// the connection is closed and stops being served, rather than left with
// a Tclunk of the same fid waiting for it forever. Another client is
// served meanwhile.
func TestUndecodableRequestEndsTheConnection(t *testing.T) {
	h := startHive(t)
	honest := h.mustDial(t, queenTicket(t))
	r := h.raw(t)
	r.version(8192)
	if e := r.attach(1, queenTicket(t)); e != 0 {
		t.Fatalf("attach: errno %d", e)
	}
	r.send(append(frame(tTgetattr, 2, uint32(1)), frame(tTclunk, 3, uint32(1))...))
	if !closedByServer(t, r.nc, 10*time.Second) {
		t.Fatal("connection with a lost request still open after 10 s")
	}
	st := h.ns.Secure9PNet()
	for deadline := time.Now().Add(10 * time.Second); st.Open.Load() != 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("open = %d 10 s after the connection closed; want 1 (the honest client)", st.Open.Load())
		}
	}
	if _, err := readFile(honest, "/proc/boot"); err != nil {
		t.Errorf("honest client: read /proc/boot = %v; want it served", err)
	}
}
