package casfs_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/internal/cas"
	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/prov/casfs"
	"github.com/cohesix/cohesix/internal/prov/provtest"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/store"
)

// hive is the two providers over a queen and a disk store.
type hive struct {
	t       *testing.T
	q       *provtest.Queen
	updates ns.Provider
	models  ns.Provider
	store   *store.CAS
	root    ed25519.PrivateKey
}

func newHive(t *testing.T, edit func(*queen.CASConfig)) *hive {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(nil)
	var cfg queen.CASConfig
	q := provtest.NewQueen(t, func(c *queen.Config) {
		c.CAS.Enable, c.CAS.ModelsEnable, c.CAS.DeltaEnable, c.CAS.SigningRequired = true, true, true, true
		c.CAS.RootKey = pub
		c.CAS.ChunkBytes, c.CAS.MaxChunks, c.CAS.BudgetBytes = 256, 64, 1<<20
		c.CAS.MaxUpdates, c.CAS.MaxModels, c.CAS.ModelMaxBytes, c.CAS.PendingMax, c.CAS.QuarantineMax = 4, 4, 4096, 8, 8
		if edit != nil {
			edit(&c.CAS)
		}
		cfg = c.CAS
	})
	st, err := store.OpenCAS(store.CASOptions{Dir: t.TempDir(), BudgetBytes: cfg.BudgetBytes, PendingMax: cfg.PendingMax, PendingBytes: cfg.PendingBytes(), QuarantineMax: cfg.QuarantineMax})
	if err != nil {
		t.Fatal(err)
	}
	m := casfs.Mounts(casfs.Config{Queen: q, Store: st, CAS: cfg, Now: q.Clock.Now})
	h := &hive{t: t, q: q, updates: m[0].Provider, store: st, root: priv}
	if len(m) > 1 {
		h.models = m[1].Provider
	}
	return h
}

// pack writes a bundle of files (name → content) and returns its dir.
func (h *hive) pack(epoch string, files map[string]string, opts cas.PackOptions) string {
	h.t.Helper()
	in := h.t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(in, name), []byte(body), 0o644); err != nil {
			h.t.Fatal(err)
		}
	}
	opts.Epoch, opts.OutDir = epoch, filepath.Join(h.t.TempDir(), "bundle")
	if opts.ChunkBytes == 0 {
		opts.ChunkBytes = 128
	}
	if _, err := cas.Pack(in, opts); err != nil {
		h.t.Fatal(err)
	}
	return opts.OutDir
}

func (h *hive) write(path string, b []byte) error {
	h.t.Helper()
	n := provtest.Walk(h.t, h.updates, path)
	_, err := n.Append(provtest.QueenCaller, b, -1)
	return err
}

// upload writes a bundle's manifest then every chunk it carries.
func (h *hive) upload(dir string) error {
	h.t.Helper()
	man, err := os.ReadFile(filepath.Join(dir, "manifest.cbor"))
	if err != nil {
		h.t.Fatal(err)
	}
	m, err := cas.DecodeManifest(man, 1<<16)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.write(m.Epoch+"/manifest.cbor", man); err != nil {
		return err
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "chunks"))
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(dir, "chunks", e.Name()))
		if err := h.write(m.Epoch+"/chunks/"+e.Name(), b); err != nil {
			return err
		}
	}
	return nil
}

func (h *hive) status(epoch string) string {
	return provtest.Read(h.t, h.updates, epoch+"/status")
}

func (h *hive) log() string { return strings.Join(h.q.Snapshot().Log, "\n") }

