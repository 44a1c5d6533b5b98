package cas

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/bits"
)

// Delta names the base a delta manifest builds on: the base bundle's epoch
// and payload SHA-256 (docs/CAS.md, Delta semantics).
type Delta struct {
	BaseEpoch  string
	BaseSHA256 Digest
}

// Manifest is a decoded CAS manifest. The wire form is a CBOR array:
//
//	v1 (8 items):  [schema, epoch, chunk_bytes, payload_bytes, payload_sha256, chunks, delta, signature]
//	v2 (10 items): [schema, epoch, chunk_bytes, payload_bytes, payload_sha256, chunks, delta, expires, key_id, signature]
//
// Encode writes Expires and KeyID only for SchemaV2.
type Manifest struct {
	Schema        string // SchemaV1 or SchemaV2
	Epoch         string
	ChunkBytes    uint64
	PayloadBytes  uint64
	PayloadSHA256 Digest
	Chunks        []Digest
	Delta         *Delta // nil when not a delta
	Expires       uint64 // v2 only: unix seconds after which the bundle is stale; 0 = never (and always 0 in v1)
	KeyID         string // v2 only: KeyID of the signing key; "" when unsigned or v1
	Signature     []byte // nil or 64 bytes (Ed25519)
}

func itemsFor(schema string) int {
	switch schema {
	case SchemaV1:
		return 8
	case SchemaV2:
		return 10
	}
	return 0
}

// Encode returns the deterministic CBOR encoding (shortest heads, definite
// lengths, array form). It encodes what it is given; DecodeManifest is
// where rules are checked.
func (m *Manifest) Encode() []byte { return m.encode(true) }

// SigningBytes returns the bytes an Ed25519 signature covers: the same
// array with signature = null. For v2 that includes expires and key_id.
func (m *Manifest) SigningBytes() []byte { return m.encode(false) }

func (m *Manifest) encode(withSig bool) []byte {
	v2 := m.Schema == SchemaV2
	n := 8
	if v2 {
		n = 10
	}
	b := make([]byte, 0, 100+35*len(m.Chunks)) // fixed fields, then a head and 32 bytes per chunk
	b = appendHead(b, majArray, uint64(n))
	b = appendText(b, m.Schema)
	b = appendText(b, m.Epoch)
	b = appendHead(b, majUint, m.ChunkBytes)
	b = appendHead(b, majUint, m.PayloadBytes)
	b = appendBytes(b, m.PayloadSHA256[:])
	b = appendHead(b, majArray, uint64(len(m.Chunks)))
	for i := range m.Chunks {
		b = appendBytes(b, m.Chunks[i][:])
	}
	if m.Delta == nil {
		b = append(b, cborNull)
	} else {
		b = appendHead(b, majArray, 2)
		b = appendText(b, m.Delta.BaseEpoch)
		b = appendBytes(b, m.Delta.BaseSHA256[:])
	}
	if v2 {
		b = appendHead(b, majUint, m.Expires)
		b = appendText(b, m.KeyID)
	}
	if withSig && m.Signature != nil {
		b = appendBytes(b, m.Signature)
	} else {
		b = append(b, cborNull)
	}
	return b
}

// DecodeManifest decodes b strictly: the exact item count for the schema,
// the exact types, 32-byte digests, a 64-byte signature or null, delta null
// or [text, bytes(32)], shortest-form heads, no trailing bytes, at most
// maxChunks chunks, a valid epoch, chunk_bytes > 0 and
// payload_bytes == len(chunks) × chunk_bytes. For v2, key_id is "" or 16
// lower-case hex chars and is set exactly when a signature is. When b is a
// strict prefix of what could still be a valid manifest the error wraps
// ErrIncomplete. It does not check the signature (VerifySignature does).
func DecodeManifest(b []byte, maxChunks int) (*Manifest, error) {
	m, err := decodeManifest(b, maxChunks)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return m, nil
}

