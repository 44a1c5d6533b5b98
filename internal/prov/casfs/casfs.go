// Package casfs is the /updates and /models providers (spec namespace §9,
// gpu-telemetry §8; DECISIONS P49): signed, content-addressed update
// bundles uploaded as a manifest then its chunks, and models whose weights
// hash to their directory's name. Bytes live in the CAS store
// (internal/store); every decision that orders updates (rollback, keyset
// rotation, readiness, refusals) is a queen command.
package casfs

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cohesix/cohesix/internal/cas"
	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/prov"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/store"
)

// Config is what the providers are built from.
type Config struct {
	Queen prov.Queen
	Store *store.CAS
	CAS   queen.CASConfig
	Now   func() time.Time // expiry checks; the queen's clock
}

// Mounts returns /updates, and /models when models are enabled; nothing
// when CAS is off.
func Mounts(cfg Config) []ns.Mounted {
	if !cfg.CAS.Enable || cfg.Store == nil {
		return nil
	}
	f := &fs{cfg: cfg, missing: map[string]map[string]bool{}, decoded: map[string]*decodedManifest{}, weights: map[string]*weightsHash{}, committing: map[string]chan struct{}{}}
	out := []ns.Mounted{{Name: "updates", Provider: ns.Plain(f.updatesRoot())}}
	if cfg.CAS.ModelsEnable {
		out = append(out, ns.Mounted{Name: "models", Provider: ns.Plain(f.modelsRoot())})
	}
	return out
}

// fs is the shared state of both trees: what is still missing of each
// accepted update (so readiness costs O(1) per commit) and the running
// hashes of model weights being appended.
type fs struct {
	cfg Config

	mu      sync.Mutex
	missing map[string]map[string]bool  // epoch → chunk digests not yet committed
	decoded map[string]*decodedManifest // epoch → its accepted manifest
	weights map[string]*weightsHash     // model digest → hash of its partial weights
	// committing holds the chunks whose bytes are complete and not yet
	// committed or refused; a write to one waits for the outcome.
	committing map[string]chan struct{}
}

func (f *fs) view() *queen.CASView { return f.cfg.Queen.Snapshot().CAS }

func (f *fs) do(c queen.Cmd) (queen.Result, error) {
	return f.cfg.Queen.Do(context.Background(), c)
}

// refuse writes the audit line of a refusal and returns err.
func (f *fs) refuse(c ns.Caller, err error, line, quarantine string) error {
	_, _ = f.do(queen.CASRefuse{Who: queen.WhoOf(c), Line: line, Quarantine: quarantine})
	return err
}

// payload decodes what a write carries: "b64:" then standard base64 (a
// trailing newline, as a console echo sends, is dropped first), or the
// raw bytes unchanged.
func payload(p []byte) ([]byte, error) {
	s, ok := strings.CutPrefix(string(p), "b64:")
	if !ok {
		return p, nil
	}
	s = strings.TrimSuffix(strings.TrimSuffix(s, "\n"), "\r")
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errs.New(errs.ErrInvalid, "b64 payload does not decode: %v", err)
	}
	return b, nil
}

// writeOffset is the offset a write's decoded bytes start at: a b64
// write has none (the console echo's form).
func writeOffset(p []byte, off int64) int64 {
	if strings.HasPrefix(string(p), "b64:") {
		return -1
	}
	return off
}

// ---- /updates ----

func (f *fs) updatesRoot() ns.Node {
	return ns.Dynamic{DirOps: ns.DirOps{Path: "/updates"}, Names: f.epochNames, Child: f.updatesChild}
}

// epochNames lists the accepted epochs, then those with a manifest being
// uploaded, then keys.cbor.
func (f *fs) epochNames() []string {
	var names []string
	for _, u := range f.view().Updates {
		names = append(names, u.Epoch)
	}
	for _, k := range f.cfg.Store.PendingKeys("manifest/") {
		if e := strings.TrimPrefix(k, "manifest/"); !slices.Contains(names, e) {
			names = append(names, e)
		}
	}
	return append(names, keysName, quarantineName)
}

const (
	keysName       = "keys.cbor"
	quarantineName = "quarantine"
)

