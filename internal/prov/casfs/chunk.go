package casfs

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

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
	size := int(m.ChunkBytes)
	if _, ok := c.e.f.cfg.Store.Has(c.name); ok {
		return c.rewrite(data, writeOffset(p, off), len(p), size)
	}
	b, err := c.e.f.cfg.Store.Append(c.key(), data, writeOffset(p, off), size)
	if err != nil {
		if errors.Is(err, errs.ErrTooBig) {
			return 0, c.e.f.refuse(who, err, fmt.Sprintf("cas-chunk rejected epoch=%s sha256=%s reason=too-big", c.e.name, c.name), "")
		}
		return 0, err
	}
	if len(b) < size {
		return len(p), nil
	}
	sum := sha256.Sum256(b)
	if actual := hex.EncodeToString(sum[:]); actual != c.name {
		c.e.f.cfg.Store.Drop(c.key())
		c.e.f.cfg.Store.Quarantine("chunk-"+c.e.name+"-"+c.name, b)
		line := fmt.Sprintf("cas-chunk quarantined epoch=%s expected=%s actual=%s bytes=%d", c.e.name, c.name, actual, len(b))
		return 0, c.e.f.refuse(who, errs.New(errs.ErrInvalid, "chunk bytes hash to %s, not %s: quarantined", actual, c.name), line, line)
	}
	if err := c.e.f.cfg.Store.Put(c.name, c.key(), b); err != nil {
		return 0, err
	}
	return len(p), c.e.f.committed(who, c.name)
}

// rewrite answers a write to a committed chunk: re-sending its bytes (in
// one write or in pieces, as a resumed or repeated upload does) is an
// idempotent success, compared as it accumulates; other bytes are refused.
func (c chunkFile) rewrite(data []byte, off int64, n, size int) (int, error) {
	key := "again/" + c.key()
	if off == 0 {
		c.e.f.cfg.Store.Drop(key)
	}
	b, err := c.e.f.cfg.Store.Append(key, data, off, size)
	if err != nil {
		return 0, errs.New(errs.ErrPermission, "chunk %s is committed and read-only: %v", c.name, err)
	}
	have := make([]byte, len(b))
	k, err := c.e.f.cfg.Store.ReadAt(c.name, have, 0)
	if err != nil {
		return 0, err
	}
	if k != len(b) || !bytes.Equal(have, b) {
		c.e.f.cfg.Store.Drop(key)
		return 0, errs.New(errs.ErrPermission, "chunk %s is committed with other bytes", c.name)
	}
	if len(b) == size {
		c.e.f.cfg.Store.Drop(key)
	}
	return n, nil
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
				e.missingOf(m)
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
