// Package cas encodes, signs and verifies CAS update bundles: the manifest
// of gpu-telemetry.md §8 (v1) and our signed v2, root-signed keysets, key
// files, and the bundle directories that cas-tool packs and verifies
// (docs/CAS.md). It is a pure library: it knows nothing of the hive.
package cas

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

const (
	SchemaV1   = "cohesix-cas/manifest-v1" // spec: CBOR array of exactly 8 items
	SchemaV2   = "cohesix-cas/manifest-v2" // ours: 10 items, adds expires and key_id before signature
	KeysSchema = "cohesix-cas/keys-v1"     // root-signed keyset
)

// ErrIncomplete means the bytes are a strict prefix of what could still
// become a valid encoding: a provider accumulating appends keeps waiting.
// Decoders wrap it; test with errors.Is.
var ErrIncomplete = errors.New("incomplete CBOR")

// Digest is a SHA-256 digest.
type Digest [32]byte

// String returns the digest as 64 lower-case hex characters.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// ParseDigest parses exactly 64 lower-case hex characters: the form of a
// chunk's file name. Upper case, whitespace or any other length is refused.
func ParseDigest(s string) (Digest, error) {
	var d Digest
	if len(s) != 64 {
		return d, fmt.Errorf("digest %q: want 64 hex chars, have %d", trunc(s), len(s))
	}
	for i := 0; i < len(s); i++ {
		if !isLowerHex(s[i]) {
			return d, fmt.Errorf("digest %q: byte %d is not lower-case hex", trunc(s), i)
		}
	}
	hex.Decode(d[:], []byte(s))
	return d, nil
}

func isLowerHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// ValidEpoch reports whether s is 1 to 20 ASCII digits (namespace.md §9).
func ValidEpoch(s string) bool {
	if len(s) == 0 || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// CompareEpochs compares two valid epochs as numbers, ignoring leading
// zeros: -1 when a < b, 0 when equal, +1 when a > b. Twenty digits can
// exceed a uint64, so the comparison is on the digit strings.
func CompareEpochs(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	switch {
	case len(a) != len(b):
		if len(a) < len(b) {
			return -1
		}
		return 1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
