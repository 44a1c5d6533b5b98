package cohtrace

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"testing"
)

func sample() Trace {
	return Trace{
		Frames: []Frame{{Req: []byte("attach queen"), Resp: []byte("OK ATTACH role=queen")}, {Req: []byte("ls /trace"), Resp: []byte("OK LS path=/trace entries=2\nctl\nevents\nEND")}},
		Acks:   []string{"OK ATTACH role=queen", "OK LS path=/trace entries=2"},
	}
}

func TestRoundTripAndTamper(t *testing.T) {
	lim := DefaultLimits()
	b, err := Encode(sample(), lim)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b, lim)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Encode(got, lim)
	if !bytes.Equal(again, b) {
		t.Fatal("re-encoding differs")
	}
	for i := range b { // every single flipped byte is refused
		c := bytes.Clone(b)
		c[i] ^= 0x01
		if _, err := Decode(c, lim); err == nil {
			t.Fatalf("flipped byte %d accepted", i)
		} else if i >= len(Magic) && !errors.Is(err, ErrHash) {
			t.Fatalf("flipped byte %d: %v, want hash mismatch", i, err)
		}
	}
	if _, err := Decode(b[:len(b)-1], lim); err == nil {
		t.Fatal("truncated trace accepted")
	}
	if _, err := Decode(b, Limits{MaxBytes: len(b) - 1, MaxFrame: 8192, MaxAck: 256}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized: %v", err)
	}
	big := sample()
	big.Acks = append(big.Acks, string(bytes.Repeat([]byte("x"), 257)))
	if _, err := Encode(big, lim); !errors.Is(err, ErrFrame) {
		t.Fatalf("oversized ack: %v", err)
	}
}

// FuzzDecode: arbitrary bytes never panic; an accepted trace re-encodes to
// the same bytes.
func FuzzDecode(f *testing.F) {
	b, _ := Encode(sample(), DefaultLimits())
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := DefaultLimits()
		tr, err := Decode(data, lim)
		if err != nil {
			return
		}
		again, err := Encode(tr, lim)
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("re-encode: %v", err)
		}
	})
}

// FuzzDecodeSealed seals arbitrary bodies with their own hash, so the
// fuzzer reaches the frame parser behind the hash check.
func FuzzDecodeSealed(f *testing.F) {
	b, _ := Encode(sample(), DefaultLimits())
	f.Add(b[:len(b)-32])
	f.Fuzz(func(t *testing.T, body []byte) {
		sum := sha256.Sum256(body)
		data := append(bytes.Clone(body), sum[:]...)
		lim := DefaultLimits()
		tr, err := Decode(data, lim)
		if err != nil {
			return
		}
		again, err := Encode(tr, lim)
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("re-encode: %v", err)
		}
	})
}
