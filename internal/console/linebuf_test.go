package console

import (
	"errors"
	"strings"
	"testing"
)

// feedAll feeds in and returns completed lines plus overflow errors as "!".
func feedAll(b *LineBuffer, in string) []string {
	var out []string
	for i := 0; i < len(in); i++ {
		line, done, err := b.Feed(in[i])
		var pe *ParseError
		switch {
		case errors.As(err, &pe):
			out = append(out, "!"+pe.Msg)
		case err != nil:
			out = append(out, "?"+err.Error())
		case done:
			out = append(out, line)
		}
	}
	return out
}

func TestLineBuffer(t *testing.T) {
	rows := []struct {
		name, in string
		want     []string
	}{
		{"plain", "ping\n", []string{"ping"}},
		{"two lines", "ping\nhelp\n", []string{"ping", "help"}},
		{"cr ignored", "pi\rng\r\n", []string{"ping"}},
		{"backspace", "pinx\bg\n", []string{"ping"}},
		{"delete", "pinx\x7fg\n", []string{"ping"}},
		{"backspace on empty", "\b\x7fping\n", []string{"ping"}},
		{"backspace removes whole rune", "é\bok\n", []string{"ok"}},
		{"control dropped", "p\x00i\x1bn\x07g\n", []string{"ping"}},
		{"tab dropped", "ca\tt\n", []string{"cat"}},
		{"empty line", "\n", []string{""}},
		{"line at limit", strings.Repeat("a", 256) + "\n", []string{strings.Repeat("a", 256)}},
		{"257-byte line", strings.Repeat("a", 257) + "\nping\n", []string{"!console line exceeded maximum length", "ping"}},
		{"overflow tail discarded", strings.Repeat("a", 256) + "quit\nping\n", []string{"!console line exceeded maximum length", "ping"}},
		{"backspace before limit", strings.Repeat("a", 256) + "\b" + "b\n", []string{strings.Repeat("a", 255) + "b"}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			got := feedAll(NewLineBuffer(lim), r.in)
			if strings.Join(got, "\x00") != strings.Join(r.want, "\x00") || len(got) != len(r.want) {
				t.Errorf("Feed(%q) lines = %q; want %q", r.in, got, r.want)
			}
		})
	}
}
