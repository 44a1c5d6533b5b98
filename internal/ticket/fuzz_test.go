package ticket

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Seed corpora also live in testdata/fuzz/FuzzDecode and
// testdata/fuzz/FuzzParseToken. Run with, for example:
//
//	go test ./internal/ticket/ -run '^$' -fuzz '^FuzzDecode$' -fuzztime 15s
//	go test ./internal/ticket/ -run '^$' -fuzz '^FuzzParseToken$' -fuzztime 15s

// FuzzDecode: Decode never panics, and whatever decodes re-encodes to the
// same bytes and decodes to the same claims.
func FuzzDecode(f *testing.F) {
	f.Add(unhex(f, specExample))
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0})
	full, err := Claims{
		Role: RoleWorkerGPU, Ticks: u64(1), Ops: u64(2), TTLs: u64(3), Subject: "s",
		MountService: "svc", MountAt: "/m",
		Scopes: []Scope{{Path: "/gpu", Verb: VerbReadWrite, RatePerS: 9}},
		Quotas: Quotas{BandwidthBytes: 4, CursorResumes: 5, CursorAdvances: 6},
	}.Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(full)
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := Decode(payload)
		if err != nil {
			return
		}
		enc, err := c.Encode()
		if err != nil {
			t.Fatalf("Encode(Decode(%x)) = %v; want nil error", payload, err)
		}
		if !bytes.Equal(enc, payload) {
			t.Fatalf("Encode(Decode(%x)) = %x; want the input", payload, enc)
		}
		again, err := Decode(enc)
		if err != nil {
			t.Fatalf("Decode(%x) = %v on second pass", enc, err)
		}
		if diff := cmp.Diff(c, again); diff != "" {
			t.Fatalf("Decode(Encode(c)) mismatch (-first +second):\n%s", diff)
		}
	})
}

// FuzzParseToken: no token text makes Parse, Verify, ValidateForAttach or
// MaskToken panic; a token that verifies parses to the same claims; a
// masked token keeps none of its text after the prefix.
func FuzzParseToken(f *testing.F) {
	const secret = "worker"
	tok, err := Mint(exampleClaims, secret)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	f.Add("")
	f.Add(Prefix)
	f.Add(Prefix + ".")
	f.Add(Prefix + "010000." + strings.Repeat("0", 64))
	f.Add("cohesix-ticket-zz.00")
	f.Fuzz(func(t *testing.T, token string) {
		pc, perr := Parse(token)
		vc, verr := Verify(token, secret)
		if verr == nil {
			if perr != nil {
				t.Fatalf("Verify(%q) ok but Parse = %v", token, perr)
			}
			if diff := cmp.Diff(pc, vc); diff != "" {
				t.Fatalf("Parse and Verify(%q) differ (-parse +verify):\n%s", token, diff)
			}
		}
		for r := RoleQueen; r <= maxRole+1; r++ {
			_ = ValidateForAttach(r, token, MaxTokenLen)
		}
		m := MaskToken(token)
		if perr == nil && strings.HasPrefix(token, Prefix) && m != Prefix+maskChar {
			t.Fatalf("MaskToken(%q) = %q; want %q", token, m, Prefix+maskChar)
		}
		if MaskToken(m) != m {
			t.Fatalf("MaskToken(%q) = %q; not idempotent", m, MaskToken(m))
		}
		if perr != nil {
			return
		}
		// A parsed token re-mints to a token that verifies to the same claims.
		re, err := Mint(pc, secret)
		if err != nil {
			t.Fatalf("Mint(Parse(%q)) = %v", token, err)
		}
		rc, err := Verify(re, secret)
		if err != nil {
			t.Fatalf("Verify(Mint(Parse(%q))) = %v", token, err)
		}
		if diff := cmp.Diff(pc, rc); diff != "" {
			t.Fatalf("Verify(Mint(Parse(%q))) mismatch (-want +got):\n%s", token, diff)
		}
	})
}
