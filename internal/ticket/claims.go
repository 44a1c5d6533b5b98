package ticket

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// Version is the claims version this package encodes and accepts.
const Version = 1

// Codec caps (spec §2).
const (
	// MaxStringLen is the longest subject, mount field or scope path in
	// bytes.
	MaxStringLen = 255
	// MaxScopes is the most scopes a payload can carry. The manifest's
	// max_scopes may be lower; see CheckLimits.
	MaxScopes = 16
)

// Flag bits of the payload's flags byte. A bit is set iff its field is
// present.
const (
	flagTicks   = 1 << 0
	flagOps     = 1 << 1
	flagTTL     = 1 << 2
	flagSubject = 1 << 3
	flagScopes  = 1 << 4
	flagQuotas  = 1 << 5
	knownFlags  = flagTicks | flagOps | flagTTL | flagSubject | flagScopes | flagQuotas
)

// Scope grants Verb access to the namespace subtree at Path.
type Scope struct {
	Path string
	Verb Verb
	// RatePerS is the most requests per 1000 ms window; 0 is unlimited.
	RatePerS uint32
}

// Quotas are per-ticket byte and cursor budgets; 0 in a field is
// unlimited, or the manifest cap once defaulted (Limits.EffectiveQuotas).
// The zero value means the QUOTAS section is absent.
type Quotas struct {
	BandwidthBytes uint64
	CursorResumes  uint32
	CursorAdvances uint32
}

// IsZero reports whether q is the zero value, that is absent.
func (q Quotas) IsZero() bool { return q == Quotas{} }

// Claims are the decoded ticket payload (spec §2).
type Claims struct {
	Role Role
	// Ticks, Ops and TTLs are the budget; nil means absent. TTLs is the
	// lifetime in seconds from IssuedAtMs.
	Ticks, Ops, TTLs *uint64
	// Subject is the holder's identity; "" means absent.
	Subject    string
	IssuedAtMs uint64
	// MountService and MountAt are always encoded; they may be empty.
	MountService, MountAt string
	// Scopes is absent when empty.
	Scopes []Scope
	// Quotas is absent when zero.
	Quotas Quotas
}

// flags returns the flags byte for c's present fields.
func (c Claims) flags() byte {
	var f byte
	if c.Ticks != nil {
		f |= flagTicks
	}
	if c.Ops != nil {
		f |= flagOps
	}
	if c.TTLs != nil {
		f |= flagTTL
	}
	if c.Subject != "" {
		f |= flagSubject
	}
	if len(c.Scopes) > 0 {
		f |= flagScopes
	}
	if !c.Quotas.IsZero() {
		f |= flagQuotas
	}
	return f
}

// Encode returns the payload bytes for c, exactly as spec §2 lays them
// out: little-endian integers, flags set iff a field is present. It fails
// on a role above 4 (ErrUnsupportedRole), a string over 255 bytes
// (ErrMountTooLarge), invalid UTF-8 (ErrInvalidClaims), more than 16
// scopes (ErrTooManyScopes) or a verb above 2 (ErrInvalidScopeVerb).
func (c Claims) Encode() ([]byte, error) {
	if c.Role > maxRole {
		return nil, fmt.Errorf("%w %d", ErrUnsupportedRole, uint8(c.Role))
	}
	if len(c.Scopes) > MaxScopes {
		return nil, fmt.Errorf("%w: %d, max %d", ErrTooManyScopes, len(c.Scopes), MaxScopes)
	}
	var err error
	flags := c.flags()
	b := make([]byte, 0, c.encodedLen())
	b = append(b, Version, byte(c.Role), flags)
	b = appendOptU64(b, c.Ticks)
	b = appendOptU64(b, c.Ops)
	b = appendOptU64(b, c.TTLs)
	if flags&flagSubject != 0 {
		if b, err = appendStr(b, "subject", c.Subject); err != nil {
			return nil, err
		}
	}
	b = binary.LittleEndian.AppendUint64(b, c.IssuedAtMs)
	if b, err = appendStr(b, "mount.service", c.MountService); err != nil {
		return nil, err
	}
	if b, err = appendStr(b, "mount.at", c.MountAt); err != nil {
		return nil, err
	}
	if flags&flagScopes != 0 {
		if b, err = appendScopes(b, c.Scopes); err != nil {
			return nil, err
		}
	}
	if flags&flagQuotas != 0 {
		b = binary.LittleEndian.AppendUint64(b, c.Quotas.BandwidthBytes)
		b = binary.LittleEndian.AppendUint32(b, c.Quotas.CursorResumes)
		b = binary.LittleEndian.AppendUint32(b, c.Quotas.CursorAdvances)
	}
	return b, nil
}

