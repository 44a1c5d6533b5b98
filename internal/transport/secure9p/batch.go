package secure9p

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hugelgupf/p9/linux"

	"github.com/cohesix/cohesix/internal/queen"
)

// Batches, the receive queue and short writes (M9, DECISIONS P60-P61).
//
// A byte stream carries no batch boundaries, so the server's unit is its
// receive queue: the complete frames it holds received and not yet judged
// (in its read buffer, which is msize bytes, so a batch never exceeds
// msize). A client that keeps within the tag window never has more than
// tags_per_session frames there; the queue holds at most QueueDepth. When
// a frame is judged with no admitted frame before it, the frames behind it
// are counted: the first QueueDepth are admitted, each one beyond is
// refused EBUSY ("queue depth exceeded") in arrival order, with one audit
// line for the batch, and the connection goes on.

// queueState is the reader's share; only the receiving goroutine (one at
// a time, under hugelgupf/p9's recvMu) touches it.
type queueState struct {
	admitted int // frames behind the current one already admitted
	refuse   int // frames behind the admitted ones to refuse
}

// admit decides the frame just read: false means refuse it with EBUSY.
// The first frame of a batch counts the complete frames buffered behind it.
func (c *conn) admit() bool {
	q := &c.queue
	switch {
	case q.admitted > 0:
		q.admitted--
		c.queued(-1)
		return true
	case q.refuse > 0:
		q.refuse--
		c.queued(-1)
		return false
	}
	behind := c.bufferedFrames()
	depth := c.srv.cfg.QueueDepth()
	n := 1 + behind
	q.admitted = min(n, depth) - 1
	q.refuse = n - min(n, depth)
	c.queued(int64(behind))
	if q.refuse > 0 {
		st := c.srv.ns.NineP()
		st.QueueBusy.Add(uint64(q.refuse))
		c.note(fmt.Sprintf("nine-door: batch refused reason=queue-depth-exceeded frames=%d depth=%d refused=%d", n, depth, q.refuse))
	}
	return true
}

// queued moves this connection's share of /proc/9p/queue.
func (c *conn) queued(d int64) {
	if d != 0 {
		c.srv.ns.NineP().Queued.Add(d)
		c.inQueue += d
	}
}

// bufferedFrames counts the complete, well-sized frames in the read buffer.
func (c *conn) bufferedFrames() int {
	return countFrames(c.br.Buffered())
}

// hasFrame reports whether b starts with a complete frame.
func hasFrame(b []byte) bool {
	if len(b) < headerLen {
		return false
	}
	size := le.Uint32(b)
	return size >= headerLen && int64(size) <= int64(len(b))
}

// countFrames counts the complete frames at the start of b, stopping at
// the first one that is short or declares a size below the header (the
// reader refuses that one when it gets there).
func countFrames(b []byte) int {
	n := 0
	for ; hasFrame(b); n++ {
		b = b[le.Uint32(b):]
	}
	return n
}

// note writes one audit line under the peer's summary window
// (queen.PeerNote), like invalidName, so a flood cannot push real
// entries out of the log ring.
func (c *conn) note(line string) {
	line += c.peer.Fields()
	_, _ = c.srv.ns.Queen().SubmitWait(context.Background(), queen.PeerNote{Peer: c.peer, Lines: []string{line}})
}

// errShortWrite is a reply the transport took only part of, under policy
// reject or after the retries of policy retry.
var errShortWrite = errors.New("secure9p: short write")

// put writes frame under the short-write policy (the flusher only). A write
// that takes part of the frame without an error (or with
// io.ErrShortWrite) is a short write: counted, then retried from where it
// stopped after Base << attempt (policy retry), or the end of the
// connection (policy reject, or retries spent), with one audit line.
func (c *conn) put(frame []byte) error {
	n, err := c.write(frame)
	if n >= len(frame) || err != nil && !errors.Is(err, io.ErrShortWrite) {
		return err
	}
	st, sw := c.srv.ns.NineP(), c.srv.cfg.ShortWrite
	st.ShortWrites.Add(1)
	for attempt := 0; sw.Retry && attempt < sw.Attempts; attempt++ {
		time.Sleep(sw.Base << attempt)
		st.Retries.Add(1)
		m, err := c.write(frame[n:])
		n += m
		if n >= len(frame) {
			return nil
		}
		if err != nil && !errors.Is(err, io.ErrShortWrite) {
			return err
		}
	}
	policy := "reject"
	if sw.Retry {
		policy = "retry"
	}
	c.note(fmt.Sprintf("nine-door: short write policy=%s wrote=%d of=%d", policy, n, len(frame)))
	return errShortWrite
}

// write writes b to the connection: raw system calls on a hosted socket
// (rawio.go), else the net.Conn's Write.
func (c *conn) write(b []byte) (int, error) {
	if rc := c.br.rc; rc != nil {
		return rawWrite(rc, b)
	}
	return c.nc.Write(b)
}

// refuseBusy answers a frame the queue refused.
func (c *conn) refuseBusy(frame []byte) error {
	c.srv.ns.Queen().Pressure.Busy.Add(1)
	return c.writeRefusal(rlerror(le.Uint16(frame[5:]), linux.EBUSY))
}
