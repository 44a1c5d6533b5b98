package consoleserver

import (
	"errors"
	"net"
	"sync/atomic"
	"time"

	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/gate"
)

// inbound is one frame read from an authenticated TCP console: a line, or
// the read error that ended or interrupted the stream, and when it arrived.
// busy marks a request beyond the queue depth: the dispatcher answers it
// with a busy refusal, in its place among the replies, and does not run it.
type inbound struct {
	line string
	err  error
	at   time.Time
	busy bool
}

// inboundQueue is the per-connection TCP console queue (spec console §1,
// with issue 12's rule instead of the spec's drop): at most depth requests
// wait to run; each request read while depth are waiting is queued as a
// busy marker, and answered `ERR <VERB> reason=busy` in request order. The
// markers are bounded too (backlog): when the channel is full the reader
// stops reading the socket, so a client that sends faster than it reads is
// held back by TCP, and no request is ever dropped without a reply. Busy
// refusals count as back-pressure in /proc/ingest; dropped stays 0. The
// dispatcher's enqueue-to-dispatch latency feeds the p50/p95 ring.
type inboundQueue struct {
	ch      chan inbound  // requests and markers in arrival order
	waiting atomic.Int64  // requests in ch that will run (not markers, not errors)
	depth   int64         // most requests waiting to run
	stop    chan struct{} // closed when the dispatcher is gone
	stats   *gate.IngestStats
	clock   Clock
}

// newInboundQueue returns a queue for depth waiting requests and backlog
// busy markers.
func newInboundQueue(stats *gate.IngestStats, clock Clock, depth, backlog int) *inboundQueue {
	return &inboundQueue{
		ch:    make(chan inbound, depth+backlog),
		depth: int64(depth),
		stop:  make(chan struct{}),
		stats: stats,
		clock: clock,
	}
}

// push queues one frame; it blocks while the queue is full and reports
// false once the dispatcher has gone. Only the reading goroutine pushes,
// so waiting can only fall between the check and the send.
func (q *inboundQueue) push(it inbound) bool {
	if it.err == nil {
		if q.waiting.Load() < q.depth {
			q.waiting.Add(1)
			q.stats.Queued.Add(1)
		} else {
			it.busy = true
			q.stats.Backpressure.Add(1)
		}
	}
	select {
	case q.ch <- it:
		return true
	case <-q.stop:
		return false
	}
}

// pop waits for the next frame and records a request's queueing latency.
func (q *inboundQueue) pop() inbound {
	it := <-q.ch
	if it.err == nil && !it.busy {
		q.waiting.Add(-1)
		q.stats.Queued.Add(-1)
		q.stats.Sample(q.clock.Now().Sub(it.at))
	}
	return it
}

// close tells the reader the dispatcher is gone and forgets what is left.
func (q *inboundQueue) close() {
	close(q.stop)
	q.drain()
}

// drain forgets what is queued. The dispatcher drains at close and the
// reader once more as it leaves after that, so a frame it pushed late
// still leaves the /proc/ingest gauge.
func (q *inboundQueue) drain() {
	for {
		select {
		case it := <-q.ch:
			if it.err == nil && !it.busy {
				q.waiting.Add(-1)
				q.stats.Queued.Add(-1)
			}
		default:
			return
		}
	}
}

// read feeds the queue from conn until a read fails for good or the
// dispatcher has gone; invalid lengths are queued as errors and reading
// goes on (the frame reader has re-synchronised).
func (q *inboundQueue) read(conn net.Conn, fr *console.FrameReader, idle time.Duration) {
	defer func() {
		select {
		case <-q.stop:
			q.drain()
		default: // the dispatcher still takes what is queued
		}
	}()
	for {
		_ = conn.SetReadDeadline(q.clock.Now().Add(idle))
		line, err := fr.Next(true)
		if !q.push(inbound{line: line, err: err, at: q.clock.Now()}) {
			return
		}
		if err != nil && !errors.Is(err, console.ErrInvalidLength) {
			return
		}
	}
}

// busyReply is the answer to a request the queue would not hold: its
// parse error if it does not parse (the same ERR PARSE it would get if it
// ran), else `ERR <VERB> reason=busy detail=queue-full`. push counted it
// as back-pressure (/proc/ingest); a busy refusal also counts in
// /proc/pressure/busy. Neither busy refusals nor the parse errors of
// lines past the queue are audited one by one: a flood of them must not push real entries out of
// the log ring.
func (c *Session) busyReply(line string) string {
	lim := c.srv.lim
	cmd, err := console.Parse(line, lim)
	if err != nil {
		var pe *console.ParseError
		if !errors.As(err, &pe) {
			pe = &console.ParseError{Msg: console.MsgUnsupportedCommand}
		}
		c.refused(pe.Ack(), "") // counted, not audited: this is the flood case
		return pe.Ack().Render(lim)
	}
	a := console.Refusal(cmd.Verb.Label(), console.ReasonBusy, console.DetailQueueFull)
	c.refused(a, "")
	return a.Render(lim)
}
