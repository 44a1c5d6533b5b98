package secure9p

// Reply coalescing (DECISIONS P81).
//
// hugelgupf/p9 answers each request on its own goroutine and serialises
// the sends, so written one by one every reply cost a write system call
// while the replies behind it waited their turn. Instead a reply the
// policy has passed joins the connection's output queue and the send
// returns; one flusher, started when the queue goes from empty to not
// empty and gone when it is empty again, writes everything queued in one
// call, so replies that become ready during a write leave together in the
// next; when no other request is being answered, the sender writes its
// reply itself, sparing a one-request-at-a-time client the hand-over. The
// queue keeps the order the policy saw. While the reader still holds
// complete requests in its buffer (held), a reply waits in the queue for
// theirs: a burst of requests is answered in one write, not one write
// each; the reader lets go (hold(false)) when it forwards the last of
// them, before it blocks on the socket, before it waits in Await and
// before the connection closes, so no reply waits on a request that may
// block. It is bounded: a send
// that would take it past outMax waits for the flusher (a peer that takes
// no replies still holds at most outMax bytes of them, and the write
// deadline ends it). A refusal, or a reply that ends the connection, waits
// until it is on the wire, because the connection may close right after.
//
// Every field below is guarded by c.wmu; c.wdone is c.wmu's condition.

// outMax bounds the output queue: a full tag window of msize replies.
func (c *conn) outMax() int {
	return int(c.srv.cfg.Tags) * int(c.pol.Msize())
}

// enqueue queues frame behind the replies already queued; c.wmu is held.
// It returns the queue position just past frame, for flushed.
func (c *conn) enqueue(frame []byte) (uint64, error) {
	for c.werr == nil && len(c.out) > 0 && len(c.out)+len(frame) > c.outMax() {
		if !c.flushing {
			// Held replies fill the queue: they cannot wait for the
			// reader to let go, since this send waits for room.
			c.flushing = true
			go c.flush()
		}
		c.wdone.Wait()
	}
	if c.werr != nil {
		return 0, c.werr
	}
	if cap(c.out)-len(c.out) < len(frame) {
		c.out = c.srv.grownOut(c.out, len(frame))
	}
	c.out = append(c.out, frame...)
	c.queuedTo += uint64(len(frame))
	if !c.flushing && !c.held {
		c.flushing = true
		if c.pol.InFlight() == 0 {
			// Nothing else is being answered: no reply can join this
			// one soon, so write it here rather than hand it over.
			c.flushOut()
		} else {
			go c.flush()
		}
	}
	return c.queuedTo, nil
}

// flushed waits until the queue has been written up to mark, or writing
// has failed; c.wmu is held.
func (c *conn) flushed(mark uint64) error {
	if !c.flushing && c.werr == nil && c.writtenTo < mark {
		// Held behind the reader's buffered requests: this one cannot wait.
		c.flushing = true
		c.flushOut()
	}
	for c.werr == nil && c.writtenTo < mark {
		c.wdone.Wait()
	}
	return c.werr
}

// flush runs flushOut on a goroutine of its own.
func (c *conn) flush() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.flushOut()
}

// flushOut writes the queue until it is empty or a write fails; c.wmu is
// held, and released during each write. Each write takes the whole queue;
// the replies queued meanwhile go in the next.
func (c *conn) flushOut() {
	for len(c.out) > 0 && c.werr == nil {
		b := c.out
		c.out = c.spare[:0]
		attached := c.session.Load() != nil
		c.wmu.Unlock()
		err := c.writeOut(b, attached)
		c.wmu.Lock()
		c.writtenTo += uint64(len(b))
		// Keep one buffer of up to msize for the next burst; a larger
		// one (a burst of big reads) goes back to the server's pool, so
		// an idle session holds little and a busy one does not grow a
		// queue afresh for every burst.
		// (spare is never the array c.out now fills: that one was spare
		// when this write began.)
		c.spare = nil
		if cap(b) <= int(c.pol.Msize()) {
			c.spare = b[:0]
		} else {
			c.srv.outs.Put(&b)
		}
		if err != nil {
			c.timedOut(err)
			c.fail(err)
		}
		c.wdone.Broadcast()
	}
	c.flushing = false
	c.wdone.Broadcast()
}

// writeOut writes b under the short-write policy. An attached connection
// has IdleTimeout to take each write; before the attach the handshake
// deadline bounds writes too.
func (c *conn) writeOut(b []byte, attached bool) error {
	if attached {
		c.writeBy.extend(c.srv.cfg.IdleTimeout, c.nc.SetWriteDeadline)
	}
	return c.put(b)
}

// hold records whether the reader still holds complete requests in its
// buffer (the reader only). Letting go starts a flusher for the replies
// held meanwhile.
func (c *conn) hold(more bool) {
	if more != c.readerHeld {
		c.setHeld(more, false)
	}
}

// setHeld records held under wmu; letting go with replies queued starts a
// flusher, or writes them here when inline (the connection is closing).
func (c *conn) setHeld(more, inline bool) {
	c.readerHeld = more
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.held = more
	if more || c.flushing || len(c.out) == 0 {
		return
	}
	c.flushing = true
	if inline {
		c.flushOut()
	} else {
		go c.flush()
	}
}

// grownOut returns out with room for n more bytes: a queue of a whole tag
// window of replies from the server's pool (out's bytes copied in), so a
// burst of large replies fills one buffer instead of doubling its way up.
func (s *Server) grownOut(out []byte, n int) []byte {
	var b []byte
	if p, ok := s.outs.Get().(*[]byte); ok {
		b = (*p)[:0]
	}
	if need := len(out) + n; cap(b) < need {
		b = make([]byte, 0, max(need, int(s.cfg.Tags)*int(s.cfg.Msize)))
	}
	return append(b, out...)
}
