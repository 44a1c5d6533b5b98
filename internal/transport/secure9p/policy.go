package secure9p

import (
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/hugelgupf/p9/linux"

	"github.com/cohesix/cohesix/internal/auditline"
	"github.com/cohesix/cohesix/internal/ns"
)

// ErrFraming is returned by Policy.Inbound for a frame whose declared size
// cannot be trusted (below the 7-byte header, or not the frame's length).
// The connection must be closed: the byte stream has lost its framing.
var ErrFraming = errors.New("secure9p: malformed frame")

// ErrEnded is returned by Policy.Await once the connection is ending: its
// replies can no longer be written, or the server discarded a request, so
// a request the wait depends on may never be answered.
var ErrEnded = errors.New("secure9p: connection ended")

// Limits are the per-connection protocol limits the policy enforces.
type Limits struct {
	// Msize is the largest msize the server negotiates (hard cap 8192).
	Msize uint32
	// WalkDepth is the most names in one Twalk and the deepest path.
	WalkDepth int
	// ComponentMax is the longest walk name in bytes.
	ComponentMax int
	// Tags is the most requests in flight on one connection.
	Tags int
	// Fids is the most fids one connection may hold (secure9p.
	// fids_per_session): made by Tattach and Twalk's newfid, counted from
	// the request until a Tclunk or Tremove. A request that would make one
	// more is refused with EMFILE and never reaches the server.
	Fids int
	// StrictFids refuses a clunked fid even as the new fid of a later
	// attach or walk. Stock clients (the Linux kernel, hugelgupf/p9, diod)
	// allocate the lowest free fid and reuse it at once, so this is off by
	// default: a clunked fid is refused as an operand until the client
	// introduces it again.
	StrictFids bool
}

// Policy is the Cohesix rule layer between the socket and the 9P server.
// It sees every frame in both directions and does no I/O: Inbound decides
// whether a request reaches the server, Outbound tracks replies. It is safe
// for concurrent use (one reader, many repliers).
type Policy struct {
	lim Limits

	// Authorize, if set, decides a Tattach from its uname and aname before
	// the server sees it; an error refuses the attach with Errno(err).
	// It runs on the reading goroutine with no lock held.
	Authorize func(uname, aname string) error
	// OnBusy, if set, is called for every Busy refusal (pressure counter).
	OnBusy func()
	// OnWait, if set, is called (without the policy's lock) before Await
	// holds the reader for an earlier request's answer.
	OnWait func()
	// OnInvalidName, if set, is called with a walk name refused for a
	// control character (audit). Like Authorize it runs with no lock held.
	OnInvalidName func(name string)

	mu        sync.Mutex
	versioned bool                   // a Tversion was answered with a known version
	msize     uint32                 // negotiated msize; lim.Msize before
	tags      map[uint16]struct{}    // requests in flight
	live      map[uint32]struct{}    // fids the server holds
	making    map[uint32]struct{}    // new fids of Tattach/Twalk in flight
	clunked   retired                // fids retired by Tclunk/Tremove
	remap     map[uint16]linux.Errno // replies to turn into Rlerror
	ended     bool                   // End was called, or a request was lost (Await gives up)

	order // request ordering on the connection (order.go)
}

// NewPolicy returns the policy for one new connection.
func NewPolicy(lim Limits) *Policy {
	p := &Policy{
		lim:     lim,
		msize:   lim.Msize,
		tags:    make(map[uint16]struct{}, lim.Tags),
		live:    make(map[uint32]struct{}),
		making:  make(map[uint32]struct{}),
		clunked: newRetired(lim.Fids),
		remap:   make(map[uint16]linux.Errno),
		order:   newOrder(),
	}
	p.answer = sync.NewCond(&p.mu)
	return p
}

// Msize is the largest frame accepted now: the negotiated msize, or the
// configured one before Tversion.
func (p *Policy) Msize() uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.msize
}

// InFlight is the number of requests forwarded and not yet answered.
func (p *Policy) InFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.tags)
}