func (f *fs) updatesChild(name string) (ns.Node, bool) {
	switch name {
	case keysName:
		return keysFile{f: f}, true
	case quarantineName:
		return ns.Content{ReadOnly: ns.ReadOnly{Path: "/updates/quarantine"}, Render: f.quarantined}, true
	}
	if !cas.ValidEpoch(name) {
		return nil, false
	}
	e := epoch{f: f, name: name}
	return ns.Static{DirOps: ns.DirOps{Path: "/updates/" + name}, Entries: []ns.Entry{
		{Name: "manifest.cbor", Node: manifestFile{e: e}},
		{Name: "chunks", Node: ns.Dynamic{DirOps: ns.DirOps{Path: "/updates/" + name + "/chunks"}, Names: e.committedNames, Child: e.chunk}},
		{Name: "status", Node: ns.Content{ReadOnly: ns.ReadOnly{Path: "/updates/" + name + "/status"}, Render: e.statusText}},
		{Name: "status.cbor", Node: ns.Content{ReadOnly: ns.ReadOnly{Path: "/updates/" + name + "/status.cbor"}, Render: e.statusCBOR}},
		{Name: "payload", Node: payloadFile{e: e}},
	}}, true
}

// quarantined is /updates/quarantine: the audit line of each refused
// upload whose bytes were set aside, newest last (cas.store.quarantine_max).
func (f *fs) quarantined() []byte {
	v := f.view()
	if v == nil || len(v.Quarantined) == 0 {
		return nil
	}
	return []byte(strings.Join(v.Quarantined, "\n") + "\n")
}

// epoch is /updates/<epoch>.
type epoch struct {
	f    *fs
	name string
}

func (e epoch) manifestKey() string  { return "manifest/" + e.name }
func (e epoch) manifestFile() string { return "update/" + e.name + "/manifest.cbor" }

// accepted returns the epoch's accepted manifest, decoded.
// An accepted manifest never changes, so it is decoded once and kept with
// an index of its chunks (a chunk write must not cost a decode and a scan
// of a 65,536-chunk list).
func (e epoch) accepted() (*cas.Manifest, queen.CASUpdate, bool) {
	u, ok := e.f.view().Update(e.name)
	if !ok {
		return nil, u, false
	}
	e.f.mu.Lock()
	a := e.f.decoded[e.name]
	e.f.mu.Unlock()
	if a != nil {
		return a.m, u, true
	}
	b, ok := e.f.cfg.Store.File(e.manifestFile())
	if !ok {
		return nil, u, false
	}
	m, err := cas.DecodeManifest(b, e.f.cfg.CAS.MaxChunks)
	if err != nil {
		return nil, u, false
	}
	a = &decodedManifest{m: m, chunks: make(map[string]bool, len(m.Chunks))}
	for _, d := range m.Chunks {
		a.chunks[d.String()] = true
	}
	e.f.mu.Lock()
	e.f.decoded[e.name] = a
	e.f.mu.Unlock()
	return m, u, true
}

// lists reports whether the epoch's accepted manifest lists chunk name.
func (e epoch) lists(name string) bool {
	if _, _, ok := e.accepted(); !ok {
		return false
	}
	e.f.mu.Lock()
	defer e.f.mu.Unlock()
	a := e.f.decoded[e.name]
	return a != nil && a.chunks[name]
}

// decodedManifest is an accepted manifest and the set of its chunks.
type decodedManifest struct {
	m      *cas.Manifest
	chunks map[string]bool
}

// manifestFile is /updates/<epoch>/manifest.cbor: appends accumulate until
// the CBOR decodes, then the manifest is judged once; accepted, it is
// read-only.
type manifestFile struct {
	ns.NotDir
	e epoch
}

func (m manifestFile) Stat() (ns.Stat, error) {
	if b, ok := m.e.f.cfg.Store.File(m.e.manifestFile()); ok {
		if _, acc := m.e.f.view().Update(m.e.name); acc {
			return ns.Stat{Kind: ns.KindReadOnly, Size: uint64(len(b))}, nil
		}
	}
	return ns.Stat{Kind: ns.KindAppendOffset, Size: uint64(m.e.f.cfg.Store.Pending(m.e.manifestKey()))}, nil
}

func (m manifestFile) ReadAt(p []byte, off int64) (int, error) {
	if _, ok := m.e.f.view().Update(m.e.name); ok {
		b, _ := m.e.f.cfg.Store.File(m.e.manifestFile())
		return ns.ReadBytes(b, p, off)
	}
	return 0, errs.New(errs.ErrInvalid, "manifest of epoch %s is not accepted yet", m.e.name)
}

