package auditline

import (
	"strings"
	"testing"
)

func TestFieldEscapes(t *testing.T) {
	for in, want := range map[string]string{
		"plain /log/queen.log":            "plain /log/queen.log",
		"x\r\nattach accepted role=queen": `x\r\nattach accepted role=queen`,
		"a\x1b[2Jb":                       `a\x1b[2Jb`,
		"tab\there":                       `tab\there`,
		`back\slash`:                      `back\\slash`,
		"del\x7f":                         `del\x7f`,
		"bad\xffutf8":                     `bad\xffutf8`,
		"ls\u2028sep":                     `ls\u2028sep`,
		"c1\u009bcsi":                     `c1\u009bcsi`,
		"héllo wörld":                     "héllo wörld",
	} {
		if got := Field(in); got != want {
			t.Errorf("Field(%q) = %q, want %q", in, got, want)
		}
		if back, ok := Unescape(Field(in)); !ok || back != in {
			t.Errorf("Unescape(Field(%q)) = %q, %v", in, back, ok)
		}
	}
}

func TestLineKeepsBackslashAndIsIdempotentOnFields(t *testing.T) {
	if got := Line("path=C:\\x forged\nline"); got != `path=C:\x forged\nline` {
		t.Errorf("Line = %q", got)
	}
	for _, s := range []string{"x\r\ny", `a\b`, "\x1b]0;t\x07", "ok"} {
		if f := Field(s); Line(f) != f {
			t.Errorf("Line(Field(%q)) = %q, want %q", s, Line(f), f)
		}
	}
}

func TestHasControl(t *testing.T) {
	for _, s := range []string{"a\rb", "\n", "\x1b[31m", "\x7f", "\x00", "\xc3", "\u0085", "\u202e"} {
		if !HasControl(s) {
			t.Errorf("HasControl(%q) = false", s)
		}
	}
	for _, s := range []string{"", "telemetry", "worker-1", `back\slash`, "ünïcode", "sp ace"} {
		if HasControl(s) {
			t.Errorf("HasControl(%q) = true", s)
		}
	}
}

func TestUnescapeRefusesWhatFieldCannotProduce(t *testing.T) {
	for _, s := range []string{`\`, `\q`, `\x4`, `\xzz`, `\u12`} {
		if _, ok := Unescape(s); ok {
			t.Errorf("Unescape(%q) ok", s)
		}
	}
}

// FuzzField: Field never leaves a control byte or a line break and always
// round-trips; Line never leaves one either.
func FuzzField(f *testing.F) {
	for _, s := range []string{"", "x\r\nattach accepted role=queen", "\x1b[2J", `\\`, "\xff\xfe", "\u2028", "\U0001F600"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for name, out := range map[string]string{"Field": Field(s), "Line": Line(s)} {
			if i := strings.IndexFunc(out, func(r rune) bool { return r < 0x20 || r == 0x7f }); i >= 0 {
				t.Fatalf("%s(%q) = %q holds a control byte at %d", name, s, out, i)
			}
			if HasControl(out) {
				t.Fatalf("%s(%q) = %q still has a control", name, s, out)
			}
		}
		back, ok := Unescape(Field(s))
		if !ok || back != s {
			t.Fatalf("Unescape(Field(%q)) = %q, %v", s, back, ok)
		}
		if Line(Field(s)) != Field(s) {
			t.Fatalf("Line(Field(%q)) changed it", s)
		}
	})
}

// FuzzUnescape: any text either is refused or decodes to a string whose
// escape decodes to it again; Unescape never panics.
func FuzzUnescape(f *testing.F) {
	for _, s := range []string{`x\r\nattach`, `\x1b[2J`, `\\`, `\u2028`, `\U0001f600`, `\`, `\xZZ`, `\u12`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, ok := Unescape(s)
		if !ok {
			return
		}
		if back, ok := Unescape(Field(u)); !ok || back != u {
			t.Fatalf("Unescape(Field(%q)) = %q, %v", u, back, ok)
		}
	})
}
