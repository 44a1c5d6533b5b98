package cas

import (
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
	m := &Manifest{}
	if err := m.decodeHeader(d); err != nil {
		return nil, err
	}
	if err := m.decodeChunks(d, maxChunks); err != nil {
		return nil, err
	}
	var err error
	if m.Delta, err = decodeDelta(d); err != nil {
		return nil, err
	}
	if err := m.decodeV2Fields(d); err != nil {
		return nil, err
	}
	if m.Signature, err = d.signature(); err != nil {
		return nil, err
	}
	if err := m.checkKeyIDSigned(); err != nil {
		return nil, err
	}
	if err := d.finish("manifest", m.Encode); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeHeader reads the array head and the fields before the chunk list:
// schema (which fixes the item count), epoch, chunk_bytes, payload_bytes
// and payload_sha256.
func (m *Manifest) decodeHeader(d *decoder) error {
	n, err := d.arrayLen("manifest", 8, 10)
	if err != nil {
		return err
	}
	if n == 9 {
		return fmt.Errorf("manifest: want 8 (v1) or 10 (v2) items, have 9")
	}
	s, err := d.str("schema", majText, uint64(len(SchemaV1)), uint64(len(SchemaV1)))
	if err != nil {
		return err
	}
	m.Schema = string(s)
	if want := itemsFor(m.Schema); want == 0 {
		return fmt.Errorf("schema %q unknown; want %s or %s", m.Schema, SchemaV1, SchemaV2)
	} else if want != n {
		return fmt.Errorf("schema %s has %d items; want %d", m.Schema, n, want)
	}
	e, err := d.str("epoch", majText, 1, 20)
	if err != nil {
		return err
	}
	if m.Epoch = string(e); !ValidEpoch(m.Epoch) {
		return fmt.Errorf("epoch %q: want 1 to 20 ASCII digits", m.Epoch)
	}
	if m.ChunkBytes, err = d.uint("chunk_bytes"); err != nil {
		return err
	}
	if m.ChunkBytes == 0 {
		return errors.New("chunk_bytes is 0")
	}
	if m.PayloadBytes, err = d.uint("payload_bytes"); err != nil {
		return err
	}
	m.PayloadSHA256, err = d.digest("payload_sha256")
	return err
}

// decodeChunks reads the chunk list. The count is checked against
// maxChunks and payload_bytes at the array head, before any chunk arrives.
func (m *Manifest) decodeChunks(d *decoder, maxChunks int) error {
	if maxChunks < 0 {
		maxChunks = 0
	}
	nc, err := d.want("chunks", majArray)
	if err != nil {
		return err
	}
	if nc > uint64(maxChunks) {
		return fmt.Errorf("chunks: %d chunks; at most %d allowed", nc, maxChunks)
	}
	if hi, lo := bits.Mul64(nc, m.ChunkBytes); hi != 0 || lo != m.PayloadBytes {
		return fmt.Errorf("payload_bytes %d != %d chunks × chunk_bytes %d", m.PayloadBytes, nc, m.ChunkBytes)
	}
	if nc > 0 {
		m.Chunks = make([]Digest, 0, min(nc, uint64(len(d.b)/34+1)))
	}
	for i := uint64(0); i < nc; i++ {
		g, err := d.digest(fmt.Sprintf("chunk %d", i))
		if err != nil {
			return err
		}
		m.Chunks = append(m.Chunks, g)
	}
	return nil
}

// decodeDelta reads the delta item: null (nil) or [base_epoch, base_sha256].
func decodeDelta(d *decoder) (*Delta, error) {
	null, err := d.nullOr()
	if err != nil || null {
		return nil, err
	}
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
	delta := &Delta{BaseEpoch: string(be)}
	if delta.BaseSHA256, err = d.digest("delta base_sha256"); err != nil {
		return nil, err
	}
	return delta, nil
}

// decodeV2Fields reads expires and key_id, which only v2 carries.
func (m *Manifest) decodeV2Fields(d *decoder) error {
	if m.Schema != SchemaV2 {
		return nil
	}
	var err error
	if m.Expires, err = d.uint("expires"); err != nil {
		return err
	}
	id, err := d.str("key_id", majText, 0, 16)
	if err != nil {
		return err
	}
	if m.KeyID = string(id); len(id) != 0 && !validKeyID(m.KeyID) {
		return fmt.Errorf("key_id %q: want 16 lower-case hex chars", m.KeyID)
	}
	return nil
}

// checkKeyIDSigned enforces that a v2 key_id is set exactly when the
// signature is.
func (m *Manifest) checkKeyIDSigned() error {
	if m.Schema != SchemaV2 || (m.KeyID == "") == (m.Signature == nil) {
		return nil
	}
	if m.Signature == nil {
		return fmt.Errorf("key_id %s set but signature is null", m.KeyID)
	}
	return errors.New("signature set but key_id is empty")
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