// encodedLen is the length of c's payload, so Encode allocates once.
func (c Claims) encodedLen() int {
	n := 3 + 8 + 3*2 + len(c.Subject) + len(c.MountService) + len(c.MountAt)
	for _, p := range []*uint64{c.Ticks, c.Ops, c.TTLs} {
		if p != nil {
			n += 8
		}
	}
	if len(c.Scopes) > 0 {
		n++
		for _, s := range c.Scopes {
			n += 2 + len(s.Path) + 1 + 4
		}
	}
	if !c.Quotas.IsZero() {
		n += 16
	}
	return n
}

func appendOptU64(b []byte, v *uint64) []byte {
	if v == nil {
		return b
	}
	return binary.LittleEndian.AppendUint64(b, *v)
}

// appendScopes writes the scope count and each scope.
func appendScopes(b []byte, scopes []Scope) ([]byte, error) {
	b = append(b, byte(len(scopes)))
	for i, s := range scopes {
		var err error
		if b, err = appendStr(b, "scope path", s.Path); err != nil {
			return nil, err
		}
		if s.Verb > VerbReadWrite {
			return nil, fmt.Errorf("%w %d in scope %d", ErrInvalidScopeVerb, uint8(s.Verb), i)
		}
		b = append(b, byte(s.Verb))
		b = binary.LittleEndian.AppendUint32(b, s.RatePerS)
	}
	return b, nil
}

func appendStr(b []byte, field, s string) ([]byte, error) {
	if len(s) > MaxStringLen {
		return nil, fmt.Errorf("%w: %s is %d bytes, max %d", ErrMountTooLarge, field, len(s), MaxStringLen)
	}
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("%w: %s is not valid utf-8", ErrInvalidClaims, field)
	}
	b = binary.LittleEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...), nil
}

// decoder reads payload fields in order. The first error sticks: every
// later read returns a zero value and every later check is moot, so a
// decode reports the first rule the payload breaks.
type decoder struct {
	b   []byte
	off int
	err error
}

// fail records err unless an earlier error stands.
func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) take(n int, field string) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b)-d.off < n {
		d.fail(fmt.Errorf("%w: %s needs %d bytes, %d left", ErrTruncated, field, n, len(d.b)-d.off))
		return nil
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p
}

func (d *decoder) u8(field string) byte {
	if p := d.take(1, field); d.err == nil {
		return p[0]
	}
	return 0
}

