package casfs

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"slices"

	"github.com/cohesix/cohesix/internal/cas"
	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/queen"
)

// ---- /updates/keys.cbor ----

// keysFile is /updates/keys.cbor: the keyset the root key signed. A write
// accumulates until it decodes; a keyset that verifies with the root key
// and whose version is above the trusted one replaces it (rotation).
type keysFile struct {
	ns.NotDir
	f *fs
}

const keysKey = "keys"

func (k keysFile) Stat() (ns.Stat, error) {
	return ns.Stat{Kind: ns.KindAppendOffset, Size: uint64(len(k.trusted()))}, nil
}

func (k keysFile) trusted() []byte {
	if v := k.f.view(); v != nil {
		return v.Keyset
	}
	return nil
}

func (k keysFile) ReadAt(p []byte, off int64) (int, error) { return ns.ReadBytes(k.trusted(), p, off) }

func (k keysFile) Append(c ns.Caller, p []byte, off int64) (int, error) {
	data, err := payload(p)
	if err != nil {
		return 0, err
	}
	if off == 0 {
		k.f.cfg.Store.Drop(keysKey) // an upload from the start replaces a partial one
	}
	b, err := k.f.cfg.Store.Append(keysKey, data, -1, keysetMaxBytes)
	if err != nil {
		return 0, err
	}
	ks, err := cas.DecodeKeyset(b)
	if errors.Is(err, cas.ErrIncomplete) {
		return len(p), nil
	}
	k.f.cfg.Store.Drop(keysKey)
	word := "invalid"
	if err == nil {
		word = "signature-failed"
		if len(k.f.cfg.CAS.RootKey) != 32 {
			word, err = "signing-key-missing", errors.New("the hive has no CAS root key")
		} else {
			err = ks.Verify(k.f.cfg.CAS.RootKey)
		}
	}
	if err == nil && ks.Expires != 0 && k.f.cfg.Now().Unix() > int64(ks.Expires) {
		word, err = "expired", fmt.Errorf("keyset version %d expired", ks.Version)
	}
	if err != nil {
		return 0, k.f.refuse(c, errs.New(errs.ErrInvalid, "keyset refused: %v", err), fmt.Sprintf("cas-keyset rejected reason=%s", word), "")
	}
	if _, err := k.f.do(queen.CASKeyset{Who: queen.WhoOf(c), Version: ks.Version, Encoded: b}); err != nil {
		return 0, err
	}
	return len(p), nil
}

// keysetMaxBytes bounds a keyset upload: 16 keys of an id and a key each
// plus the header and signature, with room to spare.
const keysetMaxBytes = 4096

// ---- /models ----

func (f *fs) modelsRoot() ns.Node {
	return ns.Dynamic{DirOps: ns.DirOps{Path: "/models"}, Names: f.modelNames, Child: f.model}
}

// modelNames lists the committed models, then those being uploaded.
func (f *fs) modelNames() []string {
	var names []string
	if v := f.view(); v != nil {
		for _, m := range v.Models {
			names = append(names, m.Digest)
		}
	}
	for _, k := range f.cfg.Store.PendingKeys("weights/") {
		if d := k[len("weights/"):]; !slices.Contains(names, d) {
			names = append(names, d)
		}
	}
	return names
}

func (f *fs) model(name string) (ns.Node, bool) {
	d, err := cas.ParseDigest(name)
	if err != nil {
		return nil, false
	}
	m := modelDir{f: f, digest: d.String()}
	base := "/models/" + m.digest
	return ns.Static{DirOps: ns.DirOps{Path: base}, Entries: []ns.Entry{
		{Name: "weights", Node: weightsFile{m: m}},
		{Name: "schema", Node: onceFile{m: m, name: "schema"}},
		{Name: "signature", Node: onceFile{m: m, name: "signature"}},
	}}, true
}

type modelDir struct {
	f      *fs
	digest string
}

func (m modelDir) committed() bool {
	_, ok := m.f.view().Model(m.digest)
	return ok
}

// weightsHash is the running SHA-256 of a model's partial weights, so
// each append hashes only its own bytes.
type weightsHash struct {
	h hash.Hash
	n int
}

// weightsFile is /models/<sha256>/weights: appends accumulate until their
// SHA-256 equals the directory's name (committed, then read-only); past
// cas.store.model_max_bytes without a match the partial is quarantined.
type weightsFile struct {
	ns.NotDir
	m modelDir
}

func (w weightsFile) key() string { return "weights/" + w.m.digest }