func TestSignedBundleBecomesReady(t *testing.T) {
	h := newHive(t, nil)
	dir := h.pack("1", map[string]string{"app.bin": strings.Repeat("cohesix ", 100)}, cas.PackOptions{Sign: h.root, Expires: time.Now().Add(time.Hour)})
	if err := h.upload(dir); err != nil {
		t.Fatal(err)
	}
	st := h.status("1")
	if !strings.Contains(st, "state=ready") || !strings.Contains(st, "chunks_missing=0") {
		t.Fatalf("status = %q; want ready with nothing missing", st)
	}
	if !strings.Contains(h.log(), "cas-manifest accepted epoch=1 kind=base") || !strings.Contains(h.log(), "cas-update ready epoch=1") {
		t.Fatalf("log lacks accept/ready lines:\n%s", h.log())
	}
	man, _ := os.ReadFile(filepath.Join(dir, "manifest.cbor"))
	if got := provtest.Read(t, h.updates, "1/manifest.cbor"); got != string(man) {
		t.Fatal("manifest.cbor does not read back as uploaded")
	}
	if err := h.write("1/manifest.cbor", man); !errors.Is(err, errs.ErrPermission) {
		t.Fatalf("rewrite of an accepted manifest = %v; want EPERM", err)
	}
}

func TestRefusals(t *testing.T) {
	h := newHive(t, nil)
	unsigned := h.pack("5", map[string]string{"a": "x"}, cas.PackOptions{})
	if err := h.upload(unsigned); !errors.Is(err, errs.ErrInvalid) || !strings.Contains(h.log(), "cas-manifest rejected epoch=5 reason=missing-signature") {
		t.Fatalf("unsigned upload = %v, log:\n%s", err, h.log())
	}
	_, other, _ := ed25519.GenerateKey(nil)
	forged := h.pack("5", map[string]string{"a": "x"}, cas.PackOptions{Sign: other, Expires: time.Now().Add(time.Hour)})
	if err := h.upload(forged); err == nil || !strings.Contains(h.log(), "reason=unknown-key") {
		t.Fatalf("upload signed by an unknown key = %v, log:\n%s", err, h.log())
	}
	tampered := h.pack("5", map[string]string{"a": "x"}, cas.PackOptions{Sign: h.root, Expires: time.Now().Add(time.Hour)})
	man, _ := os.ReadFile(filepath.Join(tampered, "manifest.cbor"))
	man[len(man)-1] ^= 1 // inside the signature
	if err := h.write("5/manifest.cbor", man); err == nil || !strings.Contains(h.log(), "reason=signature-failed") {
		t.Fatalf("tampered signature = %v, log:\n%s", err, h.log())
	}
	if st := h.status("5"); !strings.Contains(st, "state=empty") {
		t.Fatalf("a refused manifest changed the epoch: %q", st)
	}
	stale := h.pack("5", map[string]string{"a": "x"}, cas.PackOptions{Sign: h.root, Expires: h.q.Clock.Now().Add(-time.Second)})
	if err := h.upload(stale); err == nil || !strings.Contains(h.log(), "reason=expired") {
		t.Fatalf("expired manifest = %v", err)
	}
	wrong := h.pack("6", map[string]string{"a": "x"}, cas.PackOptions{Sign: h.root, Expires: time.Now().Add(time.Hour)})
	man, _ = os.ReadFile(filepath.Join(wrong, "manifest.cbor"))
	if err := h.write("7/manifest.cbor", man); err == nil || !strings.Contains(h.log(), "reason=epoch-mismatch") {
		t.Fatalf("manifest at the wrong epoch = %v", err)
	}
}

