package cas

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeTree(t testing.TB, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var tree = map[string]string{
	"a.txt":           "alpha\n",
	"sub/b.bin":       strings.Repeat("b", 3000),
	"sub/deep/c.conf": "c=1\n",
	"z/empty":         "",
}

// payload reads a bundle's chunks back in manifest order.
func payload(t *testing.T, dirs []string, m *Manifest) []byte {
	var out []byte
	for _, c := range m.Chunks {
		var b []byte
		var err error
		for _, d := range dirs {
			if b, err = os.ReadFile(filepath.Join(d, ChunksDir, c.String())); err == nil {
				break
			}
		}
		if err != nil {
			t.Fatalf("chunk %s: %v", c, err)
		}
		out = append(out, b...)
	}
	return out
}

func TestPackVerifyRoundTrip(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	writeTree(t, in, tree)
	priv := testKey(5)
	out := filepath.Join(dir, "b")
	m, err := Pack(in, PackOptions{Epoch: "7", ChunkBytes: 128, OutDir: out, Sign: priv, Expires: time.Unix(2_000_000_000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if m.Schema != SchemaV2 || m.KeyID != KeyID(pubOf(priv)) || m.Expires != 2_000_000_000 {
		t.Errorf("Pack signed = %s key %s expires %d; want v2, key %s, 2000000000", m.Schema, m.KeyID, m.Expires, KeyID(pubOf(priv)))
	}
	r, err := VerifyBundle(out, VerifyOptions{Public: pubOf(priv), Now: time.Unix(1_999_999_999, 0)})
	if err != nil || !r.OK || r.Signature != "valid" || !r.PayloadOK {
		t.Fatalf("VerifyBundle = %+v, %v; want ok", r, err)
	}
	// The payload is a tar of the tree, in walk order, with fixed metadata.
	p := payload(t, []string{out}, m)
	if uint64(len(p)) != m.PayloadBytes || Digest(sha256.Sum256(p)) != m.PayloadSHA256 {
		t.Fatalf("payload %d bytes; manifest says %d and another hash", len(p), m.PayloadBytes)
	}
	tr := tar.NewReader(bytes.NewReader(p))
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		body, _ := io.ReadAll(tr)
		if h.ModTime.Unix() != 0 || h.Uid != 0 || h.Uname != "" || (h.Typeflag == tar.TypeReg && string(body) != tree[h.Name]) {
			t.Errorf("entry %s: mtime %v uid %d uname %q body %q", h.Name, h.ModTime, h.Uid, h.Uname, body)
		}
	}
	want := "a.txt sub/ sub/b.bin sub/deep/ sub/deep/c.conf z/ z/empty"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("tar entries = %s; want %s", got, want)
	}
	// Expired, wrong key, unsigned-with-key all fail.
	if _, err := VerifyBundle(out, VerifyOptions{Public: pubOf(priv), Now: time.Unix(2_000_000_001, 0)}); !errors.Is(err, ErrVerify) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("VerifyBundle(after expiry) = %v; want expired", err)
	}
	if _, err := VerifyBundle(out, VerifyOptions{Public: pubOf(testKey(6))}); !errors.Is(err, ErrVerify) {
		t.Errorf("VerifyBundle(wrong key) = %v; want ErrVerify", err)
	}
	ks := sampleKeyset(t)
	if _, err := VerifyBundle(out, VerifyOptions{Keyset: ks, Root: pubOf(testKey(99))}); err == nil || !strings.Contains(err.Error(), "not in keyset") {
		t.Errorf("VerifyBundle(keyset without the key) = %v; want not in keyset", err)
	}
	ks2, _ := NewKeyset(4, 0, []ed25519.PublicKey{pubOf(priv)})
	ks2.Sign(testKey(99))
	if r, err := VerifyBundle(out, VerifyOptions{Keyset: ks2, Root: pubOf(testKey(99))}); err != nil || r.Signature != "valid" {
		t.Errorf("VerifyBundle(keyset with the key) = %v; want valid", err)
	}
}

func TestPackSingleFileAndDeterminism(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "model.bin")
	os.WriteFile(f, bytes.Repeat([]byte("x"), 1000), 0o644)
	var enc [][]byte
	for _, o := range []string{"b1", "b2"} {
		m, err := Pack(f, PackOptions{Epoch: "1", ChunkBytes: 256, OutDir: filepath.Join(dir, o)})
		if err != nil {
			t.Fatal(err)
		}
		if m.Schema != SchemaV1 || m.Signature != nil {
			t.Errorf("unsigned Pack = %s signed=%t; want v1 unsigned", m.Schema, m.Signature != nil)
		}
		b, _ := os.ReadFile(filepath.Join(dir, o, ManifestFile))
		enc = append(enc, b)
		os.Chtimes(f, time.Now().Add(time.Hour), time.Now().Add(time.Hour)) // mtime must not matter
	}
	if !bytes.Equal(enc[0], enc[1]) {
		t.Errorf("two packs of the same input differ")
	}
	m, _ := DecodeManifest(enc[0], MaxBundleChunks)
	tr := tar.NewReader(bytes.NewReader(payload(t, []string{filepath.Join(dir, "b1")}, m)))
	if h, err := tr.Next(); err != nil || h.Name != "model.bin" {
		t.Errorf("single-file tar first entry = %v, %v; want model.bin", h, err)
	}
	if _, err := Pack(f, PackOptions{Epoch: "1", ChunkBytes: 256, OutDir: filepath.Join(dir, "b1")}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("Pack into a full dir = %v; want a refusal", err)
	}
}

func TestPackRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	writeTree(t, in, map[string]string{"a": "x"})
	os.Symlink("a", filepath.Join(in, "link"))
	_, err := Pack(in, PackOptions{Epoch: "1", ChunkBytes: 128, OutDir: filepath.Join(dir, "b")})
	if err == nil || !strings.Contains(err.Error(), "link is a symlink") {
		t.Errorf("Pack(with symlink) = %v; want the symlink refusal", err)
	}
}

func TestDeltaPackVerify(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	writeTree(t, in, tree)
	base := filepath.Join(dir, "base")
	bm, err := Pack(in, PackOptions{Epoch: "1", ChunkBytes: 128, OutDir: base})
	if err != nil {
		t.Fatal(err)
	}
	writeTree(t, in, map[string]string{"sub/deep/c.conf": "c=2\n"})
	var outs []*Manifest
	for _, o := range []string{"d1", "d2"} {
		m, err := Pack(in, PackOptions{Epoch: "2", ChunkBytes: 128, OutDir: filepath.Join(dir, o), DeltaFrom: base})
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, m)
	}
	d := outs[0]
	if d.Delta == nil || d.Delta.BaseEpoch != "1" || d.Delta.BaseSHA256 != bm.PayloadSHA256 || outs[1].PayloadSHA256 != d.PayloadSHA256 {
		t.Fatalf("delta = %+v; want base 1 %s, and the same payload twice", d.Delta, bm.PayloadSHA256)
	}
	inBase := map[Digest]bool{}
	for _, c := range bm.Chunks {
		inBase[c] = true
	}
	want := map[Digest]bool{}
	for _, c := range d.Chunks {
		if !inBase[c] {
			want[c] = true
		}
	}
	files, _ := os.ReadDir(filepath.Join(dir, "d1", ChunksDir))
	if len(files) != len(want) || len(want) == 0 || len(want) >= len(d.Chunks)/2 {
		t.Errorf("delta wrote %d chunk files; want the %d new ones of %d", len(files), len(want), len(d.Chunks))
	}
	for _, f := range files {
		c, _ := ParseDigest(f.Name())
		if !want[c] {
			t.Errorf("delta wrote %s, which the base has", f.Name())
		}
	}
	r, err := VerifyBundle(filepath.Join(dir, "d1"), VerifyOptions{Base: base})
	if err != nil || r.FromBase == 0 || r.InBundle != len(want) {
		t.Errorf("VerifyBundle(delta, base) = %+v, %v; want ok", r, err)
	}
	_, err = VerifyBundle(filepath.Join(dir, "d1"), VerifyOptions{})
	if !errors.Is(err, ErrVerify) || !strings.Contains(err.Error(), "pass --base") {
		t.Errorf("VerifyBundle(delta, no base) = %v; want the pass --base failure", err)
	}
	if _, err := Pack(in, PackOptions{Epoch: "1", ChunkBytes: 128, OutDir: filepath.Join(dir, "d3"), DeltaFrom: base}); err == nil || !strings.Contains(err.Error(), "epochs only rise") {
		t.Errorf("Pack(delta, same epoch) = %v; want a refusal", err)
	}
}

func TestVerifyTamperedChunk(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	writeTree(t, in, tree)
	out := filepath.Join(dir, "b")
	m, err := Pack(in, PackOptions{Epoch: "3", ChunkBytes: 128, OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	victim := m.Chunks[1].String()
	p := filepath.Join(out, ChunksDir, victim)
	b, _ := os.ReadFile(p)
	b[0] ^= 0xff
	os.WriteFile(p, b, 0o644)
	r, err := VerifyBundle(out, VerifyOptions{})
	if !errors.Is(err, ErrVerify) || !strings.Contains(err.Error(), victim) || r.PayloadOK || r.Bad[0].Digest != victim {
		t.Errorf("VerifyBundle(tampered) = %v (bad %+v); want a failure naming %s", err, r.Bad, victim)
	}
	os.WriteFile(p, b[:100], 0o644)
	if _, err := VerifyBundle(out, VerifyOptions{}); err == nil || !strings.Contains(err.Error(), "has 100 bytes") {
		t.Errorf("VerifyBundle(short chunk) = %v; want has 100 bytes", err)
	}
	os.WriteFile(p, append(b, 1), 0o644)
	if _, err := VerifyBundle(out, VerifyOptions{}); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("VerifyBundle(long chunk) = %v; want longer than", err)
	}
	os.Remove(p)
	if _, err := VerifyBundle(out, VerifyOptions{}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("VerifyBundle(missing chunk) = %v; want missing", err)
	}
}
