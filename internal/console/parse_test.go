package console

import (
	"errors"
	"strings"
	"testing"
)

var lim = ManifestLimits()

func TestVerbTable(t *testing.T) {
	// One row per row of the §4 "Verb → ACK label" table, in canonical order.
	rows := []struct{ verb, label string }{
		{"help", "HELP"}, {"bi", "BOOTINFO"}, {"caps", "CAPS"}, {"mem", "MEM"},
		{"ping", "PING"}, {"test", "TEST"}, {"nettest", "NETTEST"}, {"netstats", "NETSTATS"},
		{"log", "LOG"}, {"cachelog", "CACHELOG"}, {"quit", "QUIT"}, {"tail", "TAIL"},
		{"cat", "CAT"}, {"ls", "LS"}, {"echo", "ECHO"}, {"attach", "ATTACH"},
		{"spawn", "SPAWN"}, {"kill", "KILL"},
	}
	if len(Verbs) != len(rows) {
		t.Fatalf("len(Verbs) = %d; want %d", len(Verbs), len(rows))
	}
	for i, r := range rows {
		t.Run(r.verb, func(t *testing.T) {
			if Verbs[i] != Verb(r.verb) {
				t.Errorf("Verbs[%d] = %q; want %q", i, Verbs[i], r.verb)
			}
			if got := Verb(r.verb).Label(); got != r.label {
				t.Errorf("Verb(%q).Label() = %q; want %q", r.verb, got, r.label)
			}
			for _, spelling := range []string{r.verb, strings.ToUpper(r.verb), strings.ToUpper(r.verb[:1]) + r.verb[1:]} {
				if v, ok := LookupVerb(spelling); !ok || v != Verb(r.verb) {
					t.Errorf("LookupVerb(%q) = %q, %v; want %q, true", spelling, v, ok, r.verb)
				}
			}
		})
	}
	t.Run("kelvin-sign-is-not-k", func(t *testing.T) {
		if v, ok := LookupVerb("\u212aill"); ok {
			t.Errorf("LookupVerb(kelvin ill) = %q, true; want false", v)
		}
	})
}

func TestManifestLimitsMatchSpec(t *testing.T) {
	// §3 "Field limits" plus §1 framing and §4 ACK limits.
	rows := []struct {
		name      string
		got, want int
	}{
		{"whole line", lim.Line, 256},
		{"role", lim.Role, 16},
		{"ticket", lim.Ticket, 224},
		{"path", lim.Path, 96},
		{"JSON payload (spawn)", lim.JSON, 192},
		{"worker id (kill)", lim.WorkerID, 32},
		{"echo payload", lim.Echo, 128},
		{"ack", lim.Ack, 256},
		{"frame", lim.Frame, 8192},
		{"cat summary", lim.CatSummary, 128},
		{"cat summary line", lim.CatSummaryLine, 64},
		{"b64 line", lim.B64Line, 252},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			if r.got != r.want {
				t.Errorf("ManifestLimits() %s = %d; want %d", r.name, r.got, r.want)
			}
		})
	}
}

func TestFieldLimits(t *testing.T) {
	// One row per row of the §3 field limit table: at the limit parses,
	// one byte over is refused with the spec's message.
	x := func(n int) string { return strings.Repeat("x", n) }
	rows := []struct {
		name     string
		at, over string
		wantErr  string
	}{
		{"whole line", "echo /bus/a " + x(128) + strings.Repeat(" ", 256-12-128), "echo /bus/a " + x(128) + strings.Repeat(" ", 257-12-128), "console line exceeded maximum length"},
		{"role", "attach " + x(16), "attach " + x(17), "argument role exceeds allowed length"},
		{"ticket", "attach queen " + x(224), "attach queen " + x(225), "argument ticket exceeds allowed length"},
		{"path", "cat /" + x(95), "cat /" + x(96), "argument path exceeds allowed length"},
		{"JSON payload (spawn)", "spawn " + x(192), "spawn " + x(193), "argument json exceeds allowed length"},
		{"worker id (kill)", "kill " + x(32), "kill " + x(33), "argument worker exceeds allowed length"},
		{"echo payload", "echo /bus/a " + x(128), "echo /bus/a " + x(129), "argument payload exceeds allowed length"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			if _, err := Parse(r.at, lim); err != nil {
				t.Errorf("Parse(at limit) = %v; want nil", err)
			}
			_, err := Parse(r.over, lim)
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Msg != r.wantErr {
				t.Errorf("Parse(over limit) = %v; want %q", err, r.wantErr)
			}
		})
	}
}

