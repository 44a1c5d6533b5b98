package ticket

import (
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"github.com/cohesix/cohesix/generated"
	"strings"

	"lukechampine.com/blake3"
)

// Token text form constants (spec §2).
const (
	// Prefix starts every token.
	Prefix = "cohesix-ticket-"
	// MacLen is the MAC length in bytes; it is 64 hex characters.
	MacLen = 32
	// MaxTokenLen is the longest token the console and CLI accept.
	MaxTokenLen = generated.ConsoleTicketMax
)

// Key is a MAC key: the 32-byte BLAKE3 hash of a role secret. The root
// task hashes the manifest's secrets into keys once at boot.
type Key [32]byte

// KeyFromSecret returns BLAKE3(secret).
func KeyFromSecret(secret string) Key { return Key(blake3.Sum256([]byte(secret))) }

// mac returns the BLAKE3 keyed hash of payload under k.
func (k *Key) mac(payload []byte) [MacLen]byte {
	h := blake3.New(MacLen, k[:])
	h.Write(payload)
	var m [MacLen]byte
	h.Sum(m[:0])
	return m
}

// Mint encodes c and returns its token signed with secret:
// "cohesix-ticket-<payload_hex>.<mac_hex>". It fails when Encode does.
// It does not hold the result to MaxTokenLen.
func Mint(c Claims, secret string) (string, error) {
	return MintWithKey(c, KeyFromSecret(secret))
}

// MintWithKey is Mint with a precomputed key.
func MintWithKey(c Claims, k Key) (string, error) {
	payload, err := c.Encode()
	if err != nil {
		return "", err
	}
	m := k.mac(payload)
	var b strings.Builder
	b.Grow(len(Prefix) + 2*len(payload) + 1 + 2*MacLen)
	b.WriteString(Prefix)
	b.WriteString(hex.EncodeToString(payload))
	b.WriteByte('.')
	b.WriteString(hex.EncodeToString(m[:]))
	return b.String(), nil
}

// split parses the token text form without checking the MAC. Hex digits
// may be upper or lower case.
func split(token string) (payload []byte, mac []byte, err error) {
	rest, ok := strings.CutPrefix(token, Prefix)
	if !ok {
		return nil, nil, ErrMissingPrefix
	}
	ph, mh, ok := strings.Cut(rest, ".")
	if !ok {
		return nil, nil, fmt.Errorf("%w: no '.' between payload and mac", ErrMalformedToken)
	}
	if payload, err = hex.DecodeString(ph); err != nil {
		return nil, nil, fmt.Errorf("%w: payload is not hex", ErrMalformedToken)
	}
	if mac, err = hex.DecodeString(mh); err != nil {
		return nil, nil, fmt.Errorf("%w: mac is not hex", ErrMalformedToken)
	}
	if len(mac) != MacLen {
		return nil, nil, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidMacLength, len(mac), MacLen)
	}
	return payload, mac, nil
}

// Parse decodes the claims of a token without checking its MAC, for
// client-side validation. It still checks the text form: the prefix, the
// '.', the hex and the MAC length. It does not trim spaces.
func Parse(token string) (Claims, error) {
	payload, _, err := split(token)
	if err != nil {
		return Claims{}, err
	}
	return Decode(payload)
}

// Verify checks the token's MAC against secret in constant time, then
// decodes its claims. A wrong MAC gives ErrMacMismatch, and the payload is
// not decoded. Verify checks neither expiry nor limits; see
// Claims.Expired and CheckLimits.
func Verify(token, secret string) (Claims, error) {
	return VerifyWithKey(token, KeyFromSecret(secret))
}

// VerifyWithKey is Verify with a precomputed key.
func VerifyWithKey(token string, k Key) (Claims, error) {
	payload, mac, err := split(token)
	if err != nil {
		return Claims{}, err
	}
	want := k.mac(payload)
	if subtle.ConstantTimeCompare(mac, want[:]) != 1 {
		return Claims{}, ErrMacMismatch
	}
	return Decode(payload)
}

// maskChar replaces a masked token.
const maskChar = "…"

// MaskToken returns s with every token's text after "cohesix-ticket-"
// replaced by "…", for stderr and logs. The prefix matches in any case.
// The masked run ends at white space or at one of the delimiters
// " ' ` , ; ( ) [ ] { } < >, so the text around a token is kept.
func MaskToken(s string) string {
	i := indexPrefixFold(s, 0)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for i >= 0 {
		start := i + len(Prefix)
		end := start
		for end < len(s) && !endsToken(s[end]) {
			end++
		}
		b.WriteString(s[last:start])
		if end > start {
			b.WriteString(maskChar)
		}
		last = end
		i = indexPrefixFold(s, end)
	}
	b.WriteString(s[last:])
	return b.String()
}

// indexPrefixFold returns the index of the first ASCII case-insensitive
// match of Prefix in s at or after from, or -1.
func indexPrefixFold(s string, from int) int {
	for i := from; i+len(Prefix) <= len(s); i++ {
		if asciiEqualFold(s[i:i+len(Prefix)], Prefix) {
			return i
		}
	}
	return -1
}

func asciiEqualFold(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func endsToken(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\v', '\f', '"', '\'', '`', ',', ';', '(', ')', '[', ']', '{', '}', '<', '>':
		return true
	}
	return false
}
