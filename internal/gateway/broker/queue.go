package broker

import (
	"context"
	"errors"
	"slices"
)

// classQueue is one class's bounded queue: a FIFO per key and a ring of the
// keys that have calls waiting, served round robin. Every field is guarded
// by Broker.mu.
type classQueue struct {
	capacity int
	depth    int                // calls waiting, all keys together
	running  int                // calls of this class on a worker now
	byKey    map[string][]*call // each key's waiting calls, oldest first
	ring     []string           // keys with calls waiting, next to serve first
	stats    ClassStats
}

func (q *classQueue) init(capacity int) {
	q.capacity = capacity
	q.byKey = make(map[string][]*call)
	q.stats.Capacity = capacity
}

// push appends c to its key's FIFO; a key new to the ring joins at the
// back, so it is served after every key already waiting has had one turn.
func (q *classQueue) push(c *call) {
	calls, waiting := q.byKey[c.key]
	q.byKey[c.key] = append(calls, c)
	if !waiting {
		q.ring = append(q.ring, c.key)
	}
	q.depth++
	q.stats.MaxDepth = max(q.stats.MaxDepth, q.depth)
}

// pop takes the oldest call of the key at the front of the ring and moves
// that key to the back when it still has calls: one call per key per turn.
func (q *classQueue) pop() *call {
	if q.depth == 0 {
		return nil
	}
	key := q.ring[0]
	q.ring = q.ring[1:]
	calls := q.byKey[key]
	c := calls[0]
	calls[0] = nil // let the finished call be collected
	if rest := calls[1:]; len(rest) > 0 {
		q.byKey[key] = rest
		q.ring = append(q.ring, key)
	} else {
		delete(q.byKey, key)
	}
	q.depth--
	return c
}

// remove takes c out of its key's FIFO (its Do gave up while it waited);
// the key leaves the ring when it has nothing left. Both scans are bounded
// by the queue's capacity.
func (q *classQueue) remove(c *call) {
	calls := q.byKey[c.key]
	i := slices.Index(calls, c)
	if i < 0 {
		return
	}
	calls = slices.Delete(calls, i, i+1)
	q.depth--
	if len(calls) > 0 {
		q.byKey[c.key] = calls
		return
	}
	delete(q.byKey, c.key)
	if j := slices.Index(q.ring, c.key); j >= 0 {
		q.ring = slices.Delete(q.ring, j, j+1)
	}
}

// refuseAll ends every waiting call with ErrClosed (Close).
func (q *classQueue) refuseAll() {
	for _, calls := range q.byKey {
		for _, c := range calls {
			c.state = stateAbandoned
			c.err = ErrClosed
			close(c.done)
			q.stats.Closed++
		}
	}
	clear(q.byKey)
	q.ring = nil
	q.depth = 0
}

// late counts and returns the outcome of a call whose context ended before
// fn returned: the caller's own cancellation is its error; a deadline
// (the broker's or the caller's) is ErrDeadline.
func (q *classQueue) late(ctx context.Context) error {
	if err := ctx.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		q.stats.Cancelled++
		return err
	}
	q.stats.Deadline++
	return ErrDeadline
}
