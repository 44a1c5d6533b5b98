package cas

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzDecodeManifest(f *testing.F) {
	for _, m := range validManifests() {
		b := m.Encode()
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeManifest(b, 64)
		if err != nil {
			if m != nil {
				t.Fatalf("DecodeManifest returned a manifest and %v", err)
			}
			return
		}
		if got := m.Encode(); !bytes.Equal(got, b) {
			t.Fatalf("Encode(DecodeManifest(%x)) = %x", b, got)
		}
		if uint64(len(m.Chunks))*m.ChunkBytes != m.PayloadBytes || !ValidEpoch(m.Epoch) || len(m.Chunks) > 64 {
			t.Fatalf("decoded manifest breaks a rule: %+v", m)
		}
		for i := 0; i < len(b); i++ { // every strict prefix of a valid encoding waits
			if _, err := DecodeManifest(b[:i], 64); !errors.Is(err, ErrIncomplete) {
				t.Fatalf("DecodeManifest(prefix %d) = %v; want ErrIncomplete", i, err)
			}
		}
	})
}

func FuzzDecodeKeyset(f *testing.F) {
	k := sampleKeyset(f)
	f.Add(k.Encode())
	k.Signature = nil
	f.Add(k.Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := DecodeKeyset(b)
		if err != nil {
			return
		}
		if got := k.Encode(); !bytes.Equal(got, b) {
			t.Fatalf("Encode(DecodeKeyset(%x)) = %x", b, got)
		}
		for _, e := range k.Keys {
			if p, ok := k.Lookup(e.ID); !ok || !bytes.Equal(p, e.Public) || KeyID(p) != e.ID {
				t.Fatalf("Lookup(%s) inconsistent", e.ID)
			}
		}
	})
}

// FuzzParseDigest covers chunk file names: a name parses exactly when it
// is the String of its digest.
func FuzzParseDigest(f *testing.F) {
	for _, m := range validManifests() {
		for _, c := range m.Chunks {
			f.Add(c.String())
		}
	}
	f.Add("")
	f.Add("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDigest(s)
		if err != nil {
			return
		}
		if d.String() != s {
			t.Fatalf("ParseDigest(%q).String() = %q", s, d.String())
		}
	})
}
