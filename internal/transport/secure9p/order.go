package secure9p

import (
	"slices"
	"sync"
)

// Request ordering on one connection (DECISIONS P29).
//
// hugelgupf/p9 handles a connection's requests concurrently, so requests a
// client sends back to back could run in any order. Secure9P keeps the
// order wherever a later request depends on an earlier one, so a client
// may put a whole exchange on the wire at once (nineclient.Pipeline):
//
//   - fids: a request naming a fid waits while a Tattach or Twalk making
//     that fid, or a Tlopen or Tclunk of it, is unanswered; a Tclunk waits
//     while any request naming its fid is unanswered;
//   - writes: explicit-offset Twrites to one file are applied in arrival
//     order (Turn), and a Tread, Treaddir or Tgetattr waits while such a
//     write is unanswered, so it sees the write;
//   - locks: a write waiting for its turn holds its file's path lock for
//     reading inside hugelgupf/p9, and a Tlopen or Tsetattr waiting for
//     that lock for writing would stop the earlier write, which needs the
//     same lock; so the two kinds are never in flight together.
//
// The reader applies the waits (Await) before it forwards a request, so
// they hold back the rest of the connection too. Each wait ends: every
// reply passes through Outbound, even one that can no longer be written
// (conn.write), and where a request can never be answered (a reply write
// failed, the server discarded a frame it could not decode) the
// connection ends and Await gives up (End). Clients that wait for each
// reply (the Linux kernel, hugelgupf/p9's client) never wait here.

// order is the Policy's ordering state, guarded by Policy.mu.
type order struct {
	reqs    map[uint16]request // forwarded, not yet answered
	fileKey map[uint32]uint64  // qid path of each fid, from Rattach and Rwalk
	writes  []*orderedWrite    // explicit-offset Twrites forwarded, not yet answered, in arrival order
	answer  *sync.Cond         // on Policy.mu: signalled as requests are answered (the reader waits on it)
}

func newOrder() order {
	return order{reqs: make(map[uint16]request), fileKey: make(map[uint32]uint64)}
}

// request is what the ordering rules need of one request.
type request struct {
	typ     byte
	fid     uint32 // the fid it names; for Tattach and Twalk the fid it starts from
	newfid  uint32 // the fid a Tattach or Twalk makes
	nwname  int    // Twalk's name count
	ordered bool   // a Twrite at an explicit offset
}

// orderedWrite is one explicit-offset Twrite between the reader and its
// reply. key is the qid path of the file it writes; off and n identify it
// to its handler.
type orderedWrite struct {
	tag     uint16
	key     uint64
	off     uint64
	n       uint32
	claimed bool          // a handler has taken it (Turn)
	done    bool          // applied or refused: later writes to the file may go
	wake    chan struct{} // its handler waits on it in Turn; a token means "look again"
}

// parseRequest reads the fields of frame the ordering rules use; ok is
// false for a frame too short to hold them (the policy refuses it).
func parseRequest(frame []byte) (r request, ok bool) {
	if len(frame) < headerLen {
		return r, false
	}
	r.typ = frame[4]
	body := reader{b: frame[headerLen:]}
	switch r.typ {
	case tTversion, tTflush, tTauth:
		return r, true
	case tTattach:
		r.newfid = body.u32()
		r.fid = r.newfid
	case tTwalk:
		r.fid = body.u32()
		r.newfid = body.u32()
		r.nwname = int(body.u16())
	default:
		r.fid = body.u32()
	}
	r.ordered = isOrderedWrite(frame)
	return r, !body.bad
}

// names reports whether r uses fid, as an operand or as the fid it makes.
func (r request) names(fid uint32) bool {
	switch r.typ {
	case tTversion, tTflush, tTauth:
		return false
	case tTwalk:
		return r.fid == fid || r.newfid == fid
	}
	return r.fid == fid
}

// makes reports whether r creates or changes what fid is: a later request
// naming fid must see its outcome.
func (r request) makes(fid uint32) bool {
	switch r.typ {
	case tTattach, tTwalk:
		return r.newfid == fid
	case tTlopen, tTclunk:
		return r.fid == fid
	}
	return false
}

// readsState reports whether r observes what an earlier write changed.
func (r request) readsState() bool {
	return r.typ == tTread || r.typ == tTreaddir || r.typ == tTgetattr
}

// exclusive reports whether hugelgupf/p9 handles a request of type typ
// with its file's path node locked for writing (Tlopen, Tsetattr; the
// other such requests are refused before the server sees them).
func exclusive(typ byte) bool { return typ == tTlopen || typ == tTsetattr }

// after reports whether next must wait for prev to be answered.
func after(next, prev request) bool {
	switch {
	case next.ordered && exclusive(prev.typ), exclusive(next.typ) && prev.ordered:
		return true // locks
	case next.readsState() && prev.ordered:
		return true // read after write
	case next.typ == tTclunk && prev.names(next.fid):
		return true
	}
	for _, fid := range [2]uint32{next.fid, next.newfid} {
		if next.names(fid) && prev.makes(fid) {
			return true
		}
	}
	return false
}

// isOrderedWrite reports whether frame is a Twrite at an explicit offset
// (not u64::MAX). On one connection such writes to one file are applied
// in arrival order, so a client may pipeline the records of a segment at
// consecutive offsets; an offset-checked append that overtook its
// predecessor would be refused.
func isOrderedWrite(frame []byte) bool {
	return len(frame) >= headerLen+16 && frame[4] == tTwrite && le.Uint64(frame[headerLen+4:]) != ^uint64(0)
}