func (d *decoder) u32(field string) uint32 {
	if p := d.take(4, field); d.err == nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (d *decoder) u64(field string) uint64 {
	if p := d.take(8, field); d.err == nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

func (d *decoder) optU64(flags, bit byte, field string) *uint64 {
	if flags&bit == 0 {
		return nil
	}
	v := d.u64(field)
	if d.err != nil {
		return nil
	}
	return &v
}

func (d *decoder) str(field string) string {
	p := d.take(2, field+" length")
	if d.err != nil {
		return ""
	}
	n := int(binary.LittleEndian.Uint16(p))
	if n > MaxStringLen {
		d.fail(fmt.Errorf("%w: %s is %d bytes, max %d", ErrMountTooLarge, field, n, MaxStringLen))
		return ""
	}
	if p = d.take(n, field); d.err != nil {
		return ""
	}
	if !utf8.Valid(p) {
		d.fail(fmt.Errorf("%w: %s is not valid utf-8", ErrInvalidClaims, field))
		return ""
	}
	return string(p)
}

// Decode parses payload bytes strictly. Besides the spec's errors
// (ErrUnsupportedVersion, ErrUnsupportedRole, ErrInvalidScopeVerb,
// ErrTruncated, ErrTrailingData, ErrMountTooLarge, ErrTooManyScopes) it
// refuses, with ErrInvalidClaims, payloads that Encode would never write:
// unknown flag bits, a SUBJECT flag with an empty subject, a SCOPES flag
// with zero scopes, a QUOTAS flag with all quotas zero, and strings that
// are not UTF-8. So every payload that decodes re-encodes to the same
// bytes.
func Decode(payload []byte) (Claims, error) {
	d := decoder{b: payload}
	c, flags := d.header()
	c.Ticks = d.optU64(flags, flagTicks, "ticks")
	c.Ops = d.optU64(flags, flagOps, "ops")
	c.TTLs = d.optU64(flags, flagTTL, "ttl_s")
	if flags&flagSubject != 0 {
		c.Subject = d.subject()
	}
	c.IssuedAtMs = d.u64("issued_at_ms")
	c.MountService = d.str("mount.service")
	c.MountAt = d.str("mount.at")
	if flags&flagScopes != 0 {
		c.Scopes = d.scopes()
	}
	if flags&flagQuotas != 0 {
		c.Quotas = d.quotas()
	}
	if rest := len(payload) - d.off; rest != 0 {
		d.fail(fmt.Errorf("%w: %d bytes after the last field", ErrTrailingData, rest))
	}
	if d.err != nil {
		return Claims{}, d.err
	}
	return c, nil
}

// header reads version, role and flags.
func (d *decoder) header() (Claims, byte) {
	if v := d.u8("version"); v != Version {
		d.fail(fmt.Errorf("%w %d", ErrUnsupportedVersion, v))
	}
	r := d.u8("role")
	if Role(r) > maxRole {
		d.fail(fmt.Errorf("%w %d", ErrUnsupportedRole, r))
	}
	flags := d.u8("flags")
	if flags&^knownFlags != 0 {
		d.fail(fmt.Errorf("%w: unknown flag bits %#02x", ErrInvalidClaims, flags&^knownFlags))
	}
	if d.err != nil {
		return Claims{}, 0
	}
	return Claims{Role: Role(r)}, flags
}

func (d *decoder) subject() string {
	s := d.str("subject")
	if d.err == nil && s == "" {
		d.fail(fmt.Errorf("%w: subject flag set with an empty subject", ErrInvalidClaims))
	}
	return s
}

func (d *decoder) scopes() []Scope {
	n := d.u8("scope count")
	switch {
	case d.err != nil:
		return nil
	case n == 0:
		d.fail(fmt.Errorf("%w: scopes flag set with zero scopes", ErrInvalidClaims))
		return nil
	case n > MaxScopes:
		d.fail(fmt.Errorf("%w: %d, max %d", ErrTooManyScopes, n, MaxScopes))
		return nil
	}
	scopes := make([]Scope, n)
	for i := range scopes {
		s := &scopes[i]
		s.Path = d.str("scope path")
		vb := d.u8("scope verb")
		if d.err != nil {
			return nil
		}
		if Verb(vb) > VerbReadWrite {
			d.fail(fmt.Errorf("%w %d in scope %d", ErrInvalidScopeVerb, vb, i))
			return nil
		}
		s.Verb = Verb(vb)
		s.RatePerS = d.u32("scope rate_per_s")
	}
	return scopes
}

func (d *decoder) quotas() Quotas {
	q := Quotas{
		BandwidthBytes: d.u64("bandwidth_bytes"),
		CursorResumes:  d.u32("cursor_resumes"),
		CursorAdvances: d.u32("cursor_advances"),
	}
	if d.err == nil && q.IsZero() {
		d.fail(fmt.Errorf("%w: quotas flag set with all quotas zero", ErrInvalidClaims))
	}
	return q
}
