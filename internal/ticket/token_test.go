package ticket

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// exampleClaims is the spec §2 worked example.
var exampleClaims = Claims{Role: RoleWorkerHeartbeat, Subject: "worker-1"}

func mint(t testing.TB, c Claims, secret string) string {
	t.Helper()
	tok, err := Mint(c, secret)
	if err != nil {
		t.Fatalf("Mint(%+v) = %v; want nil error", c, err)
	}
	return tok
}

func TestMintForm(t *testing.T) {
	tok := mint(t, exampleClaims, "worker")
	payload := strings.ReplaceAll(specExample, " ", "")
	if !strings.HasPrefix(tok, Prefix+payload+".") {
		t.Fatalf("Mint(example) = %q; want prefix %q", tok, Prefix+payload+".")
	}
	mac := tok[len(Prefix)+len(payload)+1:]
	if len(mac) != 2*MacLen || strings.Trim(mac, "0123456789abcdef") != "" {
		t.Errorf("Mint(example) mac = %q; want %d lower-case hex digits", mac, 2*MacLen)
	}
	if len(tok) > MaxTokenLen {
		t.Errorf("len(Mint(example)) = %d; want <= %d", len(tok), MaxTokenLen)
	}
	// Determinism: same claims and secret, same token.
	if again := mint(t, exampleClaims, "worker"); again != tok {
		t.Errorf("Mint(example) = %q, then %q; want equal", tok, again)
	}
	if other := mint(t, exampleClaims, "worker-gpu"); other == tok {
		t.Errorf("Mint(example, %q) = Mint(example, %q); want different macs", "worker-gpu", "worker")
	}
}

func TestMintError(t *testing.T) {
	if tok, err := Mint(Claims{Role: 9}, "s"); !errors.Is(err, ErrUnsupportedRole) {
		t.Errorf("Mint(role 9) = %q, %v; want ErrUnsupportedRole", tok, err)
	}
}

// flipHex flips the low bit of the hex digit at i.
func flipHex(s string, i int) string {
	const digits = "0123456789abcdef"
	d := strings.IndexByte(digits, s[i])
	return s[:i] + string(digits[d^1]) + s[i+1:]
}

func TestVerify(t *testing.T) {
	full := Claims{
		Role: RoleWorkerGPU, Ops: u64(64), TTLs: u64(120), Subject: "gpu-7",
		IssuedAtMs: 1700000000000,
		Scopes:     []Scope{{Path: "/gpu/jobs", Verb: VerbWrite, RatePerS: 4}},
		Quotas:     Quotas{BandwidthBytes: 4096},
	}
	tok := mint(t, full, "worker-gpu")
	payloadEnd := strings.IndexByte(tok, '.')
	tests := []struct {
		name   string
		token  string
		secret string
		want   error
	}{
		{"good", tok, "worker-gpu", nil},
		{"wrong secret", tok, "worker", ErrMacMismatch},
		{"empty secret", tok, "", ErrMacMismatch},
		{"secret case", tok, "Worker-gpu", ErrMacMismatch},
		{"flipped payload bit", flipHex(tok, len(Prefix)+5), "worker-gpu", ErrMacMismatch},
		{"flipped role bit", flipHex(tok, len(Prefix)+3), "worker-gpu", ErrMacMismatch},
		{"flipped mac bit", flipHex(tok, len(tok)-1), "worker-gpu", ErrMacMismatch},
		{"flipped first mac bit", flipHex(tok, payloadEnd+1), "worker-gpu", ErrMacMismatch},
		{"upper-case hex", Prefix + strings.ToUpper(tok[len(Prefix):]), "worker-gpu", nil},
		{"no prefix", tok[len(Prefix):], "worker-gpu", ErrMissingPrefix},
		{"upper-case prefix", strings.ToUpper(Prefix) + tok[len(Prefix):], "worker-gpu", ErrMissingPrefix},
		{"leading space", " " + tok, "worker-gpu", ErrMissingPrefix},
		{"no dot", strings.Replace(tok, ".", "", 1), "worker-gpu", ErrMalformedToken},
		{"two dots", tok + ".00", "worker-gpu", ErrMalformedToken},
		{"payload not hex", Prefix + "zz" + tok[payloadEnd:], "worker-gpu", ErrMalformedToken},
		{"payload odd hex", Prefix + "010" + tok[payloadEnd:], "worker-gpu", ErrMalformedToken},
		{"mac not hex", tok[:len(tok)-1] + "g", "worker-gpu", ErrMalformedToken},
		{"mac short", tok[:len(tok)-2], "worker-gpu", ErrInvalidMacLength},
		{"mac long", tok + "00", "worker-gpu", ErrInvalidMacLength},
		{"mac empty", tok[:payloadEnd+1], "worker-gpu", ErrInvalidMacLength},
		{"trailing newline", tok + "\n", "worker-gpu", ErrMalformedToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Verify(tt.token, tt.secret)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify(%q, %q) = %v; want %v", tt.token, tt.secret, err, tt.want)
			}
			if tt.want != nil {
				if diff := cmp.Diff(Claims{}, got); diff != "" {
					t.Errorf("Verify(%q) claims on error mismatch (-want +got):\n%s", tt.token, diff)
				}
				return
			}
			if diff := cmp.Diff(full, got); diff != "" {
				t.Errorf("Verify(%q) mismatch (-want +got):\n%s", tt.token, diff)
			}
		})
	}
}

