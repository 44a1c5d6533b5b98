package cas

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/go-cmp/cmp"
)

func testKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, 32))
}

func sampleManifest(schema string, n int) *Manifest {
	m := &Manifest{Schema: schema, Epoch: "42", ChunkBytes: 128}
	for i := 0; i < n; i++ {
		m.Chunks = append(m.Chunks, Digest(sha256.Sum256([]byte{byte(i)})))
	}
	m.PayloadBytes = uint64(n) * m.ChunkBytes
	m.PayloadSHA256 = Digest(sha256.Sum256([]byte("payload")))
	return m
}

// validEncodings are the seeds of the round-trip and fuzz tests.
func validManifests() map[string]*Manifest {
	v1 := sampleManifest(SchemaV1, 3)
	v1d := sampleManifest(SchemaV1, 2)
	v1d.Delta = &Delta{BaseEpoch: "41", BaseSHA256: Digest(sha256.Sum256([]byte("base")))}
	v1s := sampleManifest(SchemaV1, 1)
	v1s.Sign(testKey(1))
	v2 := sampleManifest(SchemaV2, 4)
	v2.Expires = 1_900_000_000
	v2.Sign(testKey(2))
	v2u := sampleManifest(SchemaV2, 0)
	v2u.Expires = 70000
	big := sampleManifest(SchemaV1, 30) // chunk array head of two bytes
	big.ChunkBytes, big.PayloadBytes = 70000, 30*70000
	return map[string]*Manifest{"v1": v1, "v1-delta": v1d, "v1-signed": v1s, "v2-signed": v2, "v2-unsigned": v2u, "v1-30-chunks": big}
}

// TestManifestMatchesCoreDeterministic checks Encode against an
// independent encoder: fxamacker/cbor in core deterministic mode.
func TestManifestMatchesCoreDeterministic(t *testing.T) {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range validManifests() {
		chunks := make([][]byte, len(m.Chunks))
		for i := range m.Chunks {
			chunks[i] = m.Chunks[i][:]
		}
		var delta any
		if m.Delta != nil {
			delta = []any{m.Delta.BaseEpoch, m.Delta.BaseSHA256[:]}
		}
		var sig any
		if m.Signature != nil {
			sig = m.Signature
		}
		arr := []any{m.Schema, m.Epoch, m.ChunkBytes, m.PayloadBytes, m.PayloadSHA256[:], chunks, delta}
		if m.Schema == SchemaV2 {
			arr = append(arr, m.Expires, m.KeyID)
		}
		want, err := em.Marshal(append(arr, sig))
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Encode(); !bytes.Equal(got, want) {
			t.Errorf("%s: Encode() = %x; want %x", name, got, want)
		}
	}
}

func TestManifestRoundTrip(t *testing.T) {
	for name, m := range validManifests() {
		t.Run(name, func(t *testing.T) {
			b := m.Encode()
			got, err := DecodeManifest(b, 64)
			if err != nil {
				t.Fatalf("DecodeManifest(%x) = %v", b, err)
			}
			if d := cmp.Diff(m, got); d != "" {
				t.Errorf("DecodeManifest(Encode(m)) differs (-want +got):\n%s", d)
			}
			if !bytes.Equal(got.Encode(), b) {
				t.Errorf("re-encode differs")
			}
		})
	}
}

func TestDecodeManifestIncomplete(t *testing.T) {
	for name, m := range validManifests() {
		b := m.Encode()
		for i := 0; i < len(b); i++ {
			if _, err := DecodeManifest(b[:i], 64); !errors.Is(err, ErrIncomplete) {
				t.Fatalf("%s: DecodeManifest(prefix %d of %d) = %v; want ErrIncomplete", name, i, len(b), err)
			}
		}
	}
}

// cat returns a new slice of a followed by b.
func cat(a []byte, b ...byte) []byte { return append(bytes.Clone(a), b...) }

// edit returns the v1 sample's encoding with old replaced by new once.
func edit(t *testing.T, b []byte, old, new []byte) []byte {
	t.Helper()
	if bytes.Count(b, old) < 1 {
		t.Fatalf("edit: %x not in %x", old, b)
	}
	return bytes.Replace(b, old, new, 1)
}

