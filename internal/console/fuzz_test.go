package console

import "testing"

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
