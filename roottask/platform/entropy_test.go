package platform

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"
)

// fakeSource is a hardware source that delivers n bytes in all (counting
// them), then fails.
type fakeSource struct {
	left, read int
}

func (*fakeSource) Name() string { return "fake-rng" }
func (s *fakeSource) Read(p []byte) (int, error) {
	if s.left == 0 {
		return 0, errors.New("device gone")
	}
	n := min(len(p), s.left)
	for i := range p[:n] {
		p[i] = byte(s.read + i)
	}
	s.left -= n
	s.read += n
	return n, nil
}

// TestDRBGSeedsFromTheSource: a DRBG takes its seed from the source, every
// read gives fresh output, and the source is asked again only after
// reseedBytes of output.
func TestDRBGSeedsFromTheSource(t *testing.T) {
	src := &fakeSource{left: 1 << 10}
	d, err := NewDRBG(src)
	if err != nil {
		t.Fatal(err)
	}
	if src.read != seedLen || d.Source() != "fake-rng" {
		t.Fatalf("seeded with %d bytes from %q, want %d from fake-rng", src.read, d.Source(), seedLen)
	}
	a, b := make([]byte, 64), make([]byte, 64)
	if _, err := d.Read(a); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Read(b); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, b) || bytes.Equal(a, make([]byte, 64)) {
		t.Fatalf("two reads gave %x and %x", a, b)
	}
	big := make([]byte, reseedBytes)
	if _, err := d.Read(big); err != nil {
		t.Fatal(err)
	}
	if src.read != seedLen {
		t.Fatalf("source read %d bytes before the reseed point", src.read)
	}
	if _, err := d.Read(a); err != nil {
		t.Fatal(err)
	}
	if src.read != 2*seedLen {
		t.Fatalf("source read %d bytes after reseedBytes of output, want %d", src.read, 2*seedLen)
	}
}

// TestDRBGSameSeedSameStream: the output is a function of the seed (the
// same device bytes give the same stream): nothing else feeds it.
func TestDRBGSameSeedSameStream(t *testing.T) {
	d1, _ := NewDRBG(&fakeSource{left: 64})
	d2, _ := NewDRBG(&fakeSource{left: 64})
	a, b := make([]byte, 100), make([]byte, 100)
	_, _ = d1.Read(a)
	_, _ = d2.Read(b)
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different streams")
	}
}

// TestNoSourceNoEntropy: a source that cannot seed, or fails at a reseed,
// gives ErrNoEntropy for good; nothing falls back.
func TestNoSourceNoEntropy(t *testing.T) {
	if _, err := NewDRBG(&fakeSource{left: 10}); !errors.Is(err, ErrNoEntropy) {
		t.Fatalf("short seed: %v, want ErrNoEntropy", err)
	}
	d, err := NewDRBG(&fakeSource{left: seedLen})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Read(make([]byte, reseedBytes)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if n, err := d.Read(make([]byte, 8)); n != 0 || !errors.Is(err, ErrNoEntropy) {
			t.Fatalf("read after the source died = %d, %v; want 0, ErrNoEntropy", n, err)
		}
	}
}

// TestCheckEntropy: the boot check passes a working reader and names
// ErrNoEntropy for a missing or failing one.
func TestCheckEntropy(t *testing.T) {
	if err := CheckEntropy(rand.Reader); err != nil {
		t.Fatalf("crypto/rand: %v", err)
	}
	why := errors.Join(ErrNoEntropy, errors.New("no virtio-rng device"))
	if err := CheckEntropy(NoEntropy{Why: why}); err != why {
		t.Fatalf("NoEntropy: %v", err)
	}
	if err := CheckEntropy(io.LimitReader(rand.Reader, 3)); !errors.Is(err, ErrNoEntropy) {
		t.Fatalf("short reader: %v, want ErrNoEntropy", err)
	}
}
