package casfs

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/queen"
)

// chunkFile is /updates/<epoch>/chunks/<sha256>: after the epoch's manifest
// is accepted, appends accumulate until the chunk's size; the bytes must
// then hash to the name, or the partial is quarantined.
type chunkFile struct {
	ns.NotDir
	e    epoch
	name string
}

func (c chunkFile) key() string { return "chunk/" + c.e.name + "/" + c.name }

func (c chunkFile) Stat() (ns.Stat, error) {
	if n, ok := c.e.f.cfg.Store.Has(c.name); ok {
		// Still writable: re-sending the same bytes is an idempotent
		// success (spec gpu-telemetry §8); rewrite refuses other bytes.
		return ns.Stat{Kind: ns.KindAppendOffset, Size: uint64(n)}, nil
	}
	return ns.Stat{Kind: ns.KindAppendOffset, Size: uint64(c.e.f.cfg.Store.Pending(c.key()))}, nil
}

func (c chunkFile) ReadAt(p []byte, off int64) (int, error) {
	if _, ok := c.e.f.cfg.Store.Has(c.name); !ok {
		return 0, errs.New(errs.ErrInvalid, "chunk %s of epoch %s is not committed", c.name, c.e.name)
	}
	return c.e.f.cfg.Store.ReadAt(c.name, p, off)
}