// Await holds the reader until frame may be forwarded: until every earlier
// request it depends on has been answered. It returns ErrEnded, at once or
// while waiting, once the connection is ending (End): close it.
func (p *Policy) Await(frame []byte) error {
	next, ok := parseRequest(frame)
	p.mu.Lock()
	defer p.mu.Unlock()
	if ok && !p.ended && p.dependsOnInFlight(next) && p.OnWait != nil {
		p.mu.Unlock()
		p.OnWait()
		p.mu.Lock()
	}
	for ok && !p.ended && p.dependsOnInFlight(next) {
		p.answer.Wait()
	}
	if p.ended {
		return ErrEnded
	}
	return nil
}

func (p *Policy) dependsOnInFlight(next request) bool {
	for _, prev := range p.reqs {
		if after(next, prev) {
			return true
		}
	}
	return false
}

// track notes a forwarded request; p.mu is held.
func (p *Policy) track(frame []byte, tag uint16) {
	r, ok := parseRequest(frame)
	if !ok {
		return
	}
	p.reqs[tag] = r
	switch {
	case r.typ == tTclunk:
		delete(p.fileKey, r.fid)
	case r.ordered:
		w := &orderedWrite{tag: tag, off: le.Uint64(frame[headerLen+4:]), n: le.Uint32(frame[headerLen+12:]), wake: make(chan struct{}, 1)}
		key, known := p.fileKey[r.fid]
		// A fid whose walk was never answered cannot be open: its write
		// fails in the server and takes no turn.
		w.key, w.claimed = key, !known
		p.writes = append(p.writes, w)
	}
}

// answered updates the ordering state for the reply to tag; p.mu is held.
// The fid an attach or walk made gets its file's qid path.
func (p *Policy) answered(frame []byte, typ byte, tag uint16) {
	r, ok := p.reqs[tag]
	if !ok {
		return
	}
	delete(p.reqs, tag)
	p.answer.Broadcast()
	body := reader{b: frame[headerLen:]}
	switch {
	case r.typ == tTattach:
		body.take(1 + 4)
		path := body.u64()
		if typ == tRattach && !body.bad {
			p.fileKey[r.newfid] = path
		}
		p.made(r.newfid, typ == tRattach)
	case r.typ == tTwalk:
		var n int
		var path uint64
		if typ == tRwalk {
			n = int(body.u16())
			for range n {
				body.take(1 + 4)
				path = body.u64()
			}
		}
		key, known := p.fileKey[r.fid]
		complete := typ == tRwalk && !body.bad && n == r.nwname
		switch {
		case !complete:
			// A failed or partial walk: newfid was not made.
		case n > 0:
			p.fileKey[r.newfid] = path
		case known:
			p.fileKey[r.newfid] = key
		}
		if r.newfid != r.fid {
			p.made(r.newfid, complete)
		}
	case r.ordered:
		if i := slices.IndexFunc(p.writes, func(w *orderedWrite) bool { return w.tag == tag }); i >= 0 {
			w := p.writes[i]
			p.writes = slices.Delete(p.writes, i, i+1)
			p.wakeNext(i, w.key)
		}
	}
}

// Turn is called by the handler of a write at off of n bytes to the file
// whose qid path is key, before it applies the write. It waits until every
// write to the file that arrived before this one has been applied or
// refused, and returns the func that ends this write's turn: call it once
// the write is applied or refused, or earlier, once nothing can overtake
// it (it is in the queen's inbox); calling it again does nothing. A write
// the reader did not see as ordered (u64::MAX, or a fid never walked)
// goes at once. Two writes alike in file, offset and length are
// interchangeable here.
func (p *Policy) Turn(key, off uint64, n uint32) (done func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := slices.IndexFunc(p.writes, func(w *orderedWrite) bool {
		return !w.claimed && w.key == key && w.off == off && w.n == n
	})
	if i < 0 {
		return func() {}
	}
	w := p.writes[i]
	w.claimed = true
	for p.waiting(w) {
		p.mu.Unlock()
		<-w.wake
		p.mu.Lock()
	}
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if !w.done {
			w.done = true
			if i := slices.Index(p.writes, w); i >= 0 {
				p.wakeNext(i+1, w.key)
			}
		}
	}
}

// releaseWrites ends every write's wait for its turn; p.mu is held. It is
// for a connection that lost a request: a write waiting behind a lost one
// would hold its handler, and so the connection's end, forever. A write
// that now overtakes a predecessor that never came is refused by the
// file's offset check, as it would be without the ordering.
func (p *Policy) releaseWrites() {
	for _, w := range p.writes {
		w.done = true
		select {
		case w.wake <- struct{}{}:
		default: // a token is already there
		}
	}
}

// waiting reports whether a write to w's file that arrived before w is
// neither applied nor refused yet.
func (p *Policy) waiting(w *orderedWrite) bool {
	for _, e := range p.writes {
		if e == w {
			return false
		}
		if e.key == w.key && !e.done {
			return true
		}
	}
	return false // w was answered meanwhile
}

// wakeNext tells the first write to file key at or after index i that is
// not done yet to look again: only it can be waiting on what just ended
// (a write waits only for the writes to its file before it).
func (p *Policy) wakeNext(i int, key uint64) {
	for _, w := range p.writes[i:] {
		if w.key == key && !w.done {
			select {
			case w.wake <- struct{}{}:
			default: // a token is already there
			}
			return
		}
	}
}