func TestChunkMismatchIsQuarantined(t *testing.T) {
	h := newHive(t, nil)
	dir := h.pack("3", map[string]string{"a": strings.Repeat("z", 300)}, cas.PackOptions{Sign: h.root, Expires: time.Now().Add(time.Hour)})
	man, _ := os.ReadFile(filepath.Join(dir, "manifest.cbor"))
	if err := h.write("3/manifest.cbor", man); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "chunks"))
	name := ents[0].Name()
	b, _ := os.ReadFile(filepath.Join(dir, "chunks", name))
	bad := append([]byte(nil), b...)
	bad[0] ^= 0xff
	// Two appends: the chunk accumulates, then is judged at its size.
	if err := h.write("3/chunks/"+name, bad[:50]); err != nil {
		t.Fatalf("first half: %v", err)
	}
	if err := h.write("3/chunks/"+name, bad[50:]); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("mismatching chunk = %v; want EINVAL", err)
	}
	sum := sha256.Sum256(bad)
	want := "cas-chunk quarantined epoch=3 expected=" + name + " actual=" + hex.EncodeToString(sum[:]) + " bytes=128"
	if !strings.Contains(h.log(), want) {
		t.Fatalf("log lacks %q:\n%s", want, h.log())
	}
	if got := provtest.Read(t, h.updates, "quarantine"); got != want+"\n" {
		t.Fatalf("/updates/quarantine = %q; want the audit line", got)
	}
	if _, ok := h.store.Has(name); ok {
		t.Fatal("a mismatching chunk was committed")
	}
	// The right bytes are still taken afterwards (resume from scratch).
	if err := h.write("3/chunks/"+name, b); err != nil {
		t.Fatal(err)
	}
	if _, err := provtest.Walk(t, h.updates, "3/chunks/"+name).ReadAt(make([]byte, 1), 0); err != nil {
		t.Fatalf("read of a committed chunk: %v", err)
	}
}

func TestRollbackRefused(t *testing.T) {
	h := newHive(t, nil)
	opts := cas.PackOptions{Sign: h.root, Expires: time.Now().Add(time.Hour)}
	old := h.pack("7", map[string]string{"a": "one"}, opts)
	if err := h.upload(h.pack("8", map[string]string{"a": "two"}, opts)); err != nil {
		t.Fatal(err)
	}
	if err := h.upload(old); !errors.Is(err, errs.ErrPermission) || !strings.Contains(h.log(), "cas-manifest rejected epoch=7 reason=rollback highest=8") {
		t.Fatalf("older signed bundle = %v, log:\n%s", err, h.log())
	}
}

func TestDeltaIsIdempotent(t *testing.T) {
	h := newHive(t, nil)
	opts := cas.PackOptions{Sign: h.root, Expires: time.Now().Add(time.Hour)}
	base := h.pack("10", map[string]string{"a": strings.Repeat("A", 1000), "b": "bee"}, opts)
	if err := h.upload(base); err != nil {
		t.Fatal(err)
	}
	newFiles := map[string]string{"a": strings.Repeat("A", 1000), "b": "bee2"}
	opts.DeltaFrom = base
	d1 := h.pack("11", newFiles, opts)
	full := h.pack("99", newFiles, cas.PackOptions{})
	if err := h.upload(d1); err != nil {
		t.Fatal(err)
	}
	st := h.status("11")
	if !strings.Contains(st, "state=ready") || !strings.Contains(st, "delta_base_epoch=10") {
		t.Fatalf("delta status = %q", st)
	}
	// The same delta applied again (its chunks re-sent): idempotent OKs.
	ents, _ := os.ReadDir(filepath.Join(d1, "chunks"))
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(d1, "chunks", e.Name()))
		if err := h.write("11/chunks/"+e.Name(), b); err != nil {
			t.Fatalf("re-applied chunk: %v", err)
		}
	}
	fm, _ := os.ReadFile(filepath.Join(full, "manifest.cbor"))
	want, _ := cas.DecodeManifest(fm, 1<<16)
	if got := h.status("11"); !strings.Contains(got, "payload_sha256="+want.PayloadSHA256.String()) {
		t.Fatalf("installed payload of the delta = %q; want the full pack's %s", got, want.PayloadSHA256)
	}
}

