package console

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestCatSummary(t *testing.T) {
	long := strings.Repeat("L", 65)
	b64 := "b64:" + strings.Repeat("QUJD", 63) // 256 bytes
	rows := []struct {
		name, path string
		lines      []string
		want       string
	}{
		{"no lines", "/proc/boot", nil, ""},
		{"joined oldest to newest", "/proc/boot", []string{"a", "b", "c"}, "a|b|c"},
		{"skips lines over 64 bytes", "/proc/boot", []string{"a", long, "c"}, "a|c"},
		{"64-byte line kept", "/proc/boot", []string{strings.Repeat("s", 64)}, strings.Repeat("s", 64)},
		{"newest first under budget", "/proc/x", // budget 128-len("path=/proc/x data=")=110
			[]string{strings.Repeat("1", 50), strings.Repeat("2", 50), strings.Repeat("3", 50)},
			strings.Repeat("2", 50) + "|" + strings.Repeat("3", 50)},
		{"queen log prefers user lines", QueenLogPath,
			[]string{"[boot] start", "hello", "[event] x", "world", "[net-console] up"}, "hello|world"},
		{"queen log falls back to system lines", QueenLogPath,
			[]string{"[boot] start", "[event] x"}, "[boot] start|[event] x"},
		{"brackets kept outside queen log", "/proc/boot", []string{"[a]", "b"}, "[a]|b"},
		{"updates b64 first line", "/updates/1/manifest", []string{"b64:AAAA", "x"}, "b64:AAAA"},
		{"models b64 first line", "/models/m1", []string{"b64:QUJD", "b64:REVG"}, "b64:QUJD"},
		{"b64 summary truncated", "/updates/e", []string{b64}, b64[:128-len("path=/updates/e data=")]},
		{"b64 only under updates or models", "/proc/x", []string{"b64:AAAA"}, "b64:AAAA"},
		{"updates without b64", "/updates/e", []string{"x", "y"}, "x|y"},
		{"long path cuts newest line", "/" + strings.Repeat("p", 95), []string{"old", strings.Repeat("n", 40)},
			strings.Repeat("n", 128-len("path=/ data=")-95)},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			got := CatSummary(r.path, r.lines, lim)
			if got != r.want {
				t.Errorf("CatSummary(%q, %q) = %q; want %q", r.path, r.lines, got, r.want)
			}
			if n := len("path=" + r.path + " data=" + got); n > lim.CatSummary {
				t.Errorf("path=<p> data=<summary> is %d bytes; want <= %d", n, lim.CatSummary)
			}
		})
	}
}

func TestB64Lines(t *testing.T) {
	rows := []struct {
		name  string
		size  int
		lines int
	}{
		{"empty", 0, 1},
		{"fits one line", 189, 1}, // 252 base64 chars
		{"splits", 190, 2},
		{"three lines", 189 * 3, 3},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			data := make([]byte, r.size)
			for i := range data {
				data[i] = byte(i * 7)
			}
			got := B64Lines(data, lim.B64Line)
			if len(got) != r.lines {
				t.Fatalf("B64Lines(%d bytes) = %d lines; want %d", r.size, len(got), r.lines)
			}
			var enc strings.Builder
			for _, l := range got {
				text, ok := strings.CutPrefix(l, "b64:")
				if !ok || len(text) > 252 || len(text)%4 != 0 {
					t.Errorf("line %q: want b64: prefix and <=252 chars, multiple of 4", l)
				}
				enc.WriteString(text)
			}
			if dec, err := base64.StdEncoding.DecodeString(enc.String()); err != nil || string(dec) != string(data) {
				t.Errorf("B64Lines round trip = %v, %v", len(dec), err)
			}
		})
	}
}

// TestContentLines: cat shows text as its lines and anything else as b64
// lines, so no reply line carries raw bytes (spec console §5).
func TestContentLines(t *testing.T) {
	lim := ManifestLimits()
	if got := ContentLines([]byte("a\tb\nc\r\n"), lim); len(got) != 2 || got[0] != "a\tb" {
		t.Errorf("text = %q", got)
	}
	if got := ContentLines(nil, lim); got != nil {
		t.Errorf("empty = %q; want no lines", got)
	}
	for _, bin := range [][]byte{{0x8a, 'x'}, {'a', 0, 'b'}, {0x1b, '['}, {0x7f}} {
		got := ContentLines(bin, lim)
		if len(got) != 1 || got[0] != B64Lines(bin, lim.B64Line)[0] {
			t.Errorf("ContentLines(%q) = %q; want b64 lines", bin, got)
		}
	}
}