func (m manifestFile) Append(c ns.Caller, p []byte, off int64) (int, error) {
	e := m.e
	if _, ok := e.f.view().Update(e.name); ok {
		return 0, errs.New(errs.ErrPermission, "manifest of epoch %s is accepted and read-only", e.name)
	}
	data, err := payload(p)
	if err != nil {
		return 0, err
	}
	b, err := e.f.cfg.Store.Append(e.manifestKey(), data, writeOffset(p, off), e.f.cfg.CAS.ManifestMaxBytes())
	if err != nil {
		if errors.Is(err, errs.ErrTooBig) {
			return 0, e.f.refuse(c, err, fmt.Sprintf("cas-manifest rejected epoch=%s reason=too-big", e.name), "manifest-"+e.name)
		}
		return 0, err
	}
	man, err := cas.DecodeManifest(b, e.f.cfg.CAS.MaxChunks)
	if errors.Is(err, cas.ErrIncomplete) {
		return len(p), nil
	}
	if err == nil {
		err = e.judge(man)
	}
	if err != nil {
		e.f.cfg.Store.Drop(e.manifestKey())
		e.f.cfg.Store.Quarantine("manifest-"+e.name, b)
		return 0, e.f.refuse(c, errs.New(errs.ErrInvalid, "manifest refused: %v", err), fmt.Sprintf("cas-manifest rejected epoch=%s reason=%s", e.name, reasonWord(err)), "manifest-"+e.name)
	}
	if err := e.f.cfg.Store.PutFile(e.manifestFile(), b, false); err != nil {
		return 0, err
	}
	e.f.cfg.Store.Drop(e.manifestKey())
	res, err := e.f.do(queen.CASAccept{Who: queen.WhoOf(c), Update: updateOf(man)})
	if err != nil {
		// Refused by the queen (rollback, delta base): set aside like
		// every refused upload; the queen wrote the audit line.
		e.f.cfg.Store.RemoveFile(e.manifestFile())
		e.f.cfg.Store.Quarantine("manifest-"+e.name, b)
		return 0, err
	}
	e.f.evict(res)
	e.withMissing(man, nil)
	return len(p), e.maybeReady(c)
}

// refusal is a judged reason with its audit word.
type refusal struct {
	word string
	err  error
}

func (r refusal) Error() string { return r.err.Error() }

func refused(word, format string, args ...any) error {
	return refusal{word: word, err: fmt.Errorf(format, args...)}
}

// reasonWord is the audit reason of a manifest refusal.
func reasonWord(err error) string {
	var r refusal
	if errors.As(err, &r) {
		return r.word
	}
	return "invalid"
}

// judge checks a decoded manifest against the hive: its path, its chunk
// size, the delta switch, the signature and the expiry (DECISIONS P49).
func (e epoch) judge(m *cas.Manifest) error {
	cfg := e.f.cfg.CAS
	switch {
	case m.Epoch != e.name:
		return refused("epoch-mismatch", "manifest epoch %s is not the path's %s", m.Epoch, e.name)
	case m.ChunkBytes > uint64(cfg.ChunkBytes):
		return refused("chunk-bytes", "chunk_bytes %d exceeds the hive's %d (cas.store.chunk_bytes)", m.ChunkBytes, cfg.ChunkBytes)
	case m.Delta != nil && !cfg.DeltaEnable:
		return refused("delta-disabled", "delta manifests are disabled (cas.delta.enable = false)")
	}
	if m.Signature == nil {
		if cfg.SigningRequired {
			return refused("missing-signature", "the manifest is unsigned and cas.signing.required = true")
		}
		return nil
	}
	pub, err := e.f.signer(m.KeyID)
	if err != nil {
		return err
	}
	if err := m.VerifySignature(pub); err != nil {
		return refused("signature-failed", "signature does not verify with key %s", keyLabel(m.KeyID))
	}
	if m.Expires != 0 && e.f.cfg.Now().Unix() > int64(m.Expires) {
		return refused("expired", "the manifest expired at %s", time.Unix(int64(m.Expires), 0).UTC().Format(time.RFC3339))
	}
	if m.Schema == cas.SchemaV1 && cfg.SigningRequired {
		return refused("missing-expiry", "a signed manifest must be %s (it carries an expiry)", cas.SchemaV2)
	}
	return nil
}

func keyLabel(id string) string {
	if id == "" {
		return "root"
	}
	return id
}

// signer returns the key a manifest names: the root key itself, or a key
// of the trusted keyset the root key signed.
func (f *fs) signer(id string) (ed25519.PublicKey, error) {
	root := f.cfg.CAS.RootKey
	if len(root) != ed25519.PublicKeySize {
		return nil, refused("signing-key-missing", "the hive has no CAS root key (roottask --cas-root-key, cas.signing.key_path)")
	}
	if id == "" || id == cas.KeyID(root) {
		return root, nil
	}
	if ks := f.keyset(); ks != nil {
		if pub, ok := ks.Lookup(id); ok {
			return pub, nil
		}
	}
	return nil, refused("unknown-key", "key %s is neither the root key nor in the trusted keyset", id)
}

