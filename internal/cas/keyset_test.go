package cas

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func pubOf(p ed25519.PrivateKey) ed25519.PublicKey { return p.Public().(ed25519.PublicKey) }

func sampleKeyset(t testing.TB) *Keyset {
	k, err := NewKeyset(3, 1_900_000_000, []ed25519.PublicKey{pubOf(testKey(11)), pubOf(testKey(12)), pubOf(testKey(13))})
	if err != nil {
		t.Fatal(err)
	}
	k.Sign(testKey(99))
	return k
}

func TestKeysetRoundTripSignLookup(t *testing.T) {
	k := sampleKeyset(t)
	b := k.Encode()
	got, err := DecodeKeyset(b)
	if err != nil {
		t.Fatalf("DecodeKeyset = %v", err)
	}
	if !bytes.Equal(got.Encode(), b) {
		t.Errorf("re-encode differs")
	}
	root := pubOf(testKey(99))
	if err := got.Verify(root); err != nil {
		t.Errorf("Verify(root) = %v", err)
	}
	if err := got.Verify(pubOf(testKey(98))); err == nil {
		t.Errorf("Verify(other root) = nil; want an error")
	}
	for _, s := range []byte{11, 12, 13} {
		p := pubOf(testKey(s))
		if q, ok := got.Lookup(KeyID(p)); !ok || !bytes.Equal(q, p) {
			t.Errorf("Lookup(%s) = %x, %t; want the key", KeyID(p), q, ok)
		}
	}
	if _, ok := got.Lookup(KeyID(pubOf(testKey(14)))); ok {
		t.Errorf("Lookup(absent) = true")
	}
	got.Version++ // a raised version without a new signature must not verify
	if err := got.Verify(root); err == nil {
		t.Errorf("Verify after changing the version = nil; want an error")
	}
	if !k.Expired(time.Unix(1_900_000_001, 0)) || k.Expired(time.Unix(1_800_000_000, 0)) {
		t.Errorf("Expired wrong around %d", k.Expires)
	}
	for i := 0; i < len(b); i++ {
		if _, err := DecodeKeyset(b[:i]); !errors.Is(err, ErrIncomplete) {
			t.Fatalf("DecodeKeyset(prefix %d) = %v; want ErrIncomplete", i, err)
		}
	}
}

func TestDecodeKeysetRejects(t *testing.T) {
	k := sampleKeyset(t)
	swapped := *k
	swapped.Keys = []KeyEntry{k.Keys[1], k.Keys[0]}
	wrongID := *k
	wrongID.Keys = []KeyEntry{{ID: k.Keys[1].ID, Public: k.Keys[0].Public}}
	var many []ed25519.PublicKey
	for i := 0; i < MaxKeys+1; i++ {
		many = append(many, pubOf(testKey(byte(i+20))))
	}
	tooMany := &Keyset{}
	for _, p := range many {
		tooMany.Keys = append(tooMany.Keys, KeyEntry{ID: KeyID(p), Public: p})
	}
	tests := []struct {
		name, want string
		b          []byte
	}{
		{"unsorted", "sorted and unique", swapped.Encode()},
		{"id not of key", "is not the id of its public key", wrongID.Encode()},
		{"too many keys", "want 0 to 16 items, have 17", tooMany.Encode()},
		{"trailing", "trailing bytes", cat(k.Encode(), 0xf6)},
	}
	for _, tt := range tests {
		if _, err := DecodeKeyset(tt.b); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: DecodeKeyset = %v; want an error containing %q", tt.name, err, tt.want)
		}
	}
	if _, err := NewKeyset(1, 0, many); err == nil {
		t.Errorf("NewKeyset(17 keys) = nil error")
	}
	if _, err := NewKeyset(1, 0, []ed25519.PublicKey{many[0], many[0]}); err == nil {
		t.Errorf("NewKeyset(duplicate) = nil error")
	}
}

func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k")
	pub, err := WriteKeyPair(path)
	if err != nil {
		t.Fatal(err)
	}
	for p, mode := range map[string]os.FileMode{path: 0o600, path + ".pub": 0o644} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s mode = %v, %v; want %v", p, fi.Mode().Perm(), err, mode)
		}
	}
	priv, err := ReadPrivateKey(path)
	if err != nil || !bytes.Equal(pubOf(priv), pub) {
		t.Errorf("ReadPrivateKey = %v; want the pair's key", err)
	}
	if got, err := ReadPublicKey(path + ".pub"); err != nil || !bytes.Equal(got, pub) {
		t.Errorf("ReadPublicKey = %x, %v; want %x", got, err, pub)
	}
	if _, err := ReadPublicKey(path); err == nil || !strings.Contains(err.Error(), "looks like a private key") {
		t.Errorf("ReadPublicKey(private) = %v; want a looks-like-a-private-key error", err)
	}
	if _, err := WriteKeyPair(path); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("WriteKeyPair(existing) = %v; want a refusal", err)
	}
	long := filepath.Join(dir, "long")
	os.WriteFile(long, []byte(strings.Repeat("ab", 64)+"\n"), 0o600)
	if _, err := ReadPublicKey(long); err == nil || !strings.Contains(err.Error(), "64 bytes looks like a private key") {
		t.Errorf("ReadPublicKey(64-byte file) = %v; want the private-key error", err)
	}
	if _, err := ParsePublicKeyHex([]byte("  " + strings.Repeat("0f", 32) + "\n\n")); err != nil {
		t.Errorf("ParsePublicKeyHex(spaced) = %v", err)
	}
	if _, err := ParsePublicKeyHex([]byte(strings.Repeat("0f", 31))); err == nil {
		t.Errorf("ParsePublicKeyHex(31 bytes) = nil error")
	}
}
