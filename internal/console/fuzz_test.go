package console

import (
	"strings"
	"testing"
)

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		"help", "PING", "attach queen", "attach worker cohesix-ticket-01.ab", "tail /log/queen.log",
		"echo /bus/a hello  world", "spawn {\"spawn\":\"heartbeat\",\"ticks\":1}", "kill w-1",
		"cachelog 7", "test --mode", "", "\x00", "echo /a \t b\t", "cat /é",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, err := Parse(line, lim)
		if err != nil {
			pe, ok := err.(*ParseError)
			if !ok {
				t.Fatalf("Parse(%q) error %T; want *ParseError", line, err)
			}
			if r := pe.Ack().Render(lim); len(r) > lim.Ack {
				t.Fatalf("rendered refusal %q too long", r)
			}
			return
		}
		back, err := Parse(c.Line(), lim)
		if err != nil || back != c {
			t.Fatalf("Parse(%q) = %+v; Parse(Line()=%q) = %+v, %v", line, c, c.Line(), back, err)
		}
		// LineBuffer never yields a line over the limit.
		b := NewLineBuffer(lim)
		for i := 0; i < len(line); i++ {
			if l, done, _ := b.Feed(line[i]); done && len(l) > lim.Line {
				t.Fatalf("LineBuffer produced %d-byte line", len(l))
			}
		}
	})
}

func FuzzParseAck(f *testing.F) {
	for _, s := range []string{"OK AUTH", "ERR X reason=policy", "END", "OK", "OK  X"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		a, ok := ParseAck(line)
		if !ok {
			return
		}
		r := a.Render(lim)
		if len(r) > lim.Ack {
			t.Fatalf("Render() = %d bytes", len(r))
		}
	})
}

// FuzzCheckAuth: every hello gets one of the §2 words, success only for
// the exact token, and every wrong token, whatever its length, the same
// word (issue 12: no length hint).
func FuzzCheckAuth(f *testing.F) {
	for _, s := range []string{"AUTH changeme", "AUTH x", "AUTH changemf", "AUTH changeme2", "AUTH ", "", "HELO changeme", "AUTH \x00"} {
		f.Add(s, "changeme")
	}
	f.Fuzz(func(t *testing.T, hello, token string) {
		got := CheckAuth(hello, token)
		rest, ok := strings.CutPrefix(hello, AuthPrefix)
		want := AuthInvalidToken
		switch {
		case !ok || rest == "":
			want = AuthExpectedToken
		case rest == token:
			want = ""
		}
		if got != want {
			t.Fatalf("CheckAuth(%q, %q) = %q; want %q", hello, token, got, want)
		}
	})
}