// keyset returns the trusted keyset, nil when none.
func (f *fs) keyset() *cas.Keyset {
	v := f.view()
	if v == nil || v.Keyset == nil {
		return nil
	}
	ks, err := cas.DecodeKeyset(v.Keyset)
	if err != nil {
		return nil
	}
	return ks
}

func updateOf(m *cas.Manifest) queen.CASUpdate {
	u := queen.CASUpdate{Epoch: m.Epoch, Kind: "base", PayloadSHA256: m.PayloadSHA256.String(), PayloadBytes: m.PayloadBytes, Chunks: len(m.Chunks), ChunkBytes: int(m.ChunkBytes), KeyID: m.KeyID}
	if m.Signature != nil && u.KeyID == "" {
		u.KeyID = "root"
	}
	if m.Delta != nil {
		u.Kind, u.DeltaEpoch, u.DeltaSHA256 = "delta", m.Delta.BaseEpoch, m.Delta.BaseSHA256.String()
	}
	return u
}

// withMissing runs fn (if not nil) on the set of chunks epoch e still
// lacks, with the lock held. The set is computed on first use (at accept,
// after a restart) under that same lock, so a commit racing the
// computation is either seen by it or crossed off right after it.
func (e epoch) withMissing(m *cas.Manifest, fn func(miss map[string]bool)) {
	e.f.mu.Lock()
	defer e.f.mu.Unlock()
	miss, ok := e.f.missing[e.name]
	if !ok {
		miss = map[string]bool{}
		for _, d := range m.Chunks {
			if _, ok := e.f.cfg.Store.Has(d.String()); !ok {
				miss[d.String()] = true
			}
		}
		e.f.missing[e.name] = miss
	}
	if fn != nil {
		fn(miss)
	}
}

// maybeReady tells the queen when an accepted epoch lacks no chunk (a
// delta whose chunks all came with its base, a re-upload).
func (e epoch) maybeReady(c ns.Caller) error {
	m, u, ok := e.accepted()
	if !ok || u.Ready {
		return nil
	}
	left := 0
	e.withMissing(m, func(miss map[string]bool) { left = len(miss) })
	if left > 0 {
		return nil
	}
	return e.ready(c)
}

// evict drops the bytes of updates and models the queen evicted, keeping
// every object a kept manifest or model still names.
func (f *fs) evict(res queen.Result) {
	if res.CAS == nil || (len(res.CAS.EvictedEpochs) == 0 && len(res.CAS.EvictedModels) == 0) {
		return
	}
	for _, ep := range res.CAS.EvictedEpochs {
		f.cfg.Store.RemoveFile("update/" + ep + "/manifest.cbor")
		f.mu.Lock()
		delete(f.missing, ep)
		delete(f.decoded, ep)
		f.mu.Unlock()
	}
	for _, d := range res.CAS.EvictedModels {
		f.cfg.Store.RemoveFile("model/" + d + "/schema")
		f.cfg.Store.RemoveFile("model/" + d + "/signature")
	}
	keep := map[string]bool{}
	v := f.view()
	for _, u := range v.Updates {
		if m, _, ok := (epoch{f: f, name: u.Epoch}).accepted(); ok {
			for _, d := range m.Chunks {
				keep[d.String()] = true
			}
		}
	}
	for _, m := range v.Models {
		keep[m.Digest] = true
	}
	var drop []string
	for _, o := range f.cfg.Store.Objects() {
		if !keep[o] {
			drop = append(drop, o)
		}
	}
	f.cfg.Store.Remove(drop...)
}

// committedNames lists the epoch's committed chunks in manifest order.
func (e epoch) committedNames() []string {
	m, _, ok := e.accepted()
	if !ok {
		return nil
	}
	var names []string
	e.withMissing(m, func(miss map[string]bool) {
		seen := map[string]bool{}
		for _, d := range m.Chunks {
			s := d.String()
			if !miss[s] && !seen[s] {
				seen[s] = true
				names = append(names, s)
			}
		}
	})
	return names
}

func (e epoch) chunk(name string) (ns.Node, bool) {
	d, err := cas.ParseDigest(name)
	if err != nil {
		return nil, false
	}
	return chunkFile{e: e, name: d.String()}, true
}