func TestModelWeightsCommitOnHash(t *testing.T) {
	h := newHive(t, nil)
	weights := []byte(strings.Repeat("w", 700))
	sum := sha256.Sum256(weights)
	d := hex.EncodeToString(sum[:])
	n := provtest.Walk(t, h.models, d+"/weights")
	if _, err := n.Append(provtest.QueenCaller, weights[:300], 0); err != nil {
		t.Fatal(err)
	}
	if _, err := n.ReadAt(make([]byte, 8), 0); err == nil {
		t.Fatal("read of pending weights succeeded")
	}
	if _, err := n.Append(provtest.QueenCaller, weights[300:], 300); err != nil {
		t.Fatal(err)
	}
	if got := provtest.Read(t, h.models, d+"/weights"); got != string(weights) {
		t.Fatal("weights do not read back")
	}
	if _, err := provtest.Walk(t, h.models, d+"/weights").Append(provtest.QueenCaller, []byte("x"), -1); !errors.Is(err, errs.ErrPermission) {
		t.Fatalf("write to committed weights = %v; want EPERM", err)
	}
	provtest.Append(t, h.models, provtest.QueenCaller, d+"/schema", "b64:"+"eyJ0eXBlIjoiZHVtbXkifQ==\n")
	if got := provtest.Read(t, h.models, d+"/schema"); got != `{"type":"dummy"}` {
		t.Fatalf("schema = %q", got)
	}
	if _, err := provtest.Walk(t, h.models, d+"/schema").Append(provtest.QueenCaller, []byte("again"), -1); !errors.Is(err, errs.ErrPermission) {
		t.Fatalf("second schema write = %v; want EPERM", err)
	}
	// Past model_max_bytes without a match: quarantined.
	other := strings.Repeat("0", 64)
	big := provtest.Walk(t, h.models, other+"/weights")
	if _, err := big.Append(provtest.QueenCaller, make([]byte, 4096), -1); !errors.Is(err, errs.ErrInvalid) || !strings.Contains(h.log(), "cas-model quarantined sha256="+other) {
		t.Fatalf("oversized weights = %v", err)
	}
}

func TestKeysetRotation(t *testing.T) {
	h := newHive(t, nil)
	pub, priv, _ := ed25519.GenerateKey(nil)
	ks, err := cas.NewKeyset(1, 0, []ed25519.PublicKey{pub})
	if err != nil {
		t.Fatal(err)
	}
	ks.Sign(h.root)
	if err := h.write("keys.cbor", ks.Encode()); err != nil {
		t.Fatal(err)
	}
	opts := cas.PackOptions{Sign: priv, Expires: time.Now().Add(time.Hour)}
	if err := h.upload(h.pack("20", map[string]string{"a": "delegated"}, opts)); err != nil {
		t.Fatalf("bundle signed by a keyset key: %v", err)
	}
	// Version 2 replaces the key: its next bundle is refused.
	next, _, _ := ed25519.GenerateKey(nil)
	ks2, err := cas.NewKeyset(2, 0, []ed25519.PublicKey{next})
	if err != nil {
		t.Fatal(err)
	}
	ks2.Sign(h.root)
	if err := h.write("keys.cbor", ks2.Encode()); err != nil {
		t.Fatal(err)
	}
	if err := h.upload(h.pack("21", map[string]string{"a": "revoked"}, opts)); err == nil {
		t.Fatal("a bundle signed by a rotated-out key was accepted")
	}
	// Replaying version 1 is a rollback.
	if err := h.write("keys.cbor", ks.Encode()); !errors.Is(err, errs.ErrPermission) || !strings.Contains(h.log(), "cas-keyset rejected version=1 reason=rollback") {
		t.Fatalf("keyset replay = %v", err)
	}
}

func TestUnsignedOnlyWhenNotRequired(t *testing.T) {
	h := newHive(t, func(c *queen.CASConfig) { c.SigningRequired = false })
	if err := h.upload(h.pack("1", map[string]string{"a": "free"}, cas.PackOptions{})); err != nil {
		t.Fatalf("unsigned upload with signing not required: %v", err)
	}
	if !strings.Contains(h.status("1"), "state=ready") {
		t.Fatal("unsigned bundle not ready")
	}
}

