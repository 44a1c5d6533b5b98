package nineclient

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hugelgupf/p9/linux"
	"github.com/hugelgupf/p9/p9"

	"github.com/cohesix/cohesix/generated"
)

// Pipeline is a Secure9P session for bulk transfer: it puts a whole
// exchange on the wire at once (a walk, the open of the walked fid, the
// reads or writes, the clunk) and then collects the replies by tag, so a
// telemetry segment costs one round trip instead of one per request.
//
// hugelgupf/p9's client cannot do this: it sends one request per call and
// hands out a walked fid only once the walk is answered. Secure9P keeps
// the order of dependent requests on a connection (DECISIONS P29), which
// is what makes the batches correct. The codec here is the handful of
// 9P2000.L messages bulk transfer needs; Client stays on hugelgupf/p9 for
// everything else.
//
// One exchange runs at a time; a Pipeline is safe for concurrent use.
type Pipeline struct {
	mu    sync.Mutex
	nc    net.Conn
	br    *bufio.Reader
	msize uint32
	free  []uint32 // fids clunked and answered
	done  []uint32 // fids to clunk at the start of the next exchange
	next  uint32   // next fid never used
	out   []byte   // requests of the exchange being built
	in    []byte   // one reply
	dir   []byte   // one Rreaddir's entries (ReadDirFiles)
}

// 9P2000.L message types a Pipeline sends and the replies it reads.
const (
	msgRlerror  = 7
	msgTlopen   = 12
	msgTgetattr = 24
	msgTversion = 100
	msgTattach  = 104
	msgTread    = 116
	msgTclunk   = 120
	msgTwalk    = 110
	msgTwrite   = 118
	getattrSize = 0x200 // Tgetattr request_mask: the size
	noTag       = 0xFFFF
	noFid       = 0xFFFFFFFF
	rootFid     = 0
)

// Frame overheads: a Twrite's fields before its data, an Rread's before
// its data.
const (
	twriteHeader = 7 + 4 + 8 + 4
	rreadHeader  = 7 + 4
)

// maxBatch is the most requests one exchange puts in flight: Secure9P's
// tag window, beyond which it answers EBUSY.
const maxBatch = generated.Secure9pTagsPerSession

// DialPipeline opens a Pipeline session to addr with ticket tok.
func DialPipeline(addr, tok string, timeout time.Duration) (*Pipeline, error) {
	return DialPipelineAs(addr, tok, "", timeout)
}

// DialPipelineAs is DialPipeline with a Tattach uname (see DialAs).
func DialPipelineAs(addr, tok, uname string, timeout time.Duration) (*Pipeline, error) {
	if len(uname) > maxUname {
		return nil, fmt.Errorf("9p attach: uname of %d bytes is too long", len(uname))
	}
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	p := &Pipeline{nc: nc, br: bufio.NewReaderSize(nc, generated.Secure9pMsize), msize: generated.Secure9pMsize, next: rootFid + 1}
	if err := p.handshake(tok, uname, timeout); err != nil {
		nc.Close()
		return nil, err
	}
	return p, nil
}

func (p *Pipeline) handshake(tok, uname string, timeout time.Duration) error {
	p.nc.SetDeadline(time.Now().Add(timeout))
	defer p.nc.SetDeadline(time.Time{})
	b := p.batch()
	v := b.add(msgTversion)
	b.u32(p.msize)
	b.str("9P2000.L")
	if err := b.run(); err != nil {
		return fmt.Errorf("9p version: %w", err)
	}
	if v.err != nil {
		return fmt.Errorf("9p version: %w", v.err)
	}
	if v.n < 512 {
		return fmt.Errorf("9p version: the server offers msize %d", v.n)
	}
	p.msize = min(p.msize, uint32(v.n))
	b = p.batch()
	a := b.add(msgTattach)
	b.u32(rootFid)
	b.u32(noFid)
	b.str(uname)
	b.str(tok)
	b.u32(noFid) // n_uname: none
	if err := b.run(); err != nil || a.err != nil {
		return fmt.Errorf("9p attach: %w", firstErr(err, a.err))
	}
	return nil
}

// Close ends the session.
func (p *Pipeline) Close() error { return p.nc.Close() }

