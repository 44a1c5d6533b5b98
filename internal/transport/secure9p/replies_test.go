package secure9p

import (
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// countingConn, once armed, counts the server's writes and holds the
// first until gate opens.
type countingConn struct {
	net.Conn
	armed  atomic.Bool
	gate   chan struct{}
	writes atomic.Int32
}

func (c *countingConn) Write(b []byte) (int, error) {
	if c.armed.Load() && c.writes.Add(1) == 1 {
		<-c.gate
	}
	return c.Conn.Write(b)
}

// TestRepliesLeaveTogether: the replies that become ready while one is
// being written leave in one write (P81): with a full tag window in
// flight, the first write held until all sixteen replies are queued, they
// cost at most two writes, in the order the policy saw them.
func TestRepliesLeaveTogether(t *testing.T) {
	server, client := net.Pipe()
	defer client.Close()
	cc := &countingConn{Conn: server, gate: make(chan struct{})}
	cc.armed.Store(true)
	c := newConn(&Server{cfg: DefaultConfig()}, cc)
	c.pol = versioned(t, testLimits())
	tags := int(DefaultConfig().Tags)
	for i := range tags {
		if fwd, _, _ := c.pol.Inbound(frame(tTclunk, uint16(2+i), uint32(99))); fwd == nil {
			t.Fatalf("Tclunk tag %d refused", 2+i)
		}
	}
	w := &replyWriter{c: c}
	for i := range tags {
		// Requests are still in flight, so the first reply goes to the
		// flusher, whose write waits at the gate; the rest queue.
		if _, err := w.Write(rlerror(uint16(2+i), 9)); err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
	}
	close(cc.gate)
	client.SetDeadline(time.Now().Add(10 * time.Second))
	r := &raw{t: t, nc: client}
	for i := range tags {
		if typ, tag, _ := r.recv(); typ != tRlerror || tag != uint16(2+i) {
			t.Fatalf("reply %d: type %d tag %d; want Rlerror tag %d", i, typ, tag, 2+i)
		}
	}
	// The flusher takes the first reply alone if it runs before the
	// others are queued, else all of them: one or two writes either way.
	if n := cc.writes.Load(); n < 1 || n > 2 {
		t.Errorf("%d writes for %d replies queued behind one; want 1 or 2", n, tags)
	}
	if n := c.pol.InFlight(); n != 0 {
		t.Errorf("%d requests in flight after every reply; want 0", n)
	}
}
