// Package nineclient is the host tools' Secure9P client: a thin layer over
// github.com/hugelgupf/p9 that attaches with a capability ticket (DECISIONS
// D3) and offers whole-path reads, bounded reads, appends, listings and
// stats. coh and gpu-bridge-host use it; it never bypasses the hive's
// policy, which the server enforces.
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

	"github.com/hugelgupf/p9/p9"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/ticket"
)

// Client is one attached Secure9P session. Safe for concurrent use.
type Client struct {
	nc    net.Conn
	bc    *bufConn
	c     *p9.Client
	root  p9.File
	mu    sync.Mutex
	slots chan struct{} // pipelined requests in flight (ReadSpan, Append)
}

// Dial connects to addr and attaches with tok (a cohesix-ticket-...).
func Dial(addr, tok string, timeout time.Duration) (*Client, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	bc := &bufConn{Conn: nc, r: bufio.NewReaderSize(nc, generated.Secure9pMsize),
		walks: map[*walkWatch]struct{}{}, writes: map[writeKey]chan struct{}{}}
	c, err := p9.NewClient(bc, p9.WithMessageSize(generated.Secure9pMsize))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("9p version: %w", err)
	}
	root, err := c.Attach(tok)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("9p attach: %w", err)
	}
	return &Client{nc: nc, bc: bc, c: c, root: root, slots: make(chan struct{}, pipelineSlots)}, nil
}

// bufConn saves system calls under hugelgupf/p9's client: it reads each
// reply as a 7-byte header and then its body (two read(2)s where one
// does), and hands each request over in two or three pieces, which only a
// bare *net.TCPConn would gather into one writev. Reads go through a
// buffer; writes are collected and sent a whole message at a time (the
// client sends under its own lock, one message after another).
type bufConn struct {
	net.Conn
	r *bufio.Reader
	w []byte // guarded by the p9 client's send lock

	mu     sync.Mutex
	walks  map[*walkWatch]struct{}
	writes map[writeKey]chan struct{}
}

// walkWatch learns the new fid of the next Twalk along names.
type walkWatch struct {
	names []string
	fid   uint32
	seen  bool
}

// writeKey names a Twrite on the wire: its fid and offset.
type writeKey struct {
	fid uint32
	off uint64
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *bufConn) Write(p []byte) (int, error) {
	c.w = append(c.w, p...)
	for len(c.w) >= 4 {
		size := int(binary.LittleEndian.Uint32(c.w))
		if size < 7 {
			return 0, fmt.Errorf("9p: malformed outgoing message size %d", size)
		}
		if len(c.w) < size {
			break
		}
		if _, err := c.Conn.Write(c.w[:size]); err != nil {
			return 0, err
		}
		c.sent(c.w[:size])
		c.w = c.w[:copy(c.w, c.w[size:])]
	}
	return len(p), nil
}

// Message types bufConn looks at.
const (
	msgTwalk  = 110
	msgTwrite = 118
)

// sent tells the watchers about a message now on the wire.
func (c *bufConn) sent(m []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case m[4] == msgTwalk && len(c.walks) > 0 && len(m) >= 17:
		newfid := binary.LittleEndian.Uint32(m[11:])
		n := int(binary.LittleEndian.Uint16(m[15:]))
		names, rest := make([]string, 0, n), m[17:]
		for range n {
			if len(rest) < 2 || len(rest) < 2+int(binary.LittleEndian.Uint16(rest)) {
				return
			}
			l := int(binary.LittleEndian.Uint16(rest))
			names, rest = append(names, string(rest[2:2+l])), rest[2+l:]
		}
		// Two watches of one path cannot tell their walks apart: then
		// neither learns a fid, and both appends go one record at a time.
		var match *walkWatch
		for w := range c.walks {
			if !w.seen && slices.Equal(w.names, names) {
				if match != nil {
					return
				}
				match = w
			}
		}
		if match != nil {
			match.fid, match.seen = newfid, true
		}
	case m[4] == msgTwrite && len(c.writes) > 0 && len(m) >= 19:
		k := writeKey{binary.LittleEndian.Uint32(m[7:]), binary.LittleEndian.Uint64(m[11:])}
		if ch, ok := c.writes[k]; ok {
			close(ch)
			delete(c.writes, k)
		}
	}
}