func (w weightsFile) Stat() (ns.Stat, error) {
	if n, ok := w.m.f.cfg.Store.Has(w.m.digest); ok && w.m.committed() {
		return ns.Stat{Kind: ns.KindReadOnly, Size: uint64(n)}, nil
	}
	return ns.Stat{Kind: ns.KindAppendOffset, Size: uint64(w.m.f.cfg.Store.Pending(w.key()))}, nil
}

func (w weightsFile) ReadAt(p []byte, off int64) (int, error) {
	if !w.m.committed() {
		return 0, errs.New(errs.ErrInvalid, "model %s is not committed", w.m.digest)
	}
	return w.m.f.cfg.Store.ReadAt(w.m.digest, p, off)
}

func (w weightsFile) Append(c ns.Caller, p []byte, off int64) (int, error) {
	f := w.m.f
	if w.m.committed() {
		return 0, errs.New(errs.ErrPermission, "model %s is committed and read-only", w.m.digest)
	}
	data, err := payload(p)
	if err != nil {
		return 0, err
	}
	limit := int(f.cfg.CAS.ModelMaxBytes)
	b, err := f.cfg.Store.Append(w.key(), data, writeOffset(p, off), limit)
	if err != nil {
		f.forget(w.m.digest)
		if errors.Is(err, errs.ErrTooBig) {
			line := fmt.Sprintf("cas-model quarantined sha256=%s reason=too-big limit=%d", w.m.digest, limit)
			return 0, f.refuse(c, err, line, line)
		}
		return 0, err
	}
	sum := f.extend(w.m.digest, b, len(data))
	if !bytes.Equal(sum, w.m.raw()) {
		if len(b) < limit {
			return len(p), nil
		}
		f.cfg.Store.Drop(w.key())
		f.forget(w.m.digest)
		f.cfg.Store.Quarantine("model-"+w.m.digest, b)
		line := fmt.Sprintf("cas-model quarantined sha256=%s actual=%x bytes=%d", w.m.digest, sum, len(b))
		return 0, f.refuse(c, errs.New(errs.ErrInvalid, "%d bytes of weights hash to %x, not %s: quarantined", len(b), sum, w.m.digest), line, line)
	}
	f.forget(w.m.digest)
	if err := f.cfg.Store.Put(w.m.digest, w.key(), b); err != nil {
		return 0, err
	}
	res, err := f.do(queen.CASModelCommit{Who: queen.WhoOf(c), Model: queen.CASModel{Digest: w.m.digest, Bytes: uint64(len(b))}})
	if err != nil {
		return 0, err
	}
	f.evict(res)
	return len(p), nil
}

func (m modelDir) raw() []byte {
	d, _ := cas.ParseDigest(m.digest)
	return d[:]
}

// extend hashes the last appended bytes of the partial b and returns the
// hash of all of b. When the running hash has not seen exactly the bytes
// before them (the partial was dropped and restarted), it starts over.
func (f *fs) extend(digest string, b []byte, appended int) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	wh := f.weights[digest]
	if wh == nil || wh.n != len(b)-appended {
		wh = &weightsHash{h: sha256.New()}
		f.weights[digest] = wh
	}
	wh.h.Write(b[wh.n:])
	wh.n = len(b)
	return wh.h.Sum(nil)
}

func (f *fs) forget(digest string) {
	f.mu.Lock()
	delete(f.weights, digest)
	f.mu.Unlock()
}

// onceFile is a model's schema or signature: its first write (at most a
// chunk after b64 decoding) is kept; every later write is refused.
type onceFile struct {
	ns.NotDir
	m    modelDir
	name string
}

func (o onceFile) file() string { return "model/" + o.m.digest + "/" + o.name }

func (o onceFile) Stat() (ns.Stat, error) {
	if b, ok := o.m.f.cfg.Store.File(o.file()); ok {
		return ns.Stat{Kind: ns.KindReadOnly, Size: uint64(len(b))}, nil
	}
	return ns.Stat{Kind: ns.KindAppend}, nil
}

func (o onceFile) ReadAt(p []byte, off int64) (int, error) {
	b, _ := o.m.f.cfg.Store.File(o.file())
	return ns.ReadBytes(b, p, off)
}

func (o onceFile) Append(_ ns.Caller, p []byte, _ int64) (int, error) {
	data, err := payload(p)
	if err != nil {
		return 0, err
	}
	if len(data) > o.m.f.cfg.CAS.ChunkBytes {
		return 0, errs.New(errs.ErrTooBig, "%s takes at most %d bytes (cas.store.chunk_bytes)", o.name, o.m.f.cfg.CAS.ChunkBytes)
	}
	if err := o.m.f.cfg.Store.PutFile(o.file(), data, true); err != nil {
		return 0, err
	}
	return len(p), nil
}
