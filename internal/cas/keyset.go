package cas

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"time"
)

// MaxKeys bounds a keyset.
const MaxKeys = 16

// KeyEntry is one signing key of a keyset; ID is KeyID(Public).
type KeyEntry struct {
	ID     string
	Public ed25519.PublicKey
}

// Keyset is the set of keys allowed to sign manifests, signed by a root key
// (the TUF root → targets delegation with a single signature). Wire form:
//
//	[KeysSchema, version uint, expires uint, [[id text, pub bytes(32)]...], signature bytes(64) | null]
//
// Keys are sorted by ID, unique, at most MaxKeys. Version only rises: a
// holder replaces its keyset only with a higher version. Expires is unix
// seconds, 0 = never.
type Keyset struct {
	Version   uint64
	Expires   uint64
	Keys      []KeyEntry
	Signature []byte
}

// NewKeyset builds an unsigned keyset of pubs, sorted by key id; a
// duplicate key or more than MaxKeys is an error.
func NewKeyset(version, expires uint64, pubs []ed25519.PublicKey) (*Keyset, error) {
	if len(pubs) == 0 {
		return nil, errors.New("keyset: no keys; give at least one")
	}
	if len(pubs) > MaxKeys {
		return nil, fmt.Errorf("keyset: %d keys; at most %d", len(pubs), MaxKeys)
	}
	k := &Keyset{Version: version, Expires: expires}
	for _, p := range pubs {
		if len(p) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("keyset: key of %d bytes; want 32", len(p))
		}
		k.Keys = append(k.Keys, KeyEntry{ID: KeyID(p), Public: bytes.Clone(p)})
	}
	slices.SortFunc(k.Keys, func(a, b KeyEntry) int { return cmpString(a.ID, b.ID) })
	for i := 1; i < len(k.Keys); i++ {
		if k.Keys[i].ID == k.Keys[i-1].ID {
			return nil, fmt.Errorf("keyset: key %s given twice", k.Keys[i].ID)
		}
	}
	return k, nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Encode returns the deterministic CBOR encoding of k as it is.
func (k *Keyset) Encode() []byte { return k.encode(true) }

// SigningBytes is what the root signs: the array with signature = null.
func (k *Keyset) SigningBytes() []byte { return k.encode(false) }

func (k *Keyset) encode(withSig bool) []byte {
	b := make([]byte, 0, 64+60*len(k.Keys)+66)
	b = appendHead(b, majArray, 5)
	b = appendText(b, KeysSchema)
	b = appendHead(b, majUint, k.Version)
	b = appendHead(b, majUint, k.Expires)
	b = appendHead(b, majArray, uint64(len(k.Keys)))
	for _, e := range k.Keys {
		b = appendHead(b, majArray, 2)
		b = appendText(b, e.ID)
		b = appendBytes(b, e.Public)
	}
	if withSig && k.Signature != nil {
		return appendBytes(b, k.Signature)
	}
	return append(b, cborNull)
}

// DecodeKeyset decodes b strictly (as DecodeManifest does): ids must equal
// KeyID(pub), be sorted and unique, at most MaxKeys keys. A strict prefix
// of a possibly valid keyset wraps ErrIncomplete. It does not check the
// signature (Verify does).
func DecodeKeyset(b []byte) (*Keyset, error) {
	k, err := decodeKeyset(b)
	if err != nil {
		return nil, fmt.Errorf("keyset: %w", err)
	}
	return k, nil
}

func decodeKeyset(b []byte) (*Keyset, error) {
	d := &decoder{b: b}
	if _, err := d.arrayLen("keyset", 5, 5); err != nil {
		return nil, err
	}
	s, err := d.str("schema", majText, uint64(len(KeysSchema)), uint64(len(KeysSchema)))
	if err != nil {
		return nil, err
	}
	if string(s) != KeysSchema {
		return nil, fmt.Errorf("schema %q unknown; want %s", s, KeysSchema)
	}
	k := &Keyset{}
	if k.Version, err = d.uint("version"); err != nil {
		return nil, err
	}
	if k.Expires, err = d.uint("expires"); err != nil {
		return nil, err
	}
	n, err := d.arrayLen("keys", 0, MaxKeys)
	if err != nil {
		return nil, err
	}
	for i := 0; i < n; i++ {
		prev := ""
		if i > 0 {
			prev = k.Keys[i-1].ID
		}
		e, err := decodeKeyEntry(d, i, prev)
		if err != nil {
			return nil, err
		}
		k.Keys = append(k.Keys, e)
	}
	if k.Signature, err = d.signature(); err != nil {
		return nil, err
	}
	if err := d.finish("keyset", k.Encode); err != nil {
		return nil, err
	}
	return k, nil
}

// decodeKeyEntry reads key i, [id, public key]; its id must be above prev
// (the id before it, "" for the first) and be KeyID of the key.
func decodeKeyEntry(d *decoder, i int, prev string) (KeyEntry, error) {
	what := fmt.Sprintf("key %d", i)
	if _, err := d.arrayLen(what, 2, 2); err != nil {
		return KeyEntry{}, fmt.Errorf("%w (want [id, public key])", err)
	}
	id, err := d.str(what+" id", majText, 16, 16)
	if err != nil {
		return KeyEntry{}, err
	}
	if !validKeyID(string(id)) {
		return KeyEntry{}, fmt.Errorf("%s id %q: want 16 lower-case hex chars", what, id)
	}
	if i > 0 && string(id) <= prev {
		return KeyEntry{}, fmt.Errorf("%s id %s: ids must be sorted and unique", what, id)
	}
	pub, err := d.str(what+" public key", majBytes, 32, 32)
	if err != nil {
		return KeyEntry{}, err
	}
	if KeyID(pub) != string(id) {
		return KeyEntry{}, fmt.Errorf("%s id %s is not the id of its public key (%s)", what, id, KeyID(pub))
	}
	return KeyEntry{ID: string(id), Public: bytes.Clone(pub)}, nil
}

// Sign signs k with the root key.
func (k *Keyset) Sign(root ed25519.PrivateKey) {
	k.Signature = ed25519.Sign(root, k.SigningBytes())
}

// Verify checks k's signature with the root public key.
func (k *Keyset) Verify(root ed25519.PublicKey) error {
	if len(root) != ed25519.PublicKeySize {
		return fmt.Errorf("keyset: root key has %d bytes; want 32", len(root))
	}
	if k.Signature == nil {
		return errors.New("keyset: unsigned")
	}
	if !ed25519.Verify(root, k.SigningBytes(), k.Signature) {
		return fmt.Errorf("keyset: signature does not verify with root key %s", KeyID(root))
	}
	return nil
}

// Expired reports whether k has an expiry and now is past it.
func (k *Keyset) Expired(now time.Time) bool {
	return k.Expires != 0 && now.Unix() > int64(min(k.Expires, 1<<63-1))
}

// Lookup returns the public key with the given id.
func (k *Keyset) Lookup(id string) (ed25519.PublicKey, bool) {
	i, ok := slices.BinarySearchFunc(k.Keys, id, func(e KeyEntry, id string) int { return cmpString(e.ID, id) })
	if !ok {
		// Keys built by hand may be unsorted; fall back to a scan.
		for _, e := range k.Keys {
			if e.ID == id {
				return e.Public, true
			}
		}
		return nil, false
	}
	return k.Keys[i].Public, true
}