// TestReadyAfterProviderRestart: a provider built afresh over the same
// queen and store (a restarted root task) still notices the last chunk of
// an epoch accepted before it started.
func TestReadyAfterProviderRestart(t *testing.T) {
	h := newHive(t, nil)
	dir := h.pack("4", map[string]string{"a": strings.Repeat("q", 400)}, cas.PackOptions{Sign: h.root, Expires: time.Now().Add(time.Hour)})
	man, _ := os.ReadFile(filepath.Join(dir, "manifest.cbor"))
	if err := h.write("4/manifest.cbor", man); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "chunks"))
	for _, e := range ents[1:] {
		b, _ := os.ReadFile(filepath.Join(dir, "chunks", e.Name()))
		if err := h.write("4/chunks/"+e.Name(), b); err != nil {
			t.Fatal(err)
		}
	}
	cfg := h.q.Config().CAS
	h.updates = casfs.Mounts(casfs.Config{Queen: h.q, Store: h.store, CAS: cfg, Now: h.q.Clock.Now})[0].Provider
	// No read first: the write alone must find the epoch's missing set.
	b, _ := os.ReadFile(filepath.Join(dir, "chunks", ents[0].Name()))
	if err := h.write("4/chunks/"+ents[0].Name(), b); err != nil {
		t.Fatal(err)
	}
	if st := h.status("4"); !strings.Contains(st, "state=ready") {
		t.Fatalf("status = %q; want ready", st)
	}
}

// TestPayloadStream: the payload file takes writes at any offsets across
// chunk boundaries, skips nothing it must check (a tampered piece is
// quarantined), and reads back the payload once ready.
func TestPayloadStream(t *testing.T) {
	h := newHive(t, nil)
	dir := h.pack("30", map[string]string{"a": strings.Repeat("payload ", 90)}, cas.PackOptions{Sign: h.root, Expires: time.Now().Add(time.Hour)})
	man, _ := os.ReadFile(filepath.Join(dir, "manifest.cbor"))
	if err := h.write("30/manifest.cbor", man); err != nil {
		t.Fatal(err)
	}
	m, _ := cas.DecodeManifest(man, 1<<16)
	var payload []byte
	for _, d := range m.Chunks {
		b, _ := os.ReadFile(filepath.Join(dir, "chunks", d.String()))
		payload = append(payload, b...)
	}
	pf := provtest.Walk(t, h.updates, "30/payload")
	if _, err := pf.Append(provtest.QueenCaller, payload[:10], -1); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("a write with no offset = %v; want EINVAL", err)
	}
	// A tampered byte in the second chunk: the first is committed, the
	// second quarantined, the write answers the bytes taken and the error.
	bad := bytes.Clone(payload[:300])
	bad[200] ^= 1
	cb := int(m.ChunkBytes)
	if n, err := pf.Append(provtest.QueenCaller, bad, 0); !errors.Is(err, errs.ErrInvalid) || n != cb {
		t.Fatalf("tampered stream = %d, %v; want the first chunk taken, then EINVAL", n, err)
	}
	if !strings.Contains(h.log(), "cas-chunk quarantined epoch=30 expected="+m.Chunks[1].String()) {
		t.Fatalf("no quarantine line:\n%s", h.log())
	}
	// The stream again from the start of the refused chunk, in 100-byte
	// writes that cross chunk boundaries; the committed ones compare.
	for off := 0; off < len(payload); off += 100 {
		end := min(off+100, len(payload))
		if off < cb && end > cb {
			off = cb // chunk 1 restarts at its start; chunk 0 is done
			end = min(off+100, len(payload))
		}
		if _, err := pf.Append(provtest.QueenCaller, payload[off:end], int64(off)); err != nil {
			t.Fatalf("write at %d: %v", off, err)
		}
	}
	if st := h.status("30"); !strings.Contains(st, "state=ready") {
		t.Fatalf("status = %q", st)
	}
	if got := provtest.Read(t, h.updates, "30/payload"); got != string(payload) {
		t.Fatal("payload does not read back")
	}
	other := bytes.Clone(payload[:10])
	other[0] ^= 1
	if _, err := pf.Append(provtest.QueenCaller, other, 0); !errors.Is(err, errs.ErrPermission) {
		t.Fatalf("other bytes over a committed chunk = %v; want EPERM", err)
	}
}