// fid returns a fid for a walk; put it back once its clunk is answered.
func (p *Pipeline) fid() uint32 {
	if n := len(p.free); n > 0 {
		f := p.free[n-1]
		p.free = p.free[:n-1]
		return f
	}
	p.next++
	return p.next - 1
}

// call is one request of an exchange and, once run, its reply.
type call struct {
	typ  byte
	err  error
	want int // Twalk: names to walk; Tread: bytes asked; Twrite: bytes sent
	dst  []byte
	n    int    // Rversion: msize; Rread: bytes copied to dst; Rwrite: count
	size uint64 // Rgetattr: the file's size

	answered bool
}

// batch builds one exchange.
type batch struct {
	p       *Pipeline
	calls   []*call
	start   int      // offset of the request being built in p.out
	freeing []uint32 // fids this exchange clunks for earlier ones
}

// batch starts an exchange. It begins with the clunks of the fids earlier
// exchanges finished with: nothing waits for those replies, so they cost
// no round trip of their own.
func (p *Pipeline) batch() *batch {
	p.out = p.out[:0]
	b := &batch{p: p, freeing: p.done}
	p.done = nil
	for _, fid := range b.freeing {
		b.clunk(fid)
	}
	return b
}

// add starts a request of type typ; its fields follow with u32, str...
func (b *batch) add(typ byte) *call {
	b.finish()
	c := &call{typ: typ}
	tag := uint16(len(b.calls))
	if typ == msgTversion {
		tag = noTag
	}
	b.calls = append(b.calls, c)
	b.start = len(b.p.out)
	b.p.out = append(b.p.out, 0, 0, 0, 0, typ)
	b.p.out = binary.LittleEndian.AppendUint16(b.p.out, tag)
	return c
}

// finish writes the size of the request being built.
func (b *batch) finish() {
	if len(b.calls) > 0 {
		binary.LittleEndian.PutUint32(b.p.out[b.start:], uint32(len(b.p.out)-b.start))
	}
}

func (b *batch) u16(v uint16) { b.p.out = binary.LittleEndian.AppendUint16(b.p.out, v) }
func (b *batch) u32(v uint32) { b.p.out = binary.LittleEndian.AppendUint32(b.p.out, v) }
func (b *batch) u64(v uint64) { b.p.out = binary.LittleEndian.AppendUint64(b.p.out, v) }
func (b *batch) str(s string) {
	b.u16(uint16(len(s)))
	b.p.out = append(b.p.out, s...)
}

func (b *batch) walk(fid, newfid uint32, names []string) *call {
	c := b.add(msgTwalk)
	b.u32(fid)
	b.u32(newfid)
	b.u16(uint16(len(names)))
	for _, n := range names {
		b.str(n)
	}
	c.want = len(names)
	return c
}

func (b *batch) open(fid uint32, mode p9.OpenFlags) *call {
	c := b.add(msgTlopen)
	b.u32(fid)
	b.u32(uint32(mode))
	return c
}

func (b *batch) getattr(fid uint32) *call {
	c := b.add(msgTgetattr)
	b.u32(fid)
	b.u64(getattrSize)
	return c
}

// io starts a Tread or Twrite of n bytes at off.
func (b *batch) io(typ byte, fid uint32, off uint64, n int) *call {
	c := b.add(typ)
	b.u32(fid)
	b.u64(off)
	b.u32(uint32(n))
	c.want = n
	return c
}

// read asks for len(dst) bytes at off into dst.
func (b *batch) read(fid uint32, off uint64, dst []byte) *call {
	c := b.io(msgTread, fid, off, len(dst))
	c.dst = dst
	return c
}

func (b *batch) write(fid uint32, off uint64, data []byte) *call {
	c := b.io(msgTwrite, fid, off, len(data))
	b.p.out = append(b.p.out, data...)
	return c
}

func (b *batch) clunk(fid uint32) *call {
	c := b.add(msgTclunk)
	b.u32(fid)
	return c
}

// run sends the exchange in batches (SplitBatches: secure9p.batch_frames
// frames and msize bytes per write) and reads every reply. A reply's
// error is its call's err; the returned error is the connection's.
func (b *batch) run() error {
	b.finish()
	if len(b.calls) == 0 {
		return nil
	}
	batches, err := SplitBatches(b.p.out, generated.Secure9pBatchFrames, b.p.msize)
	if err != nil {
		return err
	}
	for _, w := range batches {
		if _, err := b.p.nc.Write(w); err != nil {
			return err
		}
	}
	for range b.calls {
		if err := b.p.reply(b.calls); err != nil {
			return err
		}
	}
	// A clunked fid is free once answered, whether or not it existed.
	b.p.free = append(b.p.free, b.freeing...)
	return nil
}