func TestParse(t *testing.T) {
	rows := []struct {
		name, in string
		want     Command
		wantErr  string
	}{
		{"empty", "", Command{}, "empty command"},
		{"blank", " \t \r\n", Command{}, "empty command"},
		{"unknown verb", "frobnicate", Command{}, "unsupported console command"},
		{"unknown verb with args", "reboot now", Command{}, "unsupported console command"},
		{"login is shell only", "login queen", Command{}, "unsupported console command"},
		{"help", "help", Command{Verb: Help}, ""},
		{"upper case", "HELP", Command{Verb: Help}, ""},
		{"trimmed", "  ping \r\n", Command{Verb: Ping}, ""},
		{"bi", "bi", Command{Verb: BootInfo}, ""},
		{"caps", "caps", Command{Verb: Caps}, ""},
		{"mem", "mem", Command{Verb: Mem}, ""},
		{"test", "test", Command{Verb: Test}, ""},
		{"test with argument", "test --mode quick", Command{}, "invalid value for argument test"},
		{"quit with argument", "quit now", Command{}, "invalid value for argument quit"},
		{"nettest", "nettest", Command{Verb: NetTest}, ""},
		{"netstats", "netstats", Command{Verb: NetStats}, ""},
		{"log", "log", Command{Verb: Log}, ""},
		{"cachelog", "cachelog", Command{Verb: CacheLog}, ""},
		{"cachelog n", "cachelog 12", Command{Verb: CacheLog, N: 12, HasN: true}, ""},
		{"cachelog u16 max", "cachelog 65535", Command{Verb: CacheLog, N: 65535, HasN: true}, ""},
		{"cachelog over u16", "cachelog 65536", Command{}, "invalid value for argument n"},
		{"cachelog negative", "cachelog -1", Command{}, "invalid value for argument n"},
		{"cachelog two", "cachelog 1 2", Command{}, "invalid value for argument n"},
		{"quit", "quit", Command{Verb: Quit}, ""},
		{"tail", "tail /log/queen.log", Command{Verb: Tail, Path: "/log/queen.log"}, ""},
		{"tail no path", "tail", Command{}, "missing required argument: path"},
		{"tail two paths", "tail /a /b", Command{}, "invalid value for argument path"},
		{"cat", "CAT /proc/boot", Command{Verb: Cat, Path: "/proc/boot"}, ""},
		{"cat nul", "cat /a\x00b", Command{}, "invalid value for argument path"},
		{"cat bad utf8", "cat /a\xffb", Command{}, "invalid value for argument path"},
		{"ls", "ls /", Command{Verb: Ls, Path: "/"}, ""},
		{"ls no path", "ls   ", Command{}, "missing required argument: path"},
		{"echo", "echo /log/queen.log hello world", Command{Verb: Echo, Path: "/log/queen.log", Payload: "hello world"}, ""},
		{"echo keeps inner spacing", "echo\t/bus/x  a  \tb ", Command{Verb: Echo, Path: "/bus/x", Payload: "a  \tb"}, ""},
		{"echo no path", "echo", Command{}, "missing required argument: path"},
		{"echo no payload", "echo /bus/x", Command{}, "missing required argument: payload"},
		{"echo newline in payload", "echo /bus/x a\nb", Command{}, "invalid value for argument payload"},
		{"attach queen", "attach queen", Command{Verb: Attach, Role: "queen"}, ""},
		{"attach keeps role case", "ATTACH Queen", Command{Verb: Attach, Role: "Queen"}, ""},
		{"attach ticket", "attach worker cohesix-ticket-01.ab", Command{Verb: Attach, Role: "worker", Ticket: "cohesix-ticket-01.ab"}, ""},
		{"attach trailing space", "attach queen ", Command{Verb: Attach, Role: "queen"}, ""},
		{"attach no role", "attach", Command{}, "missing required argument: role"},
		{"attach three args", "attach queen t extra", Command{}, "invalid value for argument ticket"},
		{"spawn", `spawn {"spawn":"heartbeat","ticks":5}`, Command{Verb: Spawn, Payload: `{"spawn":"heartbeat","ticks":5}`}, ""},
		{"spawn no payload", "spawn", Command{}, "missing required argument: json"},
		{"kill", "kill worker-1", Command{Verb: Kill, WorkerID: "worker-1"}, ""},
		{"kill no id", "kill", Command{}, "missing required argument: worker"},
		{"kill two ids", "kill a b", Command{}, "invalid value for argument worker"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			got, err := Parse(r.in, lim)
			if r.wantErr != "" {
				var pe *ParseError
				if !errors.As(err, &pe) || pe.Msg != r.wantErr {
					t.Fatalf("Parse(%q) = %+v, %v; want error %q", r.in, got, err, r.wantErr)
				}
				want := "ERR PARSE reason=policy detail=" + r.wantErr
				if line := pe.Ack().Render(lim); line != want {
					t.Errorf("ParseError.Ack().Render() = %q; want %q", line, want)
				}
				return
			}
			if err != nil || got != r.want {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", r.in, got, err, r.want)
			}
			back, err := Parse(got.Line(), lim)
			if err != nil || back != got {
				t.Errorf("Parse(%q) = %+v, %v; want %+v", got.Line(), back, err, got)
			}
		})
	}
}

func TestCommandLine(t *testing.T) {
	rows := []struct {
		name string
		c    Command
		want string
	}{
		{"ping", Command{Verb: Ping}, "ping"},
		{"attach no ticket", Command{Verb: Attach, Role: "queen"}, "attach queen"},
		{"attach ticket", Command{Verb: Attach, Role: "worker-gpu", Ticket: "t"}, "attach worker-gpu t"},
		{"echo path first", Command{Verb: Echo, Path: "/bus/x", Payload: "hi there"}, "echo /bus/x hi there"},
		{"cachelog n", Command{Verb: CacheLog, N: 3, HasN: true}, "cachelog 3"},
		{"kill", Command{Verb: Kill, WorkerID: "w1"}, "kill w1"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			if got := r.c.Line(); got != r.want {
				t.Errorf("Command.Line() = %q; want %q", got, r.want)
			}
		})
	}
}

// TestParseRefusesControlCharactersInPaths: a TCP frame can carry any
// byte; a path with CR, LF, ESC, DEL or a C1 control is an invalid
// argument, so it never reaches a log line.
func TestParseRefusesControlCharactersInPaths(t *testing.T) {
	lim := ManifestLimits()
	for _, line := range []string{
		"cat /log/x\r\nattach accepted role=queen",
		"tail /log/\x1b[2Jx",
		"ls /proc\x7f",
		"echo /log/queen.log\r\nforged hi",
		"cat /log/\u009bx",
	} {
		_, err := Parse(line, lim)
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Msg != "invalid value for argument path" {
			t.Errorf("Parse(%q) = %v; want invalid value for argument path", line, err)
		}
	}
}