// TestVerifyBadPayloadGoodMac: a correctly signed payload that does not
// decode is refused with the decode error, after the MAC check.
func TestVerifyBadPayloadGoodMac(t *testing.T) {
	k := KeyFromSecret("bootstrap")
	for _, tt := range []struct {
		name    string
		payload []byte
		want    error
	}{
		{"version 2", []byte{2, 0, 0}, ErrUnsupportedVersion},
		{"empty", nil, ErrTruncated},
		{"trailing", append(unhex(t, specExample), 0), ErrTrailingData},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := k.mac(tt.payload)
			tok := Prefix + hexString(tt.payload) + "." + hexString(m[:])
			if _, err := VerifyWithKey(tok, k); !errors.Is(err, tt.want) {
				t.Errorf("VerifyWithKey(%q) = %v; want %v", tok, err, tt.want)
			}
			if _, err := Verify(tok, "worker"); !errors.Is(err, ErrMacMismatch) {
				t.Errorf("Verify(%q, wrong secret) = %v; want ErrMacMismatch", tok, err)
			}
		})
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	var s strings.Builder
	for _, c := range b {
		s.WriteByte(digits[c>>4])
		s.WriteByte(digits[c&15])
	}
	return s.String()
}

func TestKeyIsPlainHash(t *testing.T) {
	// The key is BLAKE3(secret), so MintWithKey(KeyFromSecret(s)) = Mint(s).
	k := KeyFromSecret("bootstrap")
	a, err := MintWithKey(Claims{}, k)
	if err != nil {
		t.Fatalf("MintWithKey(queen) = %v", err)
	}
	if b := mint(t, Claims{}, "bootstrap"); a != b {
		t.Errorf("MintWithKey(queen, key) = %q; want Mint(queen, secret) = %q", a, b)
	}
}

func TestParse(t *testing.T) {
	tok := mint(t, exampleClaims, "worker")
	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"good", tok, nil},
		{"wrong mac still parses", flipHex(tok, len(tok)-1), nil},
		{"mac short", tok[:len(tok)-2], ErrInvalidMacLength},
		{"no prefix", "ticket-" + tok[len(Prefix):], ErrMissingPrefix},
		{"no dot", Prefix + "00", ErrMalformedToken},
		{"empty", "", ErrMissingPrefix},
		{"prefix only", Prefix, ErrMalformedToken},
		{"empty payload", Prefix + "." + strings.Repeat("00", MacLen), ErrTruncated},
		{"short payload", Prefix + "0101." + strings.Repeat("00", MacLen), ErrTruncated},
		{"role 7", Prefix + "010700." + strings.Repeat("00", MacLen), ErrUnsupportedRole},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.token)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse(%q) = %v; want %v", tt.token, err, tt.want)
			}
			if tt.want == nil {
				if diff := cmp.Diff(exampleClaims, got); diff != "" {
					t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.token, diff)
				}
			}
		})
	}
}

func TestMaskToken(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"no token", "attach failed: timeout", "attach failed: timeout"},
		{"whole", "cohesix-ticket-0101.abcd", "cohesix-ticket-…"},
		{"in line", "error: ticket cohesix-ticket-01ab.ff rejected", "error: ticket cohesix-ticket-… rejected"},
		{"key value", "ticket=cohesix-ticket-01.ff reason=expired", "ticket=cohesix-ticket-… reason=expired"},
		{"json", `{"ticket":"cohesix-ticket-01.ff"}`, `{"ticket":"cohesix-ticket-…"}`},
		{"two tokens", "a cohesix-ticket-1.2 b cohesix-ticket-3.4\n", "a cohesix-ticket-… b cohesix-ticket-…\n"},
		{"adjacent tokens", "cohesix-ticket-1cohesix-ticket-2", "cohesix-ticket-…"},
		{"garbage after prefix", "cohesix-ticket-sécret!x y", "cohesix-ticket-… y"},
		{"prefix at end", "see cohesix-ticket-", "see cohesix-ticket-"},
		{"upper-case prefix", "COHESIX-TICKET-01.ff", "COHESIX-TICKET-…"},
		{"partial prefix", "cohesix-tick", "cohesix-tick"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MaskToken(tt.in)
			if got != tt.want {
				t.Errorf("MaskToken(%q) = %q; want %q", tt.in, got, tt.want)
			}
			if again := MaskToken(got); again != got {
				t.Errorf("MaskToken(%q) = %q; want idempotent %q", got, again, got)
			}
		})
	}
	// A real token leaves nothing of its payload or mac.
	tok := mint(t, exampleClaims, "worker")
	if got := MaskToken("ticket " + tok); strings.Contains(got, tok[len(Prefix):len(Prefix)+4]) {
		t.Errorf("MaskToken(real token) = %q; want the payload masked", got)
	}
}

func BenchmarkVerify(b *testing.B) {
	c := Claims{
		Role: RoleWorkerHeartbeat, Ticks: u64(1000), Ops: u64(10000), TTLs: u64(300),
		Subject: "worker-1", IssuedAtMs: 1700000000000,
		Scopes: []Scope{{Path: "/worker/worker-1", Verb: VerbReadWrite, RatePerS: 64}},
	}
	tok := mint(b, c, "worker")
	b.Run("secret", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Verify(tok, "worker"); err != nil {
				b.Fatal(err)
			}
		}
	})
	k := KeyFromSecret("worker")
	b.Run("key", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := VerifyWithKey(tok, k); err != nil {
				b.Fatal(err)
			}
		}
	})
}