func (c *bufConn) watchWalk(names []string) *walkWatch {
	w := &walkWatch{names: names}
	c.mu.Lock()
	c.walks[w] = struct{}{}
	c.mu.Unlock()
	return w
}

// walked ends the watch and returns the fid the walk named, if seen.
func (c *bufConn) walked(w *walkWatch) (uint32, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.walks, w)
	return w.fid, w.seen
}

// watchWrite closes ch once a Twrite on fid at off is on the wire.
func (c *bufConn) watchWrite(fid uint32, off uint64, ch chan struct{}) {
	c.mu.Lock()
	c.writes[writeKey{fid, off}] = ch
	c.mu.Unlock()
}

func (c *bufConn) unwatchWrite(fid uint32, off uint64) {
	c.mu.Lock()
	delete(c.writes, writeKey{fid, off})
	c.mu.Unlock()
}

// readChunk is the most one Tread carries: hugelgupf/p9's client splits a
// read into pieces of roundDown(msize - its largest fixed header, 512)
// bytes, 7680 at msize 8192. Reads sized to it cost one round trip each;
// a buffer of msize-64 cost two (7680 + 448). Were the client's piece ever
// smaller, reads would still be right, only split again.
const readChunk = generated.Secure9pMsize/512*512 - 512

// readWindow is how many Treads ReadSpan keeps in flight on one fid.
const readWindow = 8

// pipelineSlots bounds the pipelined requests (ReadSpan's reads, Append's
// writes) in flight on one session, whatever the number of callers, to
// half of secure9p.tags_per_session: the rest is left for the callers'
// one-at-a-time requests, so the hive never answers EBUSY.
const pipelineSlots = generated.Secure9pTagsPerSession / 2

// MintQueen mints a queen ticket from the compiled manifest's secret
// (dev profiles only carry one; production refuses fixture secrets).
func MintQueen(now time.Time) (string, error) {
	return Mint(ticket.RoleQueen, "", now)
}

// Mint mints a ticket for role from the compiled manifest's secret.
func Mint(role ticket.Role, subject string, now time.Time) (string, error) {
	secret, ok := ticket.ManifestSecret(role)
	if !ok {
		return "", fmt.Errorf("no ticket secret for role %s in the manifest", role)
	}
	c := ticket.Claims{Role: role, Subject: subject, IssuedAtMs: uint64(now.UnixMilli())}
	if role == ticket.RoleWorkerGPU {
		ops, ttl := uint64(generated.QueenGpuDefaultOps), uint64(generated.QueenGpuDefaultTtlS)
		c.Ops, c.TTLs = &ops, &ttl
	}
	return ticket.Mint(c, secret)
}

// Close ends the session.
func (c *Client) Close() error { return c.c.Close() }

// Split turns an absolute path into walk components.
func Split(path string) []string {
	return strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
}

func (c *Client) walk(path string) (p9.File, error) {
	_, f, err := c.root.Walk(Split(path))
	return f, err
}

// Walk returns a fresh fid for path, unopened; the caller closes it.
// coh mount uses it to keep one fid per open FUSE handle.
func (c *Client) Walk(path string) (p9.File, error) { return c.walk(path) }

// Stat describes one path.
type Stat struct {
	Dir  bool
	Mode uint32
	Size uint64
}

// Stat returns the node's mode and size.
func (c *Client) Stat(path string) (Stat, error) {
	f, err := c.walk(path)
	if err != nil {
		return Stat{}, err
	}
	defer f.Close()
	_, _, a, err := f.GetAttr(p9.AttrMask{Mode: true, Size: true})
	if err != nil {
		return Stat{}, err
	}
	return Stat{Dir: a.Mode.IsDir(), Mode: uint32(a.Mode.Permissions()), Size: a.Size}, nil
}