// Inbound judges one request frame. Exactly one of forward and reply is
// set unless err is non-nil:
//
//   - forward is the frame to hand to the 9P server (frame itself, maybe
//     modified in place, or a rewritten copy);
//   - reply is an Rlerror to send back instead, as is: not through
//     Outbound, which settles the request in flight under a tag;
//   - err (ErrFraming) means the stream is unusable: close the connection.
//
// A frame whose declared size exceeds Msize is refused with EMSGSIZE from
// its first 7 bytes alone, so a reader may discard the body and pass just
// the header.
func (p *Policy) Inbound(frame []byte) (forward, reply []byte, err error) {
	if len(frame) < headerLen {
		return nil, nil, ErrFraming
	}
	size := le.Uint32(frame)
	typ := frame[4]
	tag := le.Uint16(frame[5:])
	if size < headerLen {
		return nil, nil, ErrFraming
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if size > p.msize {
		return nil, rlerror(tag, linux.EMSGSIZE), nil
	}
	if int(size) != len(frame) {
		return nil, nil, ErrFraming
	}
	if _, dup := p.tags[tag]; dup {
		return nil, rlerror(tag, linux.EINVAL), nil
	}
	if len(p.tags) >= p.lim.Tags {
		if p.OnBusy != nil {
			p.OnBusy()
		}
		return nil, rlerror(tag, linux.EBUSY), nil
	}
	if !p.versioned && typ != tTversion || tag == noTag && typ != tTversion {
		// NOTAG is Tversion's alone: the server's answer to a request it
		// cannot decode comes under it (Outbound).
		return nil, rlerror(tag, linux.EINVAL), nil
	}
	fwd, e := p.judge(frame, typ, tag)
	if e != 0 {
		return nil, rlerror(tag, e), nil
	}
	p.tags[tag] = struct{}{}
	p.track(fwd, tag)
	return fwd, nil, nil
}

// judge applies the per-message rules with p.mu held. It returns the frame
// to forward, or an errno. Each message type with rules of its own has a
// judgeX; the rest are refused or forwarded here.
func (p *Policy) judge(frame []byte, typ byte, tag uint16) ([]byte, linux.Errno) {
	r := reader{b: frame[headerLen:]}
	switch typ {
	case tTversion:
		return p.judgeVersion(tag, &r)
	case tTauth:
		// Stock clients read ENOENT as "no authentication required"; the
		// ticket rides in the attach aname (DECISIONS D3).
		return nil, linux.ENOENT
	case tTattach:
		return p.judgeAttach(tag, &r)
	case tTflush:
		if r.take(2); r.bad {
			return nil, linux.EINVAL
		}
		return frame, 0
	case tTwalk:
		return p.judgeWalk(frame, &r)
	case tTclunk, tTremove:
		return p.judgeClunk(frame, typ, tag, &r)
	case tTxattrwalk:
		return p.judgeXattrwalk(&r)
	case tTsetattr:
		return p.judgeSetattr(frame, &r)
	case tTread, tTreaddir:
		return p.judgeRead(frame, &r)
	case tTlopen, tTgetattr, tTstatfs, tTfsync, tTreadlink, tTwrite:
		if e := p.useFid(&r, r.u32()); e != 0 {
			return nil, e
		}
		return frame, 0
	case tTxattrcreat, tTlock, tTgetlock:
		return nil, linux.EOPNOTSUPP
	case tTlcreate, tTsymlink, tTmknod, tTrename, tTlink, tTmkdir, tTrenameat, tTunlinkat:
		return nil, linux.EPERM
	default:
		// R-messages, 9P2000(.u)-only and private extensions.
		return nil, linux.EOPNOTSUPP
	}
}

// useFid checks a request that acts on an existing fid once its fields are
// read: EINVAL if the frame was too short for them, else operand's verdict.
func (p *Policy) useFid(r *reader, fid uint32) linux.Errno {
	if r.bad {
		return linux.EINVAL
	}
	return p.operand(fid)
}

// judgeVersion rewrites a Tversion: msize capped at the limit, and plain
// 9P2000.L for any ".Google.N" extension so the server never offers its
// private message types.
func (p *Policy) judgeVersion(tag uint16, r *reader) ([]byte, linux.Errno) {
	msize := r.u32()
	version := r.str()
	if r.bad {
		return nil, linux.EINVAL
	}
	if strings.HasPrefix(version, "9P2000.L") {
		version = "9P2000.L"
	}
	w := newFrame(tTversion, tag)
	w.u32(min(msize, p.lim.Msize))
	w.str(version)
	return w.finish(), 0
}

// judgeClunk retires the fid of a Tclunk or Tremove. Remove is refused,
// but 9P clunks the fid even when remove fails: it is forwarded as a
// clunk whose reply is answered with EPERM.
func (p *Policy) judgeClunk(frame []byte, typ byte, tag uint16, r *reader) ([]byte, linux.Errno) {
	fid := r.u32()
	if e := p.useFid(r, fid); e != 0 {
		return nil, e
	}
	if _, ok := p.live[fid]; ok {
		// Only a fid the server held is remembered as retired, so
		// clunks of made-up fids cannot grow the set.
		delete(p.live, fid)
		p.clunked.add(fid)
	}
	if typ == tTremove {
		p.remap[tag] = linux.EPERM
		frame[4] = tTclunk
	}
	return frame, 0
}

// judgeXattrwalk answers a Txattrwalk itself: there are no extended
// attributes (ENODATA), and listing them is not supported.
func (p *Policy) judgeXattrwalk(r *reader) ([]byte, linux.Errno) {
	fid := r.u32()
	r.u32() // newfid: never created
	name := r.str()
	if e := p.useFid(r, fid); e != 0 {
		return nil, e
	}
	if name == "" {
		return nil, linux.EOPNOTSUPP
	}
	return nil, linux.ENODATA
}

// judgeSetattr allows only the truncate a shell's "echo x > file" sends:
// size, with the time stamps the kernel adds. The file decides the rest.
func (p *Policy) judgeSetattr(frame []byte, r *reader) ([]byte, linux.Errno) {
	fid := r.u32()
	valid := r.u32()
	if e := p.useFid(r, fid); e != 0 {
		return nil, e
	}
	const size, times = 0x08, 0x10 | 0x20 | 0x40
	if valid&size == 0 || valid&^(size|times) != 0 {
		return nil, linux.EPERM
	}
	return frame, 0
}

// judgeRead clamps a Tread or Treaddir count so the reply fits the
// negotiated msize.
func (p *Policy) judgeRead(frame []byte, r *reader) ([]byte, linux.Errno) {
	fid := r.u32()
	r.take(8)
	count := r.take(4)
	if e := p.useFid(r, fid); e != 0 {
		return nil, e
	}
	if max := p.msize - ioHeader; le.Uint32(count) > max {
		le.PutUint32(count, max)
	}
	return frame, 0
}

// judgeAttach checks a Tattach: its fid must be free and within the cap,
// and Authorize must accept the ticket. p.mu is held.
func (p *Policy) judgeAttach(tag uint16, r *reader) ([]byte, linux.Errno) {
	fid := r.u32()
	afid := r.u32()
	uname := r.str()
	aname := r.str()
	uid := r.u32()
	if r.bad {
		return nil, linux.EINVAL
	}
	if e := p.checkNew(fid); e != 0 {
		return nil, e
	}
	if p.Authorize != nil {
		// Authorize may audit through the queen; do not hold the lock.
		// Only this reader introduces fids, so checkNew still holds.
		p.mu.Unlock()
		err := p.Authorize(uname, aname)
		p.mu.Lock()
		if err != nil {
			return nil, Errno(err)
		}
	}
	p.introduce(fid)
	// The ticket is not a path: the server attaches at the root.
	w := newFrame(tTattach, tag)
	w.u32(fid)
	w.u32(afid)
	w.str(uname)
	w.str("")
	w.u32(uid)
	return w.finish(), 0
}

// judgeWalk checks a Twalk: its names, its fid, and its newfid (free and
// within the cap unless it walks the fid in place). p.mu is held.
func (p *Policy) judgeWalk(frame []byte, r *reader) ([]byte, linux.Errno) {
	fid := r.u32()
	newfid := r.u32()
	n := r.u16()
	if r.bad {
		return nil, linux.EINVAL
	}
	if int(n) > p.lim.WalkDepth {
		return nil, linux.EINVAL
	}
	for range n {
		name := r.str()
		if !r.bad && auditline.HasControl(name) { // before any other rule (P41)
			p.invalidName(name)
			return nil, linux.EINVAL
		}
		if r.bad || !p.validName(name) {
			return nil, linux.EINVAL
		}
	}
	if e := p.operand(fid); e != 0 {
		return nil, e
	}
	if newfid != fid {
		if e := p.checkNew(newfid); e != 0 {
			return nil, e
		}
		p.introduce(newfid)
	}
	return frame, 0
}

// validName reports whether a walk name is allowed.
func (p *Policy) validName(name string) bool {
	return ns.ValidName(name, p.lim.ComponentMax) && !strings.Contains(name, "/") // NUL is a control character, refused first
}

// invalidName reports a refused walk name to OnInvalidName with p.mu
// released, as judge does for Authorize.
func (p *Policy) invalidName(name string) {
	if p.OnInvalidName == nil {
		return
	}
	p.mu.Unlock()
	defer p.mu.Lock()
	p.OnInvalidName(name)
}

// operand checks a fid used as an existing fid: a clunked one is refused.
func (p *Policy) operand(fid uint32) linux.Errno {
	if p.clunked.has(fid) {
		return linux.EINVAL // "fid <n> was clunked"
	}
	return 0
}

// checkNew checks a fid named as a new fid (attach, walk newfid). 9P2000
// makes a new fid already in use an error (spec secure9p §6: Busy, "fid
// <n> already in use"); hugelgupf/p9 would silently replace it. The cap
// counts fids held and fids being made.
func (p *Policy) checkNew(fid uint32) linux.Errno {
	if _, ok := p.live[fid]; ok {
		return linux.EBUSY // "fid <n> already in use"
	}
	if _, ok := p.making[fid]; ok {
		return linux.EBUSY
	}
	if p.clunked.has(fid) && p.lim.StrictFids {
		return linux.EINVAL // "fid <n> was clunked"
	}
	if len(p.live)+len(p.making) >= p.lim.Fids {
		return linux.EMFILE
	}
	return 0
}

// introduce counts fid as being made by a request about to be forwarded;
// a retired fid named again is live again (DECISIONS P1).
func (p *Policy) introduce(fid uint32) {
	p.clunked.remove(fid)
	p.making[fid] = struct{}{}
}

// made settles a new fid once its Tattach or Twalk is answered: held by
// the server if ok, else never made.
func (p *Policy) made(fid uint32, ok bool) {
	if _, pending := p.making[fid]; !pending {
		return
	}
	delete(p.making, fid)
	if ok {
		p.live[fid] = struct{}{}
	}
}

// retired is the set of fids retired by clunk, bounded to the newest max
// so a client cycling through fids cannot grow it without end. A fid
// forgotten here is unknown to the server too, which refuses it (EBADF).
type retired struct {
	set   map[uint32]struct{}
	order []uint32 // insertion order, oldest first
	max   int
}

func newRetired(max int) retired {
	return retired{set: make(map[uint32]struct{}), max: max}
}

func (r *retired) has(fid uint32) bool { _, ok := r.set[fid]; return ok }

func (r *retired) add(fid uint32) {
	if r.has(fid) || r.max <= 0 {
		return
	}
	if len(r.order) >= r.max {
		// Drop the oldest; compact so the slice's array stays bounded.
		delete(r.set, r.order[0])
		r.order = append(r.order[:0], r.order[1:]...)
	}
	r.set[fid] = struct{}{}
	r.order = append(r.order, fid)
}

func (r *retired) remove(fid uint32) {
	if !r.has(fid) {
		return
	}
	delete(r.set, fid)
	if i := slices.Index(r.order, fid); i >= 0 {
		r.order = slices.Delete(r.order, i, i+1)
	}
}

// Fids is the number of fids held or being made on the connection.
func (p *Policy) Fids() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.live) + len(p.making)
}

