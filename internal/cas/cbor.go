package cas

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
)

// The manifest and keyset use a fixed CBOR subset: definite-length arrays,
// text and byte strings, unsigned integers and null, every head in its
// shortest form (RFC 8949 §4.2.1, core deterministic). The decoder below
// accepts exactly what the encoder writes, so decode-then-encode is the
// identity, and it tells a truncated input (ErrIncomplete) from a wrong one.

const (
	majUint  = 0
	majBytes = 2
	majText  = 3
	majArray = 4
	cborNull = 0xf6
)

func appendHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= 0xff:
		return append(b, m|24, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, m|25), uint16(n))
	case n <= 0xffffffff:
		return binary.BigEndian.AppendUint32(append(b, m|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, m|27), n)
}

func appendText(b []byte, s string) []byte {
	return append(appendHead(b, majText, uint64(len(s))), s...)
}

func appendBytes(b, p []byte) []byte {
	return append(appendHead(b, majBytes, uint64(len(p))), p...)
}

// decoder reads the subset from b. Every method returns ErrIncomplete
// (wrapped) when b ends inside the item it reads.
type decoder struct {
	b   []byte
	off int
}

var majorName = [8]string{"uint", "negative int", "bytes", "text", "array", "map", "tag", "simple/float"}

// head reads one item head. null is reported as major 7 with arg 22.
func (d *decoder) head() (major byte, arg uint64, err error) {
	if d.off >= len(d.b) {
		return 0, 0, ErrIncomplete
	}
	c := d.b[d.off]
	major, ai := c>>5, c&0x1f
	if major == 7 {
		if ai == 22 {
			d.off++
			return 7, 22, nil
		}
		return 0, 0, fmt.Errorf("offset %d: simple value or float 0x%02x not allowed", d.off, c)
	}
	if major == 1 || major == 5 || major == 6 {
		return 0, 0, fmt.Errorf("offset %d: %s not allowed", d.off, majorName[major])
	}
	var n int
	switch {
	case ai < 24:
		d.off++
		return major, uint64(ai), nil
	case ai == 24:
		n = 1
	case ai == 25:
		n = 2
	case ai == 26:
		n = 4
	case ai == 27:
		n = 8
	case ai == 31:
		return 0, 0, fmt.Errorf("offset %d: indefinite length not allowed", d.off)
	default:
		return 0, 0, fmt.Errorf("offset %d: reserved additional info %d", d.off, ai)
	}
	if len(d.b)-d.off-1 < n {
		return 0, 0, ErrIncomplete
	}
	p := d.b[d.off+1 : d.off+1+n]
	var min uint64
	switch n {
	case 1:
		arg, min = uint64(p[0]), 24
	case 2:
		arg, min = uint64(binary.BigEndian.Uint16(p)), 0x100
	case 4:
		arg, min = uint64(binary.BigEndian.Uint32(p)), 0x10000
	case 8:
		arg, min = binary.BigEndian.Uint64(p), 0x100000000
	}
	if arg < min {
		return 0, 0, fmt.Errorf("offset %d: %s head not in shortest form", d.off, majorName[major])
	}
	d.off += 1 + n
	return major, arg, nil
}

func (d *decoder) want(what string, major byte) (uint64, error) {
	m, arg, err := d.head()
	if err != nil {
		return 0, err
	}
	if m != major {
		return 0, fmt.Errorf("%s: want %s, have %s", what, majorName[major], kindOf(m, arg))
	}
	return arg, nil
}

func kindOf(m byte, arg uint64) string {
	if m == 7 && arg == 22 {
		return "null"
	}
	return majorName[m]
}

func (d *decoder) uint(what string) (uint64, error) { return d.want(what, majUint) }

// arrayLen reads an array head whose length must be in [min, max].
func (d *decoder) arrayLen(what string, min, max uint64) (int, error) {
	n, err := d.want(what, majArray)
	if err != nil {
		return 0, err
	}
	if n < min || n > max {
		if min == max {
			return 0, fmt.Errorf("%s: want %d items, have %d", what, min, n)
		}
		return 0, fmt.Errorf("%s: want %d to %d items, have %d", what, min, max, n)
	}
	return int(n), nil
}

// str reads a text or byte string whose length must be in [min, max]; the
// length is checked before waiting for the content.
func (d *decoder) str(what string, major byte, min, max uint64) ([]byte, error) {
	n, err := d.want(what, major)
	if err != nil {
		return nil, err
	}
	if n < min || n > max {
		if min == max {
			return nil, fmt.Errorf("%s: want %d bytes, have %d", what, min, n)
		}
		return nil, fmt.Errorf("%s: want %d to %d bytes, have %d", what, min, max, n)
	}
	if uint64(len(d.b)-d.off) < n {
		return nil, ErrIncomplete
	}
	p := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return p, nil
}

// nullOr reports whether the next item is null (and consumes it).
func (d *decoder) nullOr() (bool, error) {
	if d.off >= len(d.b) {
		return false, ErrIncomplete
	}
	if d.b[d.off] == cborNull {
		d.off++
		return true, nil
	}
	return false, nil
}

func (d *decoder) digest(what string) (Digest, error) {
	var g Digest
	p, err := d.str(what, majBytes, 32, 32)
	if err == nil {
		copy(g[:], p)
	}
	return g, err
}

// signature reads the item both the manifest and the keyset end with: null
// (a nil signature) or bytes(64), an Ed25519 signature, returned as a copy.
func (d *decoder) signature() ([]byte, error) {
	null, err := d.nullOr()
	if err != nil || null {
		return nil, err
	}
	sig, err := d.str("signature", majBytes, ed25519.SignatureSize, ed25519.SignatureSize)
	if err != nil {
		return nil, fmt.Errorf("%w (want null or bytes(64))", err)
	}
	return bytes.Clone(sig), nil
}

// finish checks that d has read all of its input (what names the document
// in the error) and that encode, the re-encoding of what was decoded,
// reproduces that input byte for byte.
func (d *decoder) finish(what string, encode func() []byte) error {
	if d.off != len(d.b) {
		return fmt.Errorf("%d trailing bytes after the %s", len(d.b)-d.off, what)
	}
	if !bytes.Equal(encode(), d.b) {
		return errors.New("not in deterministic encoding")
	}
	return nil
}
