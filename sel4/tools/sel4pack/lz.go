package main

import (
	"encoding/binary"
	"errors"
)

// The block format is LZ4's (token: literal length high nibble, match
// length − 4 low nibble, 255-extension bytes, literals, 2-byte little-endian
// offset); the shim's C decoder (sel4/src/unpack.h) reads exactly this. A
// block always ends with a literal-only sequence.

const (
	minMatch = 4
	maxOff   = 65535 // limit-literal-ok: LZ4's 16-bit offset
	hashBits = 16    // limit-literal-ok: compressor hash table size
)

// compress encodes src greedily with a one-entry-per-hash table: fast, and
// for a Go arm64 binary within a few per cent of LZ4's own fast mode.
func compress(src []byte) []byte {
	dst := make([]byte, 0, len(src)/2+16)
	var table [1 << hashBits]int32
	for i := range table {
		table[i] = -1
	}
	hash := func(i int) uint32 {
		return (binary.LittleEndian.Uint32(src[i:]) * 2654435761) >> (32 - hashBits)
	}
	anchor, i := 0, 0
	for i+minMatch <= len(src) {
		h := hash(i)
		cand := int(table[h])
		table[h] = int32(i)
		if cand < 0 || i-cand > maxOff || binary.LittleEndian.Uint32(src[cand:]) != binary.LittleEndian.Uint32(src[i:]) {
			i++
			continue
		}
		n := minMatch
		for i+n < len(src) && src[cand+n] == src[i+n] {
			n++
		}
		dst = emit(dst, src[anchor:i], i-cand, n)
		i += n
		anchor = i
	}
	return emit(dst, src[anchor:], 0, 0)
}

// emit appends one sequence; off == 0 is the final literal-only one.
func emit(dst, lit []byte, off, mlen int) []byte {
	tok := byte(0)
	ll := len(lit)
	if ll >= 15 {
		tok = 15 << 4
	} else {
		tok = byte(ll) << 4
	}
	ml := mlen - minMatch
	if off != 0 {
		if ml >= 15 {
			tok |= 15
		} else {
			tok |= byte(ml)
		}
	}
	dst = append(dst, tok)
	dst = extend(dst, ll)
	dst = append(dst, lit...)
	if off == 0 {
		return dst
	}
	dst = append(dst, byte(off), byte(off>>8))
	return extend(dst, ml)
}

func extend(dst []byte, n int) []byte {
	if n < 15 {
		return dst
	}
	for n -= 15; n >= 255; n -= 255 {
		dst = append(dst, 255)
	}
	return append(dst, byte(n))
}

var errCorrupt = errors.New("sel4pack: corrupt block")

// decompress is the Go twin of the shim's decoder: it decodes src into
// exactly n bytes and rejects anything else (what the round-trip test and
// the fuzz target check the format against).
func decompress(src []byte, n int) ([]byte, error) {
	dst := make([]byte, 0, n)
	for i := 0; ; {
		if i >= len(src) {
			return nil, errCorrupt
		}
		tok := src[i]
		i++
		ll, j, ok := length(src, i, int(tok>>4))
		if !ok || ll > len(src)-j || ll > n-len(dst) {
			return nil, errCorrupt
		}
		dst = append(dst, src[j:j+ll]...)
		i = j + ll
		if i == len(src) {
			if len(dst) != n {
				return nil, errCorrupt
			}
			return dst, nil
		}
		if i+2 > len(src) {
			return nil, errCorrupt
		}
		off := int(src[i]) | int(src[i+1])<<8
		ml, j2, ok := length(src, i+2, int(tok&15))
		ml += minMatch
		if !ok || off == 0 || off > len(dst) || ml > n-len(dst) {
			return nil, errCorrupt
		}
		i = j2
		for k := 0; k < ml; k++ {
			dst = append(dst, dst[len(dst)-off])
		}
	}
}

// length reads a nibble's 255-extension bytes starting at i.
func length(src []byte, i, n int) (int, int, bool) {
	if n < 15 {
		return n, i, true
	}
	for {
		if i >= len(src) || n > 1<<30 {
			return 0, 0, false
		}
		b := src[i]
		i++
		n += int(b)
		if b != 255 {
			return n, i, true
		}
	}
}
