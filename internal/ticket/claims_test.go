package ticket

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func u64(v uint64) *uint64 { return &v }

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("hex.DecodeString(%q) = %v", s, err)
	}
	return b
}

// specExample is the worked example of spec §2.
const specExample = "01 01 08 0800 776f726b65722d31 0000000000000000 0000 0000"

func TestDecodeSpecExample(t *testing.T) {
	payload := unhex(t, specExample)
	got, err := Decode(payload)
	if err != nil {
		t.Fatalf("Decode(%x) = %v; want nil error", payload, err)
	}
	want := Claims{Role: RoleWorkerHeartbeat, Subject: "worker-1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Decode(%x) mismatch (-want +got):\n%s", payload, diff)
	}
	enc, err := want.Encode()
	if err != nil || !bytes.Equal(enc, payload) {
		t.Errorf("Encode(%+v) = %x, %v; want %x, nil", want, enc, err, payload)
	}
}

// TestEncodeLayout pins every field's position and byte order.
func TestEncodeLayout(t *testing.T) {
	c := Claims{
		Role:         RoleWorkerGPU,
		Ticks:        u64(0x0102030405060708),
		Ops:          u64(64),
		TTLs:         u64(120),
		Subject:      "g",
		IssuedAtMs:   0x0000018f00000001,
		MountService: "s",
		MountAt:      "/m",
		Scopes: []Scope{
			{Path: "/gpu", Verb: VerbWrite, RatePerS: 0x01020304},
			{Path: "", Verb: VerbReadWrite},
		},
		Quotas: Quotas{BandwidthBytes: 131072, CursorResumes: 16, CursorAdvances: 256},
	}
	want := unhex(t, ""+
		"01 02 3f"+ // version, role, flags all six
		"0807060504030201"+ // ticks
		"4000000000000000"+ // ops
		"7800000000000000"+ // ttl_s
		"0100 67"+ // subject
		"010000008f010000"+ // issued_at_ms
		"0100 73"+ // mount.service
		"0200 2f6d"+ // mount.at
		"02"+ // scope count
		"0400 2f677075 01 04030201"+
		"0000 02 00000000"+
		"0000020000000000 10000000 00010000") // quotas
	got, err := c.Encode()
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("Encode(%+v) = %x, %v; want %x, nil", c, got, err, want)
	}
}