// reply reads one reply and files it with its call.
func (p *Pipeline) reply(calls []*call) error {
	var hdr [7]byte
	if _, err := io.ReadFull(p.br, hdr[:]); err != nil {
		return err
	}
	size := binary.LittleEndian.Uint32(hdr[:])
	if size < 7 || size > p.msize {
		return fmt.Errorf("9p: reply of %d bytes", size)
	}
	if cap(p.in) < int(size) {
		p.in = make([]byte, p.msize)
	}
	body := p.in[:size-7]
	if _, err := io.ReadFull(p.br, body); err != nil {
		return err
	}
	typ, tag := hdr[4], binary.LittleEndian.Uint16(hdr[5:])
	i := int(tag)
	if tag == noTag {
		i = 0
	}
	if i >= len(calls) {
		return fmt.Errorf("9p: reply for unknown tag %d", tag)
	}
	c := calls[i]
	if c.answered {
		return fmt.Errorf("9p: a second reply for tag %d", tag)
	}
	c.answered = true
	switch {
	case typ == msgRlerror && len(body) >= 4:
		c.err = linux.Errno(binary.LittleEndian.Uint32(body))
	case typ != c.typ+1:
		c.err = fmt.Errorf("9p: reply type %d to request type %d", typ, c.typ)
	default:
		c.err = c.decode(body)
	}
	return nil
}

// decode checks a reply body against what its request asked.
func (c *call) decode(body []byte) error {
	switch c.typ {
	case msgTversion:
		if len(body) < 4 {
			return io.ErrUnexpectedEOF
		}
		c.n = int(binary.LittleEndian.Uint32(body))
	case msgTwalk:
		if len(body) < 2 || int(binary.LittleEndian.Uint16(body)) != c.want {
			return linux.ENOENT
		}
	case msgTread, msgTreaddir:
		if len(body) < 4 {
			return io.ErrUnexpectedEOF
		}
		n := int(binary.LittleEndian.Uint32(body))
		if n > c.want || len(body) < 4+n {
			return fmt.Errorf("9p: Rread of %d bytes for %d asked", n, c.want)
		}
		c.n = copy(c.dst, body[4:4+n])
	case msgTwrite:
		if len(body) < 4 {
			return io.ErrUnexpectedEOF
		}
		c.n = int(binary.LittleEndian.Uint32(body))
	case msgTgetattr:
		// valid[8] qid[13] mode[4] uid[4] gid[4] nlink[8] rdev[8] size[8]
		if len(body) < 57 {
			return io.ErrUnexpectedEOF
		}
		c.size = binary.LittleEndian.Uint64(body[49:])
	}
	return nil
}

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// readMax is the most one Tread returns at the negotiated msize.
func (p *Pipeline) readMax() int { return int(p.msize) - rreadHeader }

// ReadFile reads path from off: at most n bytes, fewer if the file ends
// first. It also returns the file's size as the exchange saw it before
// reading. A segment (at most max_bytes_per_segment) is one round trip:
// walk, open, getattr, the reads, clunk.
func (p *Pipeline) ReadFile(path string, off int64, n int) ([]byte, uint64, error) {
	return p.ReadFileInto(path, off, make([]byte, n))
}

// ReadFileInto is ReadFile reading at most len(out) bytes into out, so a
// caller serving many reads can reuse one buffer. The bytes returned are
// out's prefix.
func (p *Pipeline) ReadFileInto(path string, off int64, out []byte) ([]byte, uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.readFileInto(path, off, out)
}

func (p *Pipeline) readFileInto(path string, off int64, out []byte) ([]byte, uint64, error) {
	fid := p.fid()
	defer p.release(fid)
	n := len(out)
	b := p.batch()
	walk, open, attr := b.walk(rootFid, fid, Split(path)), b.open(fid, p9.ReadOnly), b.getattr(fid)
	got, lo := 0, 0
	for {
		var reads []*call
		for lo < n && len(b.calls) < maxBatch {
			hi := min(lo+p.readMax(), n)
			reads = append(reads, b.read(fid, uint64(off)+uint64(lo), out[lo:hi]))
			lo = hi
		}
		if err := b.run(); err != nil {
			return nil, 0, err
		}
		if err := firstErr(walk.err, open.err, attr.err); err != nil {
			return nil, 0, err
		}
		short := false
		for _, r := range reads {
			if r.err != nil {
				return nil, 0, r.err
			}
			if !short {
				got += r.n
				short = r.n < r.want
			}
		}
		if lo >= n || short {
			return out[:got], attr.size, nil
		}
		walk, open = &call{}, &call{}
		b = p.batch()
	}
}