// ReadFrom reads path from off to EOF, at most max bytes (0: unbounded).
func (c *Client) ReadFrom(path string, off int64, max int) ([]byte, error) {
	f, err := c.walk(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, _, err := f.Open(p9.ReadOnly); err != nil {
		return nil, err
	}
	var out []byte
	// Several chunks per call: the client issues them back to back and
	// stops at the first short one, so no Tread is split.
	buf := make([]byte, 4*readChunk)
	if max > 0 {
		buf = buf[:min(len(buf), (max/readChunk+1)*readChunk)]
	}
	for {
		n, err := f.ReadAt(buf, off+int64(len(out)))
		out = append(out, buf[:n]...)
		if max > 0 && len(out) > max {
			return nil, fmt.Errorf("%s exceeds %d bytes", path, max)
		}
		if errors.Is(err, io.EOF) || (err == nil && n == 0) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// File is one fid opened for reading.
type File struct {
	c *Client
	f p9.File
}

// OpenRead walks to path and opens it for reading.
func (c *Client) OpenRead(path string) (*File, error) {
	f, err := c.walk(path)
	if err != nil {
		return nil, err
	}
	if _, _, err := f.Open(p9.ReadOnly); err != nil {
		f.Close()
		return nil, err
	}
	return &File{c, f}, nil
}

// Size is the file's size now.
func (f *File) Size() (uint64, error) {
	_, _, a, err := f.f.GetAttr(p9.AttrMask{Size: true})
	return a.Size, err
}

// Close clunks the fid.
func (f *File) Close() error { return f.f.Close() }

// ReadSpan reads n bytes from off, or fewer if the file ends first,
// keeping up to readWindow Treads of readChunk bytes in flight on the fid.
// For a file whose size the caller knows (coh telemetry pull asks each
// segment's) the reads overlap and no trailing Tread is spent on EOF.
func (f *File) ReadSpan(off int64, n int) ([]byte, error) {
	out := make([]byte, n)
	chunks := (n + readChunk - 1) / readChunk
	type res struct {
		i, n int
		err  error
	}
	results := make(chan res, chunks)
	issue := func(i int) {
		lo := i * readChunk
		hi := min(lo+readChunk, n)
		f.c.slots <- struct{}{}
		go func() {
			k, err := f.f.ReadAt(out[lo:hi], off+int64(lo))
			<-f.c.slots
			results <- res{i, k, err}
		}()
	}
	next := 0
	for ; next < min(chunks, readWindow); next++ {
		issue(next)
	}
	got := make([]int, chunks)
	var firstErr error
	for range chunks {
		r := <-results
		if next < chunks {
			issue(next)
			next++
		}
		got[r.i] = r.n
		if r.err != nil && !errors.Is(r.err, io.EOF) && firstErr == nil {
			firstErr = r.err
		}
	}
	// What was read is every chunk up to the first short one.
	end := 0
	for i, k := range got {
		end += k
		if k < min(readChunk, n-i*readChunk) {
			break
		}
	}
	return out[:end], firstErr
}

// ReadSpan is File.ReadSpan on a fid opened for the call.
func (c *Client) ReadSpan(path string, off int64, n int) ([]byte, error) {
	f, err := c.OpenRead(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadSpan(off, n)
}

// Read reads a whole file, at most max bytes (0: unbounded).
func (c *Client) Read(path string, max int) ([]byte, error) { return c.ReadFrom(path, 0, max) }

// Append writes each record as one Twrite at offset off (-1: the file's
// current end as Stat reports it, for offset-checked files). Several
// records are pipelined: up to pipelineSlots Twrites in flight, each put on
// the wire only after the one before it, at consecutive offsets; Secure9P
// applies explicit-offset writes on a connection in arrival order
// (DECISIONS P29), so the records land as if written one by one. The
// first refusal ends the append; the records after it, already sent, are
// refused by the offset check and change nothing.
func (c *Client) Append(path string, off int64, records ...[]byte) (int, error) {
	w := c.bc.watchWalk(Split(path))
	f, err := c.walk(path)
	id, known := c.bc.walked(w)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if _, _, err := f.Open(p9.WriteOnly); err != nil {
		return 0, err
	}
	if off < 0 {
		_, _, a, err := f.GetAttr(p9.AttrMask{Size: true})
		if err != nil {
			return 0, err
		}
		off = int64(a.Size)
	}
	pipeline := len(records) > 1
	for _, r := range records {
		if len(r) == 0 || len(r) > readChunk {
			pipeline = false // one record, one Twrite: no chunking
		}
	}
	if !pipeline {
		total := 0
		for _, r := range records {
			n, err := f.WriteAt(r, off)
			total += n
			if err != nil {
				return total, err
			}
			off += int64(n)
			if n < len(r) {
				return total, fmt.Errorf("short write %d of %d", n, len(r))
			}
		}
		return total, nil
	}
	type res struct {
		n   int
		err error
	}
	results := make([]chan res, len(records))
	for i, r := range records {
		c.slots <- struct{}{}
		results[i] = make(chan res, 1)
		sent := make(chan struct{})
		if known {
			c.bc.watchWrite(id, uint64(off), sent)
		}
		go func() {
			n, err := f.WriteAt(r, off)
			<-c.slots
			results[i] <- res{n, err}
		}()
		// The next record goes on the wire after this one: once the
		// connection has written it, or at worst once it is answered.
		select {
		case <-sent:
		case r := <-results[i]:
			results[i] <- r
		}
		if known {
			c.bc.unwatchWrite(id, uint64(off))
		}
		off += int64(len(r))
	}
	total := 0
	var first error
	for i, r := range records {
		x := <-results[i]
		if first != nil {
			continue
		}
		total += x.n
		switch {
		case x.err != nil:
			first = x.err
		case x.n < len(r):
			first = fmt.Errorf("short write %d of %d", x.n, len(r))
		}
	}
	return total, first
}

// List returns a directory's entry names in the server's order.
func (c *Client) List(path string) ([]string, error) {
	f, err := c.walk(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, _, err := f.Open(p9.ReadOnly); err != nil {
		return nil, err
	}
	var names []string
	off := uint64(0)
	for {
		ents, err := f.Readdir(off, uint32(generated.Secure9pMsize-64))
		if err != nil {
			return names, err
		}
		if len(ents) == 0 {
			return names, nil
		}
		for _, e := range ents {
			names = append(names, e.Name)
			off = e.Offset
		}
	}
}

// Ingest writes telemetry segments for one device under root (normally
// /queen/telemetry) over the session: the 9P path of cohsh telemetry push.
// ctl and latest stay open across segments, so a new segment costs the
// ctl write and one read of latest instead of a walk, open, two reads and
// a clunk each time.
type Ingest struct {
	c           *Client
	base        string
	ctl, latest p9.File
	buf         []byte
}

// Ingest opens dev's ctl (for writing) and latest (for reading).
func (c *Client) Ingest(root, dev string) (*Ingest, error) {
	in := &Ingest{c: c, base: root + "/" + dev, buf: make([]byte, readChunk)}
	open := func(name string, mode p9.OpenFlags) (p9.File, error) {
		f, err := c.walk(in.base + "/" + name)
		if err != nil {
			return nil, err
		}
		if _, _, err := f.Open(mode); err != nil {
			f.Close()
			return nil, err
		}
		return f, nil
	}
	var err error
	if in.ctl, err = open("ctl", p9.WriteOnly); err != nil {
		return nil, err
	}
	if in.latest, err = open("latest", p9.ReadOnly); err != nil {
		in.ctl.Close()
		return nil, err
	}
	return in, nil
}

// NewSegment asks ctl for a new segment of mime and returns its OS-chosen
// id, read back from latest (rendered afresh on every read).
func (in *Ingest) NewSegment(mime string) (string, error) {
	line := []byte(`{"new":"segment","mime":"` + mime + `"}` + "\n")
	if _, err := in.ctl.WriteAt(line, 0); err != nil {
		return "", err
	}
	n, err := in.latest.ReadAt(in.buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	id := strings.TrimSpace(string(in.buf[:n]))
	if n == len(in.buf) || id == "" || in.buf[n-1] != '\n' {
		return "", fmt.Errorf("%s/latest: no segment id", in.base)
	}
	return id, nil
}

// Append writes records to segment seg from offset off (its size before
// the records; 0 for a new segment), one Twrite each, in order.
func (in *Ingest) Append(seg string, off int64, records ...[]byte) (int, error) {
	return in.c.Append(in.base+"/seg/"+seg, off, records...)
}

// Close clunks ctl and latest.
func (in *Ingest) Close() error {
	in.latest.Close()
	return in.ctl.Close()
}
