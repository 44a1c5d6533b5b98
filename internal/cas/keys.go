package cas

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// KeyID names a public key: the first 16 hex chars of SHA-256(pub).
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:8])
}

func validKeyID(s string) bool {
	if len(s) != 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isLowerHex(s[i]) {
			return false
		}
	}
	return true
}

// WriteKeyPair makes a new Ed25519 key and writes the private key file at
// path (hex of the 32-byte seed and a newline, mode 0600) and the public key
// file at path+".pub" (hex of the 32-byte key and a newline, mode 0644). It
// refuses to overwrite either file.
func WriteKeyPair(path string) (ed25519.PublicKey, error) {
	for _, p := range []string{path, path + ".pub"} {
		if _, err := os.Lstat(p); err == nil {
			return nil, fmt.Errorf("%s exists; choose another path or remove it first", p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	if err := writeNew(path, []byte(hex.EncodeToString(priv.Seed())+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := writeNew(path+".pub", []byte(hex.EncodeToString(pub)+"\n"), 0o644); err != nil {
		os.Remove(path)
		return nil, err
	}
	return pub, nil
}

func writeNew(path string, b []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return err
	}
	return os.Chmod(path, mode) // the umask may have narrowed it
}

func readHex(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t := bytes.TrimSpace(b)
	k := make([]byte, hex.DecodedLen(len(t)))
	if _, err := hex.Decode(k, t); err != nil {
		return nil, fmt.Errorf("%s: not a hex key file: %v", path, err)
	}
	return k, nil
}

// ReadPrivateKey reads a private key file: the hex of a 32-byte Ed25519
// seed, or of the 64-byte seed||public form if its public half matches.
func ReadPrivateKey(path string) (ed25519.PrivateKey, error) {
	k, err := readHex(path)
	if err != nil {
		return nil, err
	}
	switch len(k) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(k), nil
	case ed25519.PrivateKeySize:
		priv := ed25519.NewKeyFromSeed(k[:32])
		if !bytes.Equal(priv[32:], k[32:]) {
			return nil, fmt.Errorf("%s: 64-byte key whose public half does not match its seed", path)
		}
		return priv, nil
	}
	return nil, fmt.Errorf("%s: %d bytes; a private key file holds a 32-byte seed (64 hex chars)", path, len(k))
}

// ReadPublicKey reads a public key file (hex of 32 bytes). It refuses a
// private key file where it can tell: 64 bytes (seed||public), or a file
// with a KEY.pub beside it.
func ReadPublicKey(path string) (ed25519.PublicKey, error) {
	if !strings.HasSuffix(path, ".pub") {
		if _, err := os.Stat(path + ".pub"); err == nil {
			return nil, fmt.Errorf("%s looks like a private key (%s.pub is beside it); pass the .pub file", path, path)
		}
	}
	k, err := readHex(path)
	if err != nil {
		return nil, err
	}
	if len(k) == ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%s: 64 bytes looks like a private key (seed and public key); pass the .pub file", path)
	}
	if len(k) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%s: %d bytes; a public key is 32 bytes (64 hex chars)", path, len(k))
	}
	return ed25519.PublicKey(k), nil
}

// ParsePublicKeyHex parses the hex of a 32-byte public key, tolerating
// whitespace around it.
func ParsePublicKeyHex(b []byte) (ed25519.PublicKey, error) {
	t := bytes.TrimSpace(b)
	k := make([]byte, hex.DecodedLen(len(t)))
	if _, err := hex.Decode(k, t); err != nil {
		return nil, fmt.Errorf("public key: not hex: %v", err)
	}
	if len(k) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key: %d bytes; want 32 (64 hex chars)", len(k))
	}
	return ed25519.PublicKey(k), nil
}
