package hive

import (
	"errors"
	"net"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/ninedoor"
)

// inbound is one frame read from an authenticated TCP console: a line, or
// the read error that ended or interrupted the stream, and when it arrived.
type inbound struct {
	line string
	err  error
	at   time.Time
}

// inboundQueue is the per-connection TCP console queue (spec console §1):
// console.inbound_queue_depth lines; on overflow the oldest waiting line is
// dropped and counted as back-pressure and a drop in /proc/ingest. The
// dispatcher's enqueue-to-dispatch latency feeds the p50/p95 ring.
type inboundQueue struct {
	ch    chan inbound
	stats *ninedoor.IngestStats
	clock Clock
}

func newInboundQueue(stats *ninedoor.IngestStats, clock Clock) *inboundQueue {
	return &inboundQueue{ch: make(chan inbound, generated.ConsoleInboundQueueDepth), stats: stats, clock: clock}
}

// push never blocks: a full queue loses its oldest line. Only the reading
// goroutine pushes, so after one receive there is room.
func (q *inboundQueue) push(it inbound) {
	select {
	case q.ch <- it:
		q.stats.Queued.Add(1)
		return
	default:
	}
	q.stats.Backpressure.Add(1)
	select {
	case <-q.ch:
		q.stats.Dropped.Add(1)
		q.stats.Queued.Add(-1)
	default:
	}
	q.ch <- it
	q.stats.Queued.Add(1)
}

// pop waits for the next line and records its queueing latency.
func (q *inboundQueue) pop() inbound {
	it := <-q.ch
	q.stats.Queued.Add(-1)
	if it.err == nil {
		q.stats.Sample(q.clock.Now().Sub(it.at))
	}
	return it
}

// drain forgets what is left when the session ends.
func (q *inboundQueue) drain() {
	for {
		select {
		case <-q.ch:
			q.stats.Queued.Add(-1)
		default:
			return
		}
	}
}

// read feeds the queue from conn until a read fails for good; invalid
// lengths are queued as errors and reading goes on (the frame reader has
// re-synchronised).
func (q *inboundQueue) read(conn net.Conn, fr *console.FrameReader, idle time.Duration) {
	for {
		_ = conn.SetReadDeadline(q.clock.Now().Add(idle))
		line, err := fr.Next(true)
		q.push(inbound{line: line, err: err, at: q.clock.Now()})
		if err != nil && !errors.Is(err, console.ErrInvalidLength) {
			return
		}
	}
}
