// Package auditline makes text safe to put into one audit or log line.
//
// A name, path or payload that reaches /log/queen.log (or any line-based
// log) must never be able to end the line it is in and start another:
// "x\r\nattach accepted role=queen" would otherwise forge an entry. Every
// writer of such a line escapes the untrusted fields with [Field]; the
// queen's single log sink applies [Line] to the whole line as a second
// defence.
package auditline

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Field escapes s for use as one field of a log line: backslash becomes
// `\\`, CR, LF and tab become `\r`, `\n`, `\t`, other control bytes and
// bytes of invalid UTF-8 become `\xHH`, and other non-printable runes
// (C1 controls, U+2028, bidi overrides) become `\uHHHH`. The result holds
// no control character and [Unescape] returns s from it.
func Field(s string) string {
	if !needsEscape(s, true) {
		return s
	}
	return string(appendEscaped(make([]byte, 0, len(s)+8), s, true))
}

// Line escapes the control characters and non-printables of a whole line
// like [Field] but leaves backslashes alone, so a line whose fields are
// already escaped passes unchanged (Line(Field(x)) == Field(x)). It is the
// sink's defence in depth: whatever a writer forgot, one call writes one
// line.
func Line(s string) string {
	if !needsEscape(s, false) {
		return s
	}
	return string(appendEscaped(make([]byte, 0, len(s)+8), s, false))
}

// HasControl reports whether s holds anything that [Line] would escape: a
// byte below 0x20 or 0x7f (ESC-led terminal sequences included), a C1
// control or other non-printable rune, or invalid UTF-8. Names and paths
// holding one are refused as invalid before anything else looks at them.
func HasControl(s string) bool { return needsEscape(s, false) }

func needsEscape(s string, backslash bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || (backslash && c == '\\') {
			return true
		}
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 || !strconv.IsPrint(r) {
				return true
			}
			i += n - 1
		}
	}
	return false
}

const hex = "0123456789abcdef"

func appendEscaped(b []byte, s string, backslash bool) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\\' && backslash:
				b = append(b, '\\', '\\')
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'x', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b = append(b, '\\', 'x', hex[c>>4], hex[c&0xf])
		case !strconv.IsPrint(r):
			b = appendU(b, r)
		default:
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return b
}

func appendU(b []byte, r rune) []byte {
	if r > 0xffff {
		b = append(b, '\\', 'U')
		for sh := 28; sh >= 0; sh -= 4 {
			b = append(b, hex[r>>sh&0xf])
		}
		return b
	}
	b = append(b, '\\', 'u')
	for sh := 12; sh >= 0; sh -= 4 {
		b = append(b, hex[r>>sh&0xf])
	}
	return b
}

// Unescape reverses [Field]. ok is false for text Field cannot produce.
func Unescape(s string) (string, bool) {
	if !strings.Contains(s, `\`) {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 >= len(s) {
			return "", false
		}
		i++
		switch s[i] {
		case '\\':
			b.WriteByte('\\')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'x', 'u', 'U':
			width := map[byte]int{'x': 2, 'u': 4, 'U': 8}[s[i]]
			if i+width >= len(s) {
				return "", false
			}
			v, err := strconv.ParseUint(s[i+1:i+1+width], 16, 32)
			if err != nil {
				return "", false
			}
			if s[i] == 'x' {
				b.WriteByte(byte(v))
			} else {
				b.WriteRune(rune(v))
			}
			i += width
		default:
			return "", false
		}
	}
	return b.String(), true
}