// Append writes each record as one Twrite to path from offset off (-1:
// the file's size, asked first), in order, and returns the bytes written.
// The walk, the open, the records and the clunk go out together, in
// exchanges of at most maxBatch requests; Secure9P applies the writes in
// arrival order (P29). The first refusal ends the append: the records
// sent after it fail the offset check and change nothing.
func (p *Pipeline) Append(path string, off int64, records ...[]byte) (int, error) {
	if err := p.checkRecords(path, records); err != nil {
		return 0, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.appendLocked(path, off, records, nil)
}

// checkRecords refuses records that are not one Twrite each.
func (p *Pipeline) checkRecords(path string, records [][]byte) error {
	for _, r := range records {
		if len(r) == 0 || len(r) > int(p.msize)-twriteHeader {
			return fmt.Errorf("%s: a record of %d bytes is not one Twrite (1..%d)", path, len(r), int(p.msize)-twriteHeader)
		}
	}
	return nil
}

// appendLocked is Append with p.mu held. extra, if not nil, adds up to
// extraRoom requests to the exchange that carries the last records.
func (p *Pipeline) appendLocked(path string, off int64, records [][]byte, extra func(*batch)) (int, error) {
	room := maxBatch
	if extra != nil {
		room -= extraRoom
	}
	fid := p.fid()
	defer p.release(fid)
	b := p.batch()
	walk, open := b.walk(rootFid, fid, Split(path)), b.open(fid, p9.WriteOnly)
	if off < 0 {
		attr := b.getattr(fid)
		if err := b.run(); err != nil {
			return 0, err
		}
		if err := firstErr(walk.err, open.err, attr.err); err != nil {
			return 0, err
		}
		off = int64(attr.size)
		walk, open = &call{}, &call{}
		b = p.batch()
	}
	total := 0
	for {
		var writes []*call
		for len(records) > 0 && len(b.calls) < room {
			writes = append(writes, b.write(fid, uint64(off), records[0]))
			off += int64(len(records[0]))
			records = records[1:]
		}
		if len(records) == 0 && extra != nil {
			extra(b)
		}
		if err := b.run(); err != nil {
			return total, err
		}
		if err := firstErr(walk.err, open.err); err != nil {
			return 0, err
		}
		for _, w := range writes {
			err := w.err
			if err == nil && w.n != w.want {
				err = fmt.Errorf("short write %d of %d", w.n, w.want)
			}
			if err != nil {
				return total, err
			}
			total += w.n
		}
		if len(records) == 0 {
			return total, nil
		}
		walk, open = &call{}, &call{}
		b = p.batch()
	}
}

// release hands fid back: it is clunked at the start of the next exchange
// and free once that is answered.
func (p *Pipeline) release(fid uint32) { p.done = append(p.done, fid) }

// Ingest is a device's telemetry ingest on a Pipeline: ctl (for writing)
// and latest (for reading) stay open, so a new segment is one round trip.
type Ingest struct {
	p           *Pipeline
	base        string
	ctl, latest uint32
	buf         []byte
}

// Ingest opens dev's ctl and latest under root.
func (p *Pipeline) Ingest(root, dev string) (*Ingest, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	in := &Ingest{p: p, base: root + "/" + dev, ctl: p.fid(), latest: p.fid(), buf: make([]byte, 2*generated.Secure9pWalkComponentMaxBytes)}
	b := p.batch()
	calls := []*call{
		b.walk(rootFid, in.ctl, Split(in.base+"/ctl")), b.open(in.ctl, p9.WriteOnly),
		b.walk(rootFid, in.latest, Split(in.base+"/latest")), b.open(in.latest, p9.ReadOnly),
	}
	if err := b.run(); err != nil {
		return nil, err
	}
	if err := firstErr(calls[0].err, calls[1].err, calls[2].err, calls[3].err); err != nil {
		p.release(in.ctl)
		p.release(in.latest)
		return nil, err
	}
	return in, nil
}

// NewSegment asks ctl for a new segment of mime and returns its OS-chosen
// id, read back from latest in the same exchange (Secure9P answers the
// read after the ctl write, P29).
func (in *Ingest) NewSegment(mime string) (string, error) {
	in.p.mu.Lock()
	defer in.p.mu.Unlock()
	b := in.p.batch()
	id := in.askSegment(b, mime)
	if err := b.run(); err != nil {
		return "", err
	}
	return id()
}

// extraRoom is what askSegment adds to an exchange.
const extraRoom = 2

// askSegment adds the ctl line for a new segment of mime and the read of
// latest to b; once b has run, id returns the new segment's id.
func (in *Ingest) askSegment(b *batch, mime string) (id func() (string, error)) {
	w := b.write(in.ctl, 0, []byte(`{"new":"segment","mime":"`+mime+`"}`+"\n"))
	r := b.read(in.latest, 0, in.buf)
	return func() (string, error) {
		if err := firstErr(w.err, r.err); err != nil {
			return "", err
		}
		id := strings.TrimSpace(string(in.buf[:r.n]))
		if r.n == 0 || r.n == len(in.buf) || id == "" || in.buf[r.n-1] != '\n' {
			return "", fmt.Errorf("%s/latest: no segment id", in.base)
		}
		return id, nil
	}
}

// Segment is one segment's records for Push, and their mime. A record
// without a trailing newline gets one, as the hive would add it.
type Segment struct {
	Mime    string
	Records [][]byte
}

// Push writes each of segs into a new segment and returns the new ids and
// the bytes written. Every record is checked before anything is sent.
// The exchange carrying a segment's last records also asks for the next
// segment (see SegmentWriter), so a segment costs one round trip. The
// first refusal ends the push; the ids returned are the segments it made:
// the one refused holds the records before the refusal, and an empty one
// follows when its ctl line rode in the same exchange.
func (in *Ingest) Push(segs []Segment) ([]string, int, error) {
	segs = slices.Clone(segs)
	for i, g := range segs {
		segs[i].Records = lines(g.Records)
		if err := in.p.checkRecords(in.base+"/seg", segs[i].Records); err != nil {
			return nil, 0, err
		}
	}
	if len(segs) == 0 {
		return nil, 0, nil
	}
	w, err := in.Segments(segs[0].Mime)
	if err != nil {
		return nil, 0, err
	}
	var ids []string
	total := 0
	for i, g := range segs {
		next := ""
		if i+1 < len(segs) {
			next = segs[i+1].Mime
		}
		made, n, err := w.Write(g.Records, next)
		ids = append(ids, made...)
		total += n
		if err != nil {
			return ids, total, err
		}
	}
	return ids, total, nil
}

// SegmentWriter writes a run of new segments one at a time, so a caller
// that streams them holds only the one it writes. Each Write fills the
// segment asked for before and, in the exchange carrying its last
// records, asks for the next: a segment costs one round trip. The new
// segment cannot evict the one still being written, because eviction
// takes the oldest and a device holds at least two segments
// (max_segments_per_device; with one, each segment is asked for after the
// one before is written). The Pipeline is free between Writes.
type SegmentWriter struct {
	in   *Ingest
	next func() (string, error) // the id of the segment asked for; nil when none is
}

// Segments asks for the first segment of mime of a run (one round trip).
func (in *Ingest) Segments(mime string) (*SegmentWriter, error) {
	in.p.mu.Lock()
	defer in.p.mu.Unlock()
	b := in.p.batch()
	next := in.askSegment(b, mime)
	if err := b.run(); err != nil {
		return nil, err
	}
	return &SegmentWriter{in: in, next: next}, nil
}

// Write writes records into the segment asked for last and, unless
// nextMime is "", asks for the next segment, of nextMime. It returns the
// ids it made: the segment written and, when a refusal ends the exchange
// that also asked for the next one, that empty next segment.
func (w *SegmentWriter) Write(records [][]byte, nextMime string) (ids []string, n int, err error) {
	in := w.in
	records = lines(records)
	if err := in.p.checkRecords(in.base+"/seg", records); err != nil {
		return nil, 0, err
	}
	if w.next == nil {
		return nil, 0, fmt.Errorf("%s: no segment asked for", in.base)
	}
	in.p.mu.Lock()
	defer in.p.mu.Unlock()
	id, err := w.next()
	w.next = nil
	if err != nil {
		return nil, 0, err
	}
	ids = []string{id}
	merge := generated.TelemetryIngestMaxSegmentsPerDevice > 1
	var extra func(*batch)
	var next func() (string, error)
	if nextMime != "" && merge {
		extra = func(b *batch) { next = in.askSegment(b, nextMime) }
	}
	n, err = in.p.appendLocked(in.base+"/seg/"+id, 0, records, extra)
	if err != nil {
		if next != nil {
			if id, e := next(); e == nil {
				ids = append(ids, id) // made in the failed exchange, empty
			}
		}
		return ids, n, err
	}
	if nextMime != "" && !merge {
		b := in.p.batch()
		next = in.askSegment(b, nextMime)
		if err := b.run(); err != nil {
			return ids, n, err
		}
	}
	w.next = next
	return ids, n, nil
}

// Asked returns the id of the segment asked for and not yet written, if
// any: it stays empty when the caller's stream ends in an error between
// Writes, and the caller says so.
func (w *SegmentWriter) Asked() (string, bool) {
	if w.next == nil {
		return "", false
	}
	w.in.p.mu.Lock()
	defer w.in.p.mu.Unlock()
	id, err := w.next()
	return id, err == nil
}

// Append writes records to segment seg from offset off (its size before
// the records; 0 for a new segment), one Twrite each, in order.
func (in *Ingest) Append(seg string, off int64, records ...[]byte) (int, error) {
	return in.p.Append(in.base+"/seg/"+seg, off, lines(records)...)
}

// lines ends every record with the newline the hive would add, so the
// offsets of pipelined records are what the segment holds.
func lines(records [][]byte) [][]byte {
	var out [][]byte
	for i, r := range records {
		if len(r) > 0 && r[len(r)-1] != '\n' {
			if out == nil {
				out = slices.Clone(records)
			}
			out[i] = append(slices.Clip(r), '\n')
		}
	}
	if out == nil {
		return records
	}
	return out
}

// Close clunks ctl and latest.
func (in *Ingest) Close() error {
	in.p.mu.Lock()
	defer in.p.mu.Unlock()
	in.p.release(in.ctl)
	in.p.release(in.latest)
	return in.p.batch().run()
}

// msgTreaddir is 9P2000.L's Treaddir.
const msgTreaddir = 40

// ReadDir lists the names in directory path (without . and ..): the walk,
// the open and the first Treaddir go out as one exchange, so a listing
// that fits in one reply is one round trip (hugelgupf/p9's client takes
// one per request, and two Treaddirs to see the end).
func (p *Pipeline) ReadDir(path string) ([]string, error) {
	names, _, err := p.ReadDirFiles(path, nil, nil)
	return names, err
}

// direntMax is the most bytes one Rreaddir entry takes (qid, offset,
// type, a name of at most walk_component_max_bytes). Secure9P fills a
// Treaddir greedily (transport/secure9p file.Readdir), so a reply that
// leaves room for one more entry is the listing's end: no second
// Treaddir is needed to see an empty one.
const direntMax = 24 + generated.Secure9pWalkComponentMaxBytes

// listing is a directory being read: its requests and the names so far.
type listing struct {
	fid            uint32
	walk, open, rd *call
	buf            []byte
	off            uint64
	names          []string
}

// list starts reading dir in f's open exchange.
func (f *flat) list(dir string) (*listing, error) {
	if len(f.p.dir) != f.p.readMax() {
		f.p.dir = make([]byte, f.p.readMax())
	}
	l := &listing{fid: f.p.fid(), buf: f.p.dir}
	f.fids = append(f.fids, l.fid)
	var err error
	if l.walk, err = f.add(func(b *batch) *call { return b.walk(rootFid, l.fid, Split(dir)) }); err != nil {
		return nil, err
	}
	if l.open, err = f.add(func(b *batch) *call { return b.open(l.fid, p9.ReadOnly) }); err != nil {
		return nil, err
	}
	return l, l.next(f)
}

// next asks for the entries after those read so far.
func (l *listing) next(f *flat) (err error) {
	l.rd, err = f.add(func(b *batch) *call { return b.io(msgTreaddir, l.fid, l.off, len(l.buf)) })
	if err == nil {
		l.rd.dst = l.buf
	}
	return err
}

// finish takes the names of the exchanges run so far and reads on, one
// exchange at a time, until the listing ends.
func (l *listing) finish(f *flat) ([]string, error) {
	for {
		if err := firstErr(l.walk.err, l.open.err, l.rd.err); err != nil {
			return nil, err
		}
		if l.rd.n == 0 {
			return l.names, nil
		}
		var err error
		var longest int
		if l.names, l.off, longest, err = appendDirents(l.names, l.buf[:l.rd.n]); err != nil {
			return nil, err
		}
		if len(l.buf)-l.rd.n >= direntMax && longest <= generated.Secure9pWalkComponentMaxBytes {
			return l.names, nil
		}
		l.walk, l.open = &call{}, &call{}
		if err := l.next(f); err != nil {
			return nil, err
		}
		if err := f.flush(); err != nil {
			return nil, err
		}
	}
}

// appendDirents decodes Rreaddir entries (qid[13] offset[8] type[1]
// name[s]) onto names and returns the offset to read on from and the
// longest name's length (dot entries included).
func appendDirents(names []string, b []byte) (_ []string, off uint64, longest int, _ error) {
	for len(b) > 0 {
		if len(b) < 24 {
			return nil, 0, 0, io.ErrUnexpectedEOF
		}
		off = binary.LittleEndian.Uint64(b[13:])
		n := int(binary.LittleEndian.Uint16(b[22:]))
		if len(b) < 24+n {
			return nil, 0, 0, io.ErrUnexpectedEOF
		}
		longest = max(longest, n)
		if name := string(b[24 : 24+n]); name != "." && name != ".." {
			names = append(names, name)
		}
		b = b[24+n:]
	}
	return names, off, longest, nil
}

// FileRead is one file of ReadFiles: read Path from Off into Buf (at most
// len(Buf) bytes); ReadFiles fills in Data (Buf's prefix), Size (the
// file's size as the exchange saw it) and Err (this file's refusal).
type FileRead struct {
	Path string
	Off  int64
	Buf  []byte

	Data []byte
	Size uint64
	Err  error
}

// fileCalls is one file's requests in a ReadFiles exchange.
type fileCalls struct {
	walk, open, attr *call
	reads            []*call
}

// flat packs requests into exchanges of at most a tag window each: when
// the open exchange is full it is run and the next begins, so one file's
// requests may continue in the next exchange (its fid stays open between
// them). The fids are let go (clunked in the next exchange) only once
// every request has been answered.
type flat struct {
	p    *Pipeline
	b    *batch
	fids []uint32
}

func (p *Pipeline) flat() *flat { return &flat{p: p, b: p.batch()} }

// add puts one request in the open exchange, running it first if full.
func (f *flat) add(mk func(b *batch) *call) (*call, error) {
	if len(f.b.calls) >= maxBatch {
		if err := f.flush(); err != nil {
			return nil, err
		}
	}
	return mk(f.b), nil
}

// flush runs the open exchange and begins the next.
func (f *flat) flush() error {
	err := f.b.run()
	f.b = f.p.batch()
	return err
}

// done runs what is left and lets the fids go. After an error the
// exchange is not run again: the connection is in doubt, and the fids
// are clunked by the next exchange, if any.
func (f *flat) done(err error) error {
	if err == nil {
		err = f.b.run()
	}
	for _, fid := range f.fids {
		f.p.release(fid)
	}
	f.fids = nil
	return err
}

// read plans fr's walk, open, getattr and reads.
func (f *flat) read(fr FileRead) (c fileCalls, err error) {
	fid := f.p.fid()
	f.fids = append(f.fids, fid)
	if c.walk, err = f.add(func(b *batch) *call { return b.walk(rootFid, fid, Split(fr.Path)) }); err != nil {
		return c, err
	}
	if c.open, err = f.add(func(b *batch) *call { return b.open(fid, p9.ReadOnly) }); err != nil {
		return c, err
	}
	if c.attr, err = f.add(func(b *batch) *call { return b.getattr(fid) }); err != nil {
		return c, err
	}
	for lo := 0; lo < len(fr.Buf); {
		hi := min(lo+f.p.readMax(), len(fr.Buf))
		r, err := f.add(func(b *batch) *call { return b.read(fid, uint64(fr.Off)+uint64(lo), fr.Buf[lo:hi]) })
		if err != nil {
			return c, err
		}
		c.reads = append(c.reads, r)
		lo = hi
	}
	return c, nil
}

// reads plans files; a file needing more reads than an exchange holds is
// left to ReadFileInto (its reads stop at the first short one), its
// calls nil.
func (f *flat) reads(files []FileRead) ([]fileCalls, error) {
	fc := make([]fileCalls, len(files))
	for i, fr := range files {
		if f.p.bigRead(fr) {
			continue
		}
		var err error
		if fc[i], err = f.read(fr); err != nil {
			return nil, err
		}
	}
	return fc, nil
}

// bigRead reports whether fr needs more requests than one exchange holds
// beside a clunk of an earlier one.
func (p *Pipeline) bigRead(fr FileRead) bool {
	return 3+(len(fr.Buf)+p.readMax()-1)/p.readMax() > maxBatch-1
}

// fill files in fr's Data, Size and Err from its answered calls.
func (c fileCalls) fill(fr *FileRead) {
	if fr.Err = firstErr(c.walk.err, c.open.err, c.attr.err); fr.Err != nil {
		return
	}
	got := 0
	for _, r := range c.reads {
		if r.err != nil {
			fr.Err = r.err
			break
		}
		got += r.n
		if r.n < r.want {
			break
		}
	}
	fr.Data, fr.Size = fr.Buf[:got], c.attr.size
}

// ReadFiles reads several files in as few exchanges as the tag window
// allows (walk, open, getattr and the reads of each, one file's requests
// continuing in the next exchange when one fills), so a device's segments
// cost one or two round trips instead of one each. A file needing more
// reads than an exchange holds is read alone (ReadFileInto). The
// returned error is the connection's; each file's refusal is its Err.
func (p *Pipeline) ReadFiles(files []FileRead) error {
	_, _, err := p.ReadDirFiles("", files, nil)
	return err
}

// ReadDirFiles reads the files ahead and, when dir is not "", lists dir in
// the same first exchange; then more, given the listing, names further
// files to read (nil: none), packed after them. ahead are the files a
// caller expects in dir before it knows the listing (a cursor's
// segment): they cost no round trip of their own. Each file's refusal is
// its Err; the returned error is the listing's or the connection's.
func (p *Pipeline) ReadDirFiles(dir string, ahead []FileRead, more func(names []string) []FileRead) (names []string, rest []FileRead, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fl := p.flat()
	var ac, rc []fileCalls
	names, rest, ac, rc, err = fl.listAndRead(dir, ahead, more)
	if err = fl.done(err); err != nil {
		return nil, nil, err
	}
	fillAll(ahead, ac)
	fillAll(rest, rc)
	// Files too big for one exchange, read one at a time now that the
	// packed exchanges are done (they share the Pipeline's buffer).
	for _, files := range [][]FileRead{ahead, rest} {
		for i := range files {
			if f := &files[i]; p.bigRead(*f) {
				if f.Data, f.Size, f.Err = p.readFileInto(f.Path, f.Off, f.Buf); f.Err != nil && !isRefusal(f.Err) {
					return nil, nil, f.Err
				}
			}
		}
	}
	return names, rest, nil
}

// listAndRead plans ReadDirFiles' exchanges and runs all but the last.
func (f *flat) listAndRead(dir string, ahead []FileRead, more func(names []string) []FileRead) (names []string, rest []FileRead, ac, rc []fileCalls, err error) {
	var l *listing
	if dir != "" {
		if l, err = f.list(dir); err != nil {
			return
		}
	}
	if ac, err = f.reads(ahead); err != nil {
		return
	}
	if l != nil {
		if err = f.flush(); err != nil {
			return
		}
		if names, err = l.finish(f); err != nil {
			return
		}
	}
	if more != nil {
		rest = more(names)
		rc, err = f.reads(rest)
	}
	return
}

func fillAll(files []FileRead, fc []fileCalls) {
	for i := range fc {
		if fc[i].walk != nil {
			fc[i].fill(&files[i])
		}
	}
}

// isRefusal reports whether err is the hive's answer (an errno), not the
// connection's failure.
func isRefusal(err error) bool {
	var e linux.Errno
	return errors.As(err, &e)
}