// TestConcurrentChunks: chunks written by several sessions at once all
// commit and the epoch becomes ready exactly once (run with -race).
func TestConcurrentChunks(t *testing.T) {
	h := newHive(t, func(c *queen.CASConfig) { c.PendingMax = 64 }) // a partial per writer
	dir := h.pack("40", map[string]string{"a": strings.Repeat("0123456789abcdef", 300)}, cas.PackOptions{Sign: h.root, Expires: time.Now().Add(time.Hour)})
	man, _ := os.ReadFile(filepath.Join(dir, "manifest.cbor"))
	if err := h.write("40/manifest.cbor", man); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "chunks"))
	errc := make(chan error, len(ents))
	for _, e := range ents {
		go func() {
			b, _ := os.ReadFile(filepath.Join(dir, "chunks", e.Name()))
			n := provtest.Walk(t, h.updates, "40/chunks/"+e.Name())
			_, err := n.Append(provtest.QueenCaller, b[:40], 0)
			if err == nil {
				_, err = n.Append(provtest.QueenCaller, b[40:], 40)
			}
			errc <- err
		}()
	}
	for range ents {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	if st := h.status("40"); !strings.Contains(st, "state=ready") {
		t.Fatalf("status = %q", st)
	}
	if got := strings.Count(h.log(), "cas-update ready epoch=40"); got != 1 {
		t.Fatalf("ready logged %d times", got)
	}
}

// TestPayloadCommitsAfterTurn: a payload write puts its bytes in the
// chunks' partials, ends its turn (queued), and only then commits the
// chunks it completed, so the connection's next write need not wait for
// the durable commit; a chunk the manifest repeats inside one write is
// committed once and then compared.
func TestPayloadCommitsAfterTurn(t *testing.T) {
	h := newHive(t, nil)
	dir := h.pack("31", map[string]string{"z": strings.Repeat("z", 640)}, cas.PackOptions{Sign: h.root, Expires: time.Now().Add(time.Hour)})
	man, _ := os.ReadFile(filepath.Join(dir, "manifest.cbor"))
	if err := h.write("31/manifest.cbor", man); err != nil {
		t.Fatal(err)
	}
	m, _ := cas.DecodeManifest(man, 1<<16)
	var payload []byte
	repeats := map[string]int{}
	for _, d := range m.Chunks {
		b, _ := os.ReadFile(filepath.Join(dir, "chunks", d.String()))
		payload = append(payload, b...)
		repeats[d.String()]++
	}
	if len(repeats) == len(m.Chunks) {
		t.Fatal("the bundle repeats no chunk; the test needs one")
	}
	pf, ok := provtest.Walk(t, h.updates, "31/payload").(ns.QueuedAppender)
	if !ok {
		t.Fatal("payload is not a QueuedAppender")
	}
	cb := int(m.ChunkBytes)
	first := m.Chunks[0].String()
	queued := 0
	n, err := pf.AppendQueued(provtest.QueenCaller, payload[:cb+cb/2], 0, func() {
		queued++
		if _, ok := h.store.Has(first); ok {
			t.Error("the chunk was committed before the write's turn ended")
		}
	})
	if err != nil || n != cb+cb/2 || queued != 1 {
		t.Fatalf("first write = %d, %v, queued %d times", n, err, queued)
	}
	if _, ok := h.store.Has(first); !ok {
		t.Fatal("the completed chunk is not committed when the write returns")
	}
	step := 3*cb + cb/2 // several chunks per write, repeated ones among them
	for off := cb + cb/2; off < len(payload); off += step {
		end := min(off+step, len(payload))
		queued = 0
		if n, err := pf.AppendQueued(provtest.QueenCaller, payload[off:end], int64(off), func() { queued++ }); err != nil || n != end-off || queued != 1 {
			t.Fatalf("write at %d = %d, %v, queued %d times", off, n, err, queued)
		}
	}
	if st := h.status("31"); !strings.Contains(st, "state=ready") {
		t.Fatalf("status = %q", st)
	}
	if got := provtest.Read(t, h.updates, "31/payload"); got != string(payload) {
		t.Fatal("payload does not read back")
	}
}
