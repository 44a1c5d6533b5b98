package platform

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync"
)

// ErrNoEntropy is what a platform's Entropy returns when it has no
// entropy source: nothing secret may be minted or accepted (DECISIONS P73).
var ErrNoEntropy = errors.New("no entropy source")

// EntropySource is a hardware random source a DRBG is seeded from.
type EntropySource interface {
	// Name is the source as the boot banner shows it ("virtio-rng").
	Name() string
	// Read fills p with output of the device; an error ends the source.
	Read(p []byte) (int, error)
}

// DRBG constants: a 256-bit seed drawn from the source at start and again
// after every reseedBytes of output (DECISIONS P73).
const (
	seedLen     = 32
	reseedBytes = 1 << 20 // limit-literal-ok: DRBG reseed interval, not a manifest limit
)

// DRBG is a deterministic random bit generator over a hardware source:
// AES-256 in counter mode keyed from the source, rekeyed after every Read
// from its own output (fast key erasure: a captured state does not reveal
// earlier output) and reseeded from the source every reseedBytes. A source
// that fails makes every later Read fail with ErrNoEntropy: there is no
// silent fallback.
type DRBG struct {
	mu   sync.Mutex
	src  EntropySource
	key  [seedLen]byte
	out  int   // bytes since the last reseed
	fail error // the source's failure, for good
}

// NewDRBG seeds a DRBG from src; it fails (wrapping ErrNoEntropy) when src
// cannot deliver a seed.
func NewDRBG(src EntropySource) (*DRBG, error) {
	d := &DRBG{src: src}
	if err := d.reseed(); err != nil {
		return nil, err
	}
	return d, nil
}

// Source names the hardware source.
func (d *DRBG) Source() string { return d.src.Name() }

// reseed mixes a fresh seed from the source into the key.
func (d *DRBG) reseed() error {
	var seed [seedLen]byte
	if _, err := io.ReadFull(d.src, seed[:]); err != nil {
		d.fail = fmt.Errorf("%w: %s: %v", ErrNoEntropy, d.src.Name(), err)
		return d.fail
	}
	h := sha256.New()
	h.Write(d.key[:])
	h.Write(seed[:])
	h.Sum(d.key[:0])
	d.out = 0
	return nil
}

// Read fills p with DRBG output.
func (d *DRBG) Read(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return 0, d.fail
	}
	if d.out >= reseedBytes {
		if err := d.reseed(); err != nil {
			return 0, err
		}
	}
	block, err := aes.NewCipher(d.key[:])
	if err != nil {
		return 0, err // cannot happen: the key is 32 bytes
	}
	var iv [aes.BlockSize]byte
	ctr := cipher.NewCTR(block, iv[:])
	clear(p)
	ctr.XORKeyStream(p, p)
	// The next key is keystream no caller sees.
	clear(d.key[:])
	ctr.XORKeyStream(d.key[:], d.key[:])
	d.out += len(p)
	return len(p), nil
}

// NoEntropy is the Entropy of a platform without a source: every Read
// fails with Why, which wraps ErrNoEntropy.
type NoEntropy struct{ Why error }

// Read implements io.Reader: always Why.
func (n NoEntropy) Read([]byte) (int, error) { return 0, n.Why }

// CheckEntropy draws a seed's worth from r: nil when r delivers, else the
// error (wrapping ErrNoEntropy when r says there is no source), which the
// root task hands to the hive so that tickets are refused.
func CheckEntropy(r io.Reader) error {
	var b [seedLen]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		if errors.Is(err, ErrNoEntropy) {
			return err
		}
		return fmt.Errorf("%w: %v", ErrNoEntropy, err)
	}
	return nil
}