func TestDecodeManifestRejects(t *testing.T) {
	m := sampleManifest(SchemaV1, 3)
	good := m.Encode()
	hdr := append(appendText([]byte{0x88}, SchemaV1), appendText(nil, "42")...)
	tooLong := sampleManifest(SchemaV1, 3)
	tooLong.Epoch = strings.Repeat("1", 21)
	badEpoch := sampleManifest(SchemaV1, 3)
	badEpoch.Epoch = "4x"
	zero := sampleManifest(SchemaV1, 0)
	zero.ChunkBytes = 0
	v2 := sampleManifest(SchemaV2, 1)
	v2.KeyID = "0123456789abcdef"
	v2s := sampleManifest(SchemaV2, 1)
	v2s.Signature = make([]byte, 64)
	badDelta := sampleManifest(SchemaV1, 1)
	badDelta.Delta = &Delta{BaseEpoch: "x"}
	tests := []struct {
		name, want string
		b          []byte
	}{
		{"nine items", "want 8 (v1) or 10 (v2) items", cat([]byte{0x89}, good[1:]...)},
		{"seven items", "want 8 to 10 items", cat([]byte{0x87}, good[1:]...)},
		{"ten items for v1", "has 10 items; want 8", cat([]byte{0x8a}, good[1:]...)},
		{"trailing bytes", "1 trailing bytes", cat(good, 0)},
		{"non-shortest uint", "shortest form", edit(t, good, cat(hdr, 0x18, 0x80), cat(hdr, 0x19, 0x00, 0x80))},
		{"non-shortest small uint", "shortest form", edit(t, good, cat(hdr, 0x18, 0x80), cat(hdr, 0x18, 0x05))},
		{"digest of 31 bytes", "payload_sha256: want 32 bytes, have 31", edit(t, good, []byte{0x58, 0x20}, []byte{0x58, 0x1f})},
		{"epoch not digits", "epoch \"4x\"", badEpoch.Encode()},
		{"epoch too long", "epoch: want 1 to 20 bytes, have 21", tooLong.Encode()},
		{"payload mismatch", "payload_bytes 384 != 2 chunks", edit(t, good, []byte{0x83, 0x58}, []byte{0x82, 0x58})},
		{"too many chunks", "3 chunks; at most 2", nil},
		{"chunk_bytes zero", "chunk_bytes is 0", zero.Encode()},
		{"unknown schema", "unknown", edit(t, good, []byte("manifest-v1"), []byte("manifest-v9"))},
		{"indefinite array", "indefinite length", cat([]byte{0x9f}, good[1:]...)},
		{"map", "map not allowed", cat([]byte{0xa8}, good[1:]...)},
		{"signature 63 bytes", "signature: want 64 bytes", cat(good[:len(good)-1], 0x58, 0x3f)},
		{"v2 key_id without signature", "signature is null", v2.Encode()},
		{"v2 signature without key_id", "key_id is empty", v2s.Encode()},
		{"bad delta epoch", "delta base_epoch", badDelta.Encode()},
		{"delta not array", "want null or [base_epoch", edit(t, good, []byte{0xf6, 0xf6}, []byte{0x01, 0xf6})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, max := tt.b, 64
			if b == nil {
				b, max = good, 2
			}
			_, err := DecodeManifest(b, max)
			if err == nil || errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("DecodeManifest(%x) = %v; want an error containing %q", b, err, tt.want)
			}
		})
	}
}

func TestManifestSignVerify(t *testing.T) {
	for _, schema := range []string{SchemaV1, SchemaV2} {
		m := sampleManifest(schema, 2)
		priv := testKey(7)
		pub := priv.Public().(ed25519.PublicKey)
		m.Sign(priv)
		if schema == SchemaV2 && m.KeyID != KeyID(pub) {
			t.Errorf("%s: Sign set KeyID %q; want %q", schema, m.KeyID, KeyID(pub))
		}
		if err := m.VerifySignature(pub); err != nil {
			t.Fatalf("%s: VerifySignature = %v", schema, err)
		}
		if err := m.VerifySignature(testKey(8).Public().(ed25519.PublicKey)); err == nil {
			t.Errorf("%s: VerifySignature(other key) = nil; want an error", schema)
		}
		b := m.Encode()
		sigStart := len(b) - 64
		for _, i := range []int{5, sigStart - 3, sigStart + 10} { // in the schema, before and in the signature
			c := bytes.Clone(b)
			c[i] ^= 1
			dm, err := DecodeManifest(c, 64)
			if err != nil {
				continue // a flipped byte may break decoding: also a rejection
			}
			if err := dm.VerifySignature(pub); err == nil {
				t.Errorf("%s: flipped byte %d still verifies", schema, i)
			}
		}
	}
}

func TestDigestAndEpochs(t *testing.T) {
	d := Digest(sha256.Sum256(nil))
	if got, err := ParseDigest(d.String()); err != nil || got != d {
		t.Errorf("ParseDigest(%s) = %v, %v; want the digest", d, got, err)
	}
	for _, s := range []string{"", strings.ToUpper(d.String()), d.String()[:63], d.String() + "0", " " + d.String()[1:]} {
		if _, err := ParseDigest(s); err == nil {
			t.Errorf("ParseDigest(%q) = nil error; want an error", s)
		}
	}
	for s, want := range map[string]bool{"0": true, "12345678901234567890": true, "": false, "123456789012345678901": false, "1a": false, "-1": false} {
		if got := ValidEpoch(s); got != want {
			t.Errorf("ValidEpoch(%q) = %t; want %t", s, got, want)
		}
	}
	for _, tt := range []struct {
		a, b string
		want int
	}{{"1", "2", -1}, {"10", "9", 1}, {"007", "7", 0}, {"99999999999999999999", "18446744073709551615", 1}, {"0", "000", 0}} {
		if got := CompareEpochs(tt.a, tt.b); got != tt.want {
			t.Errorf("CompareEpochs(%q, %q) = %d; want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