// Outbound tracks one reply frame from the 9P server and returns the frame
// to send: the reply itself, or an Rlerror that replaces it. Call it just
// before the frame is written, so a tag is free again no later than the
// client can see the reply.
func (p *Policy) Outbound(frame []byte) []byte {
	if len(frame) < headerLen {
		return frame
	}
	typ := frame[4]
	tag := le.Uint16(frame[5:])
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.tags[tag]; !ok {
		// The server answers each forwarded request under its tag, in
		// flight until then. A reply under another tag is hugelgupf/p9's
		// Rlerror, under NOTAG, for a request it could not decode; it
		// forgets that request, which will never be answered, and a
		// request waiting on it would wait forever.
		p.end()
		p.releaseWrites()
	}
	delete(p.tags, tag)
	p.answered(frame, typ, tag)
	if e, ok := p.remap[tag]; ok {
		delete(p.remap, tag)
		if typ == tRclunk {
			return rlerror(tag, e)
		}
	}
	if typ == tRversion {
		r := reader{b: frame[headerLen:]}
		msize := r.u32()
		version := r.str()
		if !r.bad && version != "unknown" && msize >= 2*headerLen+ioHeader {
			p.msize = min(msize, p.lim.Msize)
			p.versioned = true
		}
	}
	return frame
}

// End marks the connection as ending: a reply could not be written, or
// the connection is being closed. Await then gives up instead of waiting
// for replies that may never come. Outbound still settles the replies
// that follow.
func (p *Policy) End() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.end()
}

func (p *Policy) end() {
	p.ended = true
	p.answer.Broadcast()
}

// Ended reports whether End was called or a forwarded request was lost:
// the connection must be closed.
func (p *Policy) Ended() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ended
}