func decodeManifest(b []byte, maxChunks int) (*Manifest, error) {
	d := &decoder{b: b}
	n, err := d.arrayLen("manifest", 8, 10)
	if err != nil {
		return nil, err
	}
	if n == 9 {
		return nil, fmt.Errorf("manifest: want 8 (v1) or 10 (v2) items, have 9")
	}
	m := &Manifest{}
	s, err := d.str("schema", majText, uint64(len(SchemaV1)), uint64(len(SchemaV1)))
	if err != nil {
		return nil, err
	}
	m.Schema = string(s)
	if want := itemsFor(m.Schema); want == 0 {
		return nil, fmt.Errorf("schema %q unknown; want %s or %s", m.Schema, SchemaV1, SchemaV2)
	} else if want != n {
		return nil, fmt.Errorf("schema %s has %d items; want %d", m.Schema, n, want)
	}
	e, err := d.str("epoch", majText, 1, 20)
	if err != nil {
		return nil, err
	}
	if m.Epoch = string(e); !ValidEpoch(m.Epoch) {
		return nil, fmt.Errorf("epoch %q: want 1 to 20 ASCII digits", m.Epoch)
	}
	if m.ChunkBytes, err = d.uint("chunk_bytes"); err != nil {
		return nil, err
	}
	if m.ChunkBytes == 0 {
		return nil, errors.New("chunk_bytes is 0")
	}
	if m.PayloadBytes, err = d.uint("payload_bytes"); err != nil {
		return nil, err
	}
	if m.PayloadSHA256, err = d.digest("payload_sha256"); err != nil {
		return nil, err
	}
	if maxChunks < 0 {
		maxChunks = 0
	}
	nc, err := d.want("chunks", majArray)
	if err != nil {
		return nil, err
	}
	if nc > uint64(maxChunks) {
		return nil, fmt.Errorf("chunks: %d chunks; at most %d allowed", nc, maxChunks)
	}
	if hi, lo := bits.Mul64(nc, m.ChunkBytes); hi != 0 || lo != m.PayloadBytes {
		return nil, fmt.Errorf("payload_bytes %d != %d chunks × chunk_bytes %d", m.PayloadBytes, nc, m.ChunkBytes)
	}
	if nc > 0 {
		m.Chunks = make([]Digest, 0, min(nc, uint64(len(b)/34+1)))
	}
	for i := uint64(0); i < nc; i++ {
		g, err := d.digest(fmt.Sprintf("chunk %d", i))
		if err != nil {
			return nil, err
		}
		m.Chunks = append(m.Chunks, g)
	}
	null, err := d.nullOr()
	if err != nil {
		return nil, err
	}
	if !null {
		if _, err := d.arrayLen("delta", 2, 2); err != nil {
			return nil, fmt.Errorf("%w (want null or [base_epoch, base_sha256])", err)
		}
		be, err := d.str("delta base_epoch", majText, 1, 20)
		if err != nil {
			return nil, err
		}
		if !ValidEpoch(string(be)) {
			return nil, fmt.Errorf("delta base_epoch %q: want 1 to 20 ASCII digits", be)
		}
		m.Delta = &Delta{BaseEpoch: string(be)}
		if m.Delta.BaseSHA256, err = d.digest("delta base_sha256"); err != nil {
			return nil, err
		}
	}
	if m.Schema == SchemaV2 {
		if m.Expires, err = d.uint("expires"); err != nil {
			return nil, err
		}
		id, err := d.str("key_id", majText, 0, 16)
		if err != nil {
			return nil, err
		}
		if m.KeyID = string(id); len(id) != 0 && !validKeyID(m.KeyID) {
			return nil, fmt.Errorf("key_id %q: want 16 lower-case hex chars", m.KeyID)
		}
	}
	if null, err = d.nullOr(); err != nil {
		return nil, err
	}
	if !null {
		sig, err := d.str("signature", majBytes, ed25519.SignatureSize, ed25519.SignatureSize)
		if err != nil {
			return nil, fmt.Errorf("%w (want null or bytes(64))", err)
		}
		m.Signature = bytes.Clone(sig)
	}
	if m.Schema == SchemaV2 && (m.KeyID == "") != (m.Signature == nil) {
		if m.Signature == nil {
			return nil, fmt.Errorf("key_id %s set but signature is null", m.KeyID)
		}
		return nil, errors.New("signature set but key_id is empty")
	}
	if d.off != len(b) {
		return nil, fmt.Errorf("%d trailing bytes after the manifest", len(b)-d.off)
	}
	if !bytes.Equal(m.Encode(), b) {
		return nil, errors.New("not in deterministic encoding")
	}
	return m, nil
}

// Sign signs m with priv. For v2 it first sets KeyID to KeyID of priv's
// public key, so the signature covers the key id too.
func (m *Manifest) Sign(priv ed25519.PrivateKey) {
	if m.Schema == SchemaV2 {
		m.KeyID = KeyID(priv.Public().(ed25519.PublicKey))
	}
	m.Signature = ed25519.Sign(priv, m.SigningBytes())
}

// VerifySignature checks m's signature with pub. A v2 manifest must also
// name pub's key id.
func (m *Manifest) VerifySignature(pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("public key has %d bytes; want %d", len(pub), ed25519.PublicKeySize)
	}
	if m.Signature == nil {
		return errors.New("manifest is unsigned")
	}
	if m.Schema == SchemaV2 && m.KeyID != KeyID(pub) {
		return fmt.Errorf("manifest is signed by key %s, not by key %s", m.KeyID, KeyID(pub))
	}
	if len(m.Signature) != ed25519.SignatureSize || !ed25519.Verify(pub, m.SigningBytes(), m.Signature) {
		return fmt.Errorf("signature does not verify with key %s", KeyID(pub))
	}
	return nil
}