func (c chunkFile) Append(who ns.Caller, p []byte, off int64) (int, error) {
	m, _, ok := c.e.accepted()
	if !ok {
		return 0, errs.New(errs.ErrPermission, "epoch %s has no accepted manifest: write manifest.cbor first", c.e.name)
	}
	if !c.e.lists(c.name) {
		return 0, errs.New(errs.ErrInvalid, "chunk %s is not in the manifest of epoch %s", c.name, c.e.name)
	}
	data, err := payload(p)
	if err != nil {
		return 0, err
	}
	if err := c.take(who, data, writeOffset(p, off), int(m.ChunkBytes)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// take applies the chunk rules to data written at off (-1: at the end of
// the partial) of a chunk of size bytes: a committed chunk compares it,
// otherwise it accumulates and the whole chunk is hash-checked, then
// committed or quarantined.
func (c chunkFile) take(who ns.Caller, data []byte, off int64, size int) error {
	b, err := c.accumulate(who, data, off, size)
	if err != nil || b == nil {
		return err
	}
	return c.commit(who, b)
}

// accumulate is take up to the commit: it returns the chunk's bytes when
// data completes them (nil before), and the caller must then commit them.
// A write to a chunk whose complete bytes are being committed waits for
// the outcome, so it compares with the committed bytes or starts anew.
func (c chunkFile) accumulate(who ns.Caller, data []byte, off int64, size int) ([]byte, error) {
	c.e.f.awaitCommit(c.name)
	if _, ok := c.e.f.cfg.Store.Has(c.name); ok {
		return nil, c.rewrite(data, off, size)
	}
	b, err := c.e.f.cfg.Store.Append(c.key(), data, off, size)
	if err != nil {
		if errors.Is(err, errs.ErrTooBig) {
			return nil, c.e.f.refuse(who, err, fmt.Sprintf("cas-chunk rejected epoch=%s sha256=%s reason=too-big", c.e.name, c.name), "")
		}
		return nil, err
	}
	if len(b) < size {
		return nil, nil
	}
	c.e.f.beginCommit(c.name)
	return b, nil
}

// commit hash-checks a chunk's complete bytes, then commits them (durable
// before it returns) or quarantines them.
func (c chunkFile) commit(who ns.Caller, b []byte) error {
	defer c.e.f.endCommit(c.name)
	sum := sha256.Sum256(b)
	if actual := hex.EncodeToString(sum[:]); actual != c.name {
		c.e.f.cfg.Store.Drop(c.key())
		c.e.f.cfg.Store.Quarantine("chunk-"+c.e.name+"-"+c.name, b)
		line := fmt.Sprintf("cas-chunk quarantined epoch=%s expected=%s actual=%s bytes=%d", c.e.name, c.name, actual, len(b))
		return c.e.f.refuse(who, errs.New(errs.ErrInvalid, "chunk bytes hash to %s, not %s: quarantined", actual, c.name), line, line)
	}
	if err := c.e.f.cfg.Store.Put(c.name, c.key(), b); err != nil {
		return err
	}
	return c.e.f.committed(who, c.name)
}

// beginCommit marks chunk name's bytes complete and in commit.
func (f *fs) beginCommit(name string) {
	f.mu.Lock()
	f.committing[name] = make(chan struct{})
	f.mu.Unlock()
}

// endCommit ends name's commit, committed or refused.
func (f *fs) endCommit(name string) {
	f.mu.Lock()
	if ch, ok := f.committing[name]; ok {
		close(ch)
		delete(f.committing, name)
	}
	f.mu.Unlock()
}

// awaitCommit waits while chunk name is in commit.
func (f *fs) awaitCommit(name string) {
	f.mu.Lock()
	ch := f.committing[name]
	f.mu.Unlock()
	if ch != nil {
		<-ch
	}
}

// rewrite answers a write to a committed chunk: its own bytes again are
// an idempotent success, other bytes are refused. A write at an offset is
// compared there; one with no offset (a console echo, whole or in pieces)
// is compared as it accumulates.
func (c chunkFile) rewrite(data []byte, off int64, size int) error {
	if off >= 0 {
		have := make([]byte, len(data))
		k, err := c.e.f.cfg.Store.ReadAt(c.name, have, off)
		if err != nil {
			return err
		}
		if k != len(data) || !bytes.Equal(have, data) {
			return errs.New(errs.ErrPermission, "chunk %s is committed with other bytes", c.name)
		}
		return nil
	}
	key := "again/" + c.key()
	b, err := c.e.f.cfg.Store.Append(key, data, -1, size)
	if err != nil {
		return errs.New(errs.ErrPermission, "chunk %s is committed and read-only: %v", c.name, err)
	}
	have := make([]byte, len(b))
	k, err := c.e.f.cfg.Store.ReadAt(c.name, have, 0)
	if err != nil {
		return err
	}
	if k != len(b) || !bytes.Equal(have, b) {
		c.e.f.cfg.Store.Drop(key)
		return errs.New(errs.ErrPermission, "chunk %s is committed with other bytes", c.name)
	}
	if len(b) == size {
		c.e.f.cfg.Store.Drop(key)
	}
	return nil
}

// payloadFile is /updates/<epoch>/payload: the payload as one file of
// payload_bytes, read and written at offsets (DECISIONS P49). A write's
// bytes go to the chunks its range covers, each under the chunk rules,
// so an upload streams through one open fid instead of a walk, an open
// and a clunk per chunk. A chunk the manifest repeats is one object: once
// committed, its other places compare.
type payloadFile struct {
	ns.NotDir
	e epoch
}

func (f payloadFile) Stat() (ns.Stat, error) {
	_, u, ok := f.e.accepted()
	if !ok {
		return ns.Stat{Kind: ns.KindAppendOffset}, nil
	}
	return ns.Stat{Kind: ns.KindAppendOffset, Size: u.PayloadBytes}, nil
}

// pieces calls fn for each chunk the range [off, off+n) covers: its index,
// the offset inside it and the length inside it.
func pieces(off int64, n int, size int64, fn func(i int, at int64, k int) error) error {
	for n > 0 {
		i, at := int(off/size), off%size
		k := int(min(size-at, int64(n)))
		if err := fn(i, at, k); err != nil {
			return err
		}
		off, n = off+int64(k), n-k
	}
	return nil
}

func (f payloadFile) ReadAt(p []byte, off int64) (int, error) {
	m, u, ok := f.e.accepted()
	if !ok {
		return 0, errs.New(errs.ErrInvalid, "epoch %s has no accepted manifest", f.e.name)
	}
	if off < 0 || off >= int64(u.PayloadBytes) {
		return 0, nil
	}
	n := int(min(int64(len(p)), int64(u.PayloadBytes)-off))
	done := 0
	err := pieces(off, n, int64(m.ChunkBytes), func(i int, at int64, k int) error {
		got, err := f.e.f.cfg.Store.ReadAt(m.Chunks[i].String(), p[done:done+k], at)
		if err != nil {
			return errs.New(errs.ErrInvalid, "chunk %d of epoch %s is not committed", i, f.e.name)
		}
		done += got
		return nil
	})
	return done, err
}

func (f payloadFile) Append(who ns.Caller, p []byte, off int64) (int, error) {
	return f.AppendQueued(who, p, off, nil)
}

// AppendQueued implements ns.QueuedAppender. The bytes go into the
// chunks' partials in the write's turn; the chunks they complete are
// hash-checked and committed after queued, which lets the connection's
// next write fill the next chunk while these wait for the durable commit,
// so one group commit covers several writes of a session (DECISIONS P49).
func (f payloadFile) AppendQueued(who ns.Caller, p []byte, off int64, queued func()) (int, error) {
	m, u, ok := f.e.accepted()
	switch {
	case !ok:
		return 0, errs.New(errs.ErrPermission, "epoch %s has no accepted manifest: write manifest.cbor first", f.e.name)
	case off < 0:
		return 0, errs.New(errs.ErrInvalid, "payload takes writes at offsets (9P); from the console write chunks/<sha256>")
	case off+int64(len(p)) > int64(u.PayloadBytes):
		return 0, errs.New(errs.ErrTooBig, "%d bytes at %d pass the payload's %d bytes", len(p), off, u.PayloadBytes)
	}
	var full fullChunks
	done := 0
	err := pieces(off, len(p), int64(m.ChunkBytes), func(i int, at int64, k int) error {
		c := chunkFile{e: f.e, name: m.Chunks[i].String()}
		if full.holds(c.name) { // the manifest repeats it within this write
			if n, err := full.commit(who); err != nil {
				done = n
				return err
			}
		}
		b, err := c.accumulate(who, p[done:done+k], at, int(m.ChunkBytes))
		if err != nil {
			return err
		}
		if b != nil {
			full = append(full, fullChunk{c: c, b: b, at: done})
		}
		done += k
		return nil
	})
	if queued != nil {
		queued()
	}
	if n, cerr := full.commit(who); cerr != nil {
		done, err = n, cerr
	}
	if err != nil && done == 0 {
		return 0, err
	}
	return done, err
}

// fullChunk is a chunk a payload write completed: its bytes, and at, how
// many of the write's bytes come before its piece.
type fullChunk struct {
	c  chunkFile
	b  []byte
	at int
}

type fullChunks []fullChunk

func (fc fullChunks) holds(name string) bool {
	return slices.ContainsFunc(fc, func(x fullChunk) bool { return x.c.name == name })
}

// commit commits every chunk (each on its own merits: good bytes are kept
// even when another chunk is refused), empties fc and returns the first
// refused chunk's at with its error.
func (fc *fullChunks) commit(who ns.Caller) (int, error) {
	at, first := 0, error(nil)
	for _, x := range *fc {
		if err := x.c.commit(who, x.b); err != nil && first == nil {
			at, first = x.at, err
		}
	}
	*fc = (*fc)[:0]
	return at, first
}

// committed crosses a newly committed object off every epoch that lacks
// it and tells the queen of each epoch that is complete.
func (f *fs) committed(who ns.Caller, name string) error {
	f.trackAll()
	var done []string
	f.mu.Lock()
	for ep, miss := range f.missing {
		delete(miss, name)
		if len(miss) == 0 {
			done = append(done, ep)
		}
	}
	f.mu.Unlock()
	for _, ep := range done {
		if err := (epoch{f: f, name: ep}).ready(who); err != nil {
			return err
		}
	}
	return nil
}

// trackAll tracks every accepted epoch still lacking chunks that is not
// tracked yet (after a restart they are tracked on first use).
func (f *fs) trackAll() {
	for _, u := range f.view().Updates {
		if u.Ready {
			continue
		}
		f.mu.Lock()
		_, ok := f.missing[u.Epoch]
		f.mu.Unlock()
		if e := (epoch{f: f, name: u.Epoch}); !ok {
			if m, _, ok := e.accepted(); ok {
				e.withMissing(m, nil)
			}
		}
	}
}

// ready checks a complete epoch's payload hash and tells the queen; the
// epoch is then untracked, whatever the outcome (a payload that does not
// hash to its manifest's value never will).
func (e epoch) ready(who ns.Caller) error {
	defer func() {
		e.f.mu.Lock()
		delete(e.f.missing, e.name)
		e.f.mu.Unlock()
	}()
	if u, ok := e.f.view().Update(e.name); !ok || u.Ready {
		return nil
	}
	m, u, ok := e.accepted()
	if !ok {
		return nil
	}
	h := sha256.New()
	buf := make([]byte, m.ChunkBytes)
	for _, d := range m.Chunks {
		n, err := e.f.cfg.Store.ReadAt(d.String(), buf, 0)
		if err != nil {
			return err
		}
		h.Write(buf[:n])
	}
	if actual := hex.EncodeToString(h.Sum(nil)); actual != u.PayloadSHA256 {
		line := fmt.Sprintf("cas-update rejected epoch=%s reason=payload-mismatch expected=%s actual=%s", e.name, u.PayloadSHA256, actual)
		return e.f.refuse(who, errs.New(errs.ErrInvalid, "payload hashes to %s, not the manifest's %s", actual, u.PayloadSHA256), line, "")
	}
	_, err := e.f.do(queen.CASReady{Who: queen.WhoOf(who), Epoch: e.name})
	return err
}
