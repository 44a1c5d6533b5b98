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
	n := 3 + 8 + 3*2 + len(c.Subject) + len(c.MountService) + len(c.MountAt)
	if c.Ticks != nil {
		n += 8
	}
	if c.Ops != nil {
		n += 8
	}
	if c.TTLs != nil {
		n += 8
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

	var err error
	flags := c.flags()
	b := make([]byte, 0, n)
	b = append(b, Version, byte(c.Role), flags)
	if c.Ticks != nil {
		b = binary.LittleEndian.AppendUint64(b, *c.Ticks)
	}
	if c.Ops != nil {
		b = binary.LittleEndian.AppendUint64(b, *c.Ops)
	}
	if c.TTLs != nil {
		b = binary.LittleEndian.AppendUint64(b, *c.TTLs)
	}
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
		b = append(b, byte(len(c.Scopes)))
		for i, s := range c.Scopes {
			if b, err = appendStr(b, "scope path", s.Path); err != nil {
				return nil, err
			}
			if s.Verb > VerbReadWrite {
				return nil, fmt.Errorf("%w %d in scope %d", ErrInvalidScopeVerb, uint8(s.Verb), i)
			}
			b = append(b, byte(s.Verb))
			b = binary.LittleEndian.AppendUint32(b, s.RatePerS)
		}
	}
	if flags&flagQuotas != 0 {
		b = binary.LittleEndian.AppendUint64(b, c.Quotas.BandwidthBytes)
		b = binary.LittleEndian.AppendUint32(b, c.Quotas.CursorResumes)
		b = binary.LittleEndian.AppendUint32(b, c.Quotas.CursorAdvances)
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

// decoder reads payload fields in order.
type decoder struct {
	b   []byte
	off int
}

func (d *decoder) take(n int, field string) ([]byte, error) {
	if len(d.b)-d.off < n {
		return nil, fmt.Errorf("%w: %s needs %d bytes, %d left", ErrTruncated, field, n, len(d.b)-d.off)
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p, nil
}

func (d *decoder) u8(field string) (byte, error) {
	p, err := d.take(1, field)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

func (d *decoder) u32(field string) (uint32, error) {
	p, err := d.take(4, field)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(p), nil
}

func (d *decoder) u64(field string) (uint64, error) {
	p, err := d.take(8, field)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(p), nil
}

func (d *decoder) optU64(flags, bit byte, field string) (*uint64, error) {
	if flags&bit == 0 {
		return nil, nil
	}
	v, err := d.u64(field)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

func (d *decoder) str(field string) (string, error) {
	p, err := d.take(2, field+" length")
	if err != nil {
		return "", err
	}
	n := int(binary.LittleEndian.Uint16(p))
	if n > MaxStringLen {
		return "", fmt.Errorf("%w: %s is %d bytes, max %d", ErrMountTooLarge, field, n, MaxStringLen)
	}
	if p, err = d.take(n, field); err != nil {
		return "", err
	}
	if !utf8.Valid(p) {
		return "", fmt.Errorf("%w: %s is not valid utf-8", ErrInvalidClaims, field)
	}
	return string(p), nil
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
	var c Claims
	v, err := d.u8("version")
	if err != nil {
		return Claims{}, err
	}
	if v != Version {
		return Claims{}, fmt.Errorf("%w %d", ErrUnsupportedVersion, v)
	}
	r, err := d.u8("role")
	if err != nil {
		return Claims{}, err
	}
	if Role(r) > maxRole {
		return Claims{}, fmt.Errorf("%w %d", ErrUnsupportedRole, r)
	}
	c.Role = Role(r)
	flags, err := d.u8("flags")
	if err != nil {
		return Claims{}, err
	}
	if flags&^knownFlags != 0 {
		return Claims{}, fmt.Errorf("%w: unknown flag bits %#02x", ErrInvalidClaims, flags&^knownFlags)
	}
	if c.Ticks, err = d.optU64(flags, flagTicks, "ticks"); err != nil {
		return Claims{}, err
	}
	if c.Ops, err = d.optU64(flags, flagOps, "ops"); err != nil {
		return Claims{}, err
	}
	if c.TTLs, err = d.optU64(flags, flagTTL, "ttl_s"); err != nil {
		return Claims{}, err
	}
	if flags&flagSubject != 0 {
		if c.Subject, err = d.str("subject"); err != nil {
			return Claims{}, err
		}
		if c.Subject == "" {
			return Claims{}, fmt.Errorf("%w: subject flag set with an empty subject", ErrInvalidClaims)
		}
	}
	if c.IssuedAtMs, err = d.u64("issued_at_ms"); err != nil {
		return Claims{}, err
	}
	if c.MountService, err = d.str("mount.service"); err != nil {
		return Claims{}, err
	}
	if c.MountAt, err = d.str("mount.at"); err != nil {
		return Claims{}, err
	}
	if flags&flagScopes != 0 {
		n, err := d.u8("scope count")
		if err != nil {
			return Claims{}, err
		}
		if n == 0 {
			return Claims{}, fmt.Errorf("%w: scopes flag set with zero scopes", ErrInvalidClaims)
		}
		if n > MaxScopes {
			return Claims{}, fmt.Errorf("%w: %d, max %d", ErrTooManyScopes, n, MaxScopes)
		}
		c.Scopes = make([]Scope, n)
		for i := range c.Scopes {
			s := &c.Scopes[i]
			if s.Path, err = d.str("scope path"); err != nil {
				return Claims{}, err
			}
			vb, err := d.u8("scope verb")
			if err != nil {
				return Claims{}, err
			}
			if Verb(vb) > VerbReadWrite {
				return Claims{}, fmt.Errorf("%w %d in scope %d", ErrInvalidScopeVerb, vb, i)
			}
			s.Verb = Verb(vb)
			if s.RatePerS, err = d.u32("scope rate_per_s"); err != nil {
				return Claims{}, err
			}
		}
	}
	if flags&flagQuotas != 0 {
		q := &c.Quotas
		if q.BandwidthBytes, err = d.u64("bandwidth_bytes"); err != nil {
			return Claims{}, err
		}
		if q.CursorResumes, err = d.u32("cursor_resumes"); err != nil {
			return Claims{}, err
		}
		if q.CursorAdvances, err = d.u32("cursor_advances"); err != nil {
			return Claims{}, err
		}
		if q.IsZero() {
			return Claims{}, fmt.Errorf("%w: quotas flag set with all quotas zero", ErrInvalidClaims)
		}
	}
	if rest := len(payload) - d.off; rest != 0 {
		return Claims{}, fmt.Errorf("%w: %d bytes after the last field", ErrTrailingData, rest)
	}
	return c, nil
}