// TestRoundTripFlagCombinations encodes every combination of the six
// optional fields, checks the flags byte, and decodes back.
func TestRoundTripFlagCombinations(t *testing.T) {
	for flags := range 1 << 6 {
		for _, role := range []Role{RoleQueen, RoleWorkerLora} {
			c := Claims{Role: role, IssuedAtMs: 1700000000123, MountService: "svc", MountAt: "/mnt/x"}
			if flags&flagTicks != 0 {
				c.Ticks = u64(1000)
			}
			if flags&flagOps != 0 {
				c.Ops = u64(0) // present but zero stays present
			}
			if flags&flagTTL != 0 {
				c.TTLs = u64(^uint64(0))
			}
			if flags&flagSubject != 0 {
				c.Subject = "wörker-1"
			}
			if flags&flagScopes != 0 {
				c.Scopes = []Scope{{Path: "/log", Verb: VerbRead, RatePerS: 5}, {Path: "/", Verb: VerbReadWrite}}
			}
			if flags&flagQuotas != 0 {
				c.Quotas = Quotas{CursorAdvances: 1}
			}
			t.Run(fmt.Sprintf("%v/flags=%#02x", role, flags), func(t *testing.T) {
				b, err := c.Encode()
				if err != nil {
					t.Fatalf("Encode(%+v) = %v; want nil error", c, err)
				}
				if b[2] != byte(flags) {
					t.Errorf("Encode(%+v)[2] = %#02x; want flags %#02x", c, b[2], flags)
				}
				got, err := Decode(b)
				if err != nil {
					t.Fatalf("Decode(%x) = %v; want nil error", b, err)
				}
				if diff := cmp.Diff(c, got); diff != "" {
					t.Errorf("Decode(Encode(c)) mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestRoundTripMaxSizes(t *testing.T) {
	long := strings.Repeat("a", MaxStringLen)
	c := Claims{Role: RoleWorkerBus, Subject: long, MountService: long, MountAt: long}
	for range MaxScopes {
		c.Scopes = append(c.Scopes, Scope{Path: long, Verb: VerbReadWrite, RatePerS: ^uint32(0)})
	}
	c.Quotas = Quotas{BandwidthBytes: ^uint64(0), CursorResumes: ^uint32(0), CursorAdvances: ^uint32(0)}
	b, err := c.Encode()
	if err != nil {
		t.Fatalf("Encode(max claims) = %v; want nil error", err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatalf("Decode(Encode(max claims)) = %v; want nil error", err)
	}
	if diff := cmp.Diff(c, got); diff != "" {
		t.Errorf("Decode(Encode(max claims)) mismatch (-want +got):\n%s", diff)
	}
}

func TestDecodeErrors(t *testing.T) {
	// base is the spec example with an empty subject section removed:
	// version 1, role queen, no flags, issued_at 0, empty mounts.
	const base = "01 00 00 0000000000000000 0000 0000"
	tests := []struct {
		name    string
		payload string
		want    error
	}{
		{"empty", "", ErrTruncated},
		{"version only", "01", ErrTruncated},
		{"no flags", "01 00", ErrTruncated},
		{"version 0", "00 00 00", ErrUnsupportedVersion},
		{"version 2", "02 00 00 0000000000000000 0000 0000", ErrUnsupportedVersion},
		{"role 5", "01 05 00 0000000000000000 0000 0000", ErrUnsupportedRole},
		{"role 255", "01 ff 00", ErrUnsupportedRole},
		{"short issued_at", "01 00 00 00000000", ErrTruncated},
		{"short ticks", "01 00 01 000000", ErrTruncated},
		{"no mount.at", "01 00 00 0000000000000000 0000", ErrTruncated},
		{"short mount length", "01 00 00 0000000000000000 00", ErrTruncated},
		{"short subject", "01 01 08 0800 776f726b", ErrTruncated},
		{"subject 256 bytes", "01 01 08 0001", ErrMountTooLarge},
		{"mount.service 256 bytes", "01 00 00 0000000000000000 0001", ErrMountTooLarge},
		{"mount.at 65535 bytes", "01 00 00 0000000000000000 0000 ffff", ErrMountTooLarge},
		{"trailing byte", base + "00", ErrTrailingData},
		{"spec example trailing", specExample + "ff", ErrTrailingData},
		{"no scope count", base[:2] + " 00 10" + base[8:], ErrTruncated},
		{"17 scopes", "01 00 10 0000000000000000 0000 0000 11", ErrTooManyScopes},
		{"scope verb 3", "01 00 10 0000000000000000 0000 0000 01 0000 03 00000000", ErrInvalidScopeVerb},
		{"scope verb 255", "01 00 10 0000000000000000 0000 0000 01 0100 2f ff 00000000", ErrInvalidScopeVerb},
		{"short scope rate", "01 00 10 0000000000000000 0000 0000 01 0000 00 0000", ErrTruncated},
		{"missing second scope", "01 00 10 0000000000000000 0000 0000 02 0000 00 00000000", ErrTruncated},
		{"short quotas", "01 00 20 0000000000000000 0000 0000 0100000000000000 00000000", ErrTruncated},
		{"unknown flag bit 6", "01 00 40 0000000000000000 0000 0000", ErrInvalidClaims},
		{"unknown flag bit 7", "01 00 80 0000000000000000 0000 0000", ErrInvalidClaims},
		{"subject flag empty subject", "01 01 08 0000 0000000000000000 0000 0000", ErrInvalidClaims},
		{"scopes flag zero scopes", "01 00 10 0000000000000000 0000 0000 00", ErrInvalidClaims},
		{"quotas flag all zero", "01 00 20 0000000000000000 0000 0000 0000000000000000 00000000 00000000", ErrInvalidClaims},
		{"subject not utf-8", "01 01 08 0100 ff 0000000000000000 0000 0000", ErrInvalidClaims},
		{"scope path not utf-8", "01 00 10 0000000000000000 0000 0000 01 0100 c0 00 00000000", ErrInvalidClaims},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := unhex(t, tt.payload)
			got, err := Decode(payload)
			if !errors.Is(err, tt.want) {
				t.Errorf("Decode(%x) = %+v, %v; want %v", payload, got, err, tt.want)
			}
		})
	}
	if _, err := Decode(unhex(t, base)); err != nil {
		t.Errorf("Decode(%s) = %v; want nil error", base, err)
	}
}

func TestEncodeErrors(t *testing.T) {
	long := strings.Repeat("x", MaxStringLen+1)
	tests := []struct {
		name string
		c    Claims
		want error
	}{
		{"role 5", Claims{Role: 5}, ErrUnsupportedRole},
		{"subject 256 bytes", Claims{Subject: long}, ErrMountTooLarge},
		{"mount.service 256 bytes", Claims{MountService: long}, ErrMountTooLarge},
		{"mount.at 256 bytes", Claims{MountAt: long}, ErrMountTooLarge},
		{"scope path 256 bytes", Claims{Scopes: []Scope{{Path: long}}}, ErrMountTooLarge},
		{"17 scopes", Claims{Scopes: make([]Scope, MaxScopes+1)}, ErrTooManyScopes},
		{"scope verb 3", Claims{Scopes: []Scope{{Path: "/", Verb: 3}}}, ErrInvalidScopeVerb},
		{"subject not utf-8", Claims{Subject: "\xff"}, ErrInvalidClaims},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.c.Encode()
			if !errors.Is(err, tt.want) {
				t.Errorf("Encode(%s) = %x, %v; want %v", tt.name, got, err, tt.want)
			}
		})
	}
}

func TestErrorWording(t *testing.T) {
	for _, err := range []error{
		ErrUnsupportedVersion, ErrUnsupportedRole, ErrInvalidScopeVerb, ErrTruncated,
		ErrTrailingData, ErrMalformedToken, ErrMissingPrefix, ErrInvalidMacLength,
		ErrMacMismatch, ErrMountTooLarge, ErrTooManyScopes, ErrUnknownRole, ErrInvalidClaims,
	} {
		s := err.Error()
		if s != strings.ToLower(s) || strings.HasSuffix(s, ".") || !strings.HasPrefix(s, "ticket: ") {
			t.Errorf("error %q: want lower case, \"ticket: \" prefix, no trailing period", s)
		}
	}
}
