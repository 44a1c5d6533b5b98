// Package cohverb is cohsh's verb grammar above the console's: how an
// operator's shell line (help, log, cat, ls, tail, echo, spawn, kill, bind,
// mount, lifecycle) becomes the console line the hive receives, the
// client-side checks that refuse a line before it is sent, and tail -f's
// follow loop. cohsh and swarmui's console
// panel both use it, so the page prints exactly the lines cohsh prints.
package cohverb

import (
	"fmt"
	"strings"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/ns"
)

// UsageError is a command typed wrongly (cohsh's one-shot mode exits 2).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef is a UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// HelpText is cohsh's local command list (help prints it).
var HelpText = []string{
	"Commands:",
	"  help                               show this list",
	"  attach <role> [ticket]             attach (alias: login); roles: queen, worker-heartbeat (worker), worker-gpu, worker-bus, worker-lora",
	"  detach                             end the session, stay in the shell",
	"  ping                               check the attached session",
	"  tail [-f] <path>                   print a log or telemetry file; -f follows it until Ctrl-C",
	"  telemetry push <file> --device ID  push a .txt/.log/.json/.ndjson/.csv file as one ingest segment (queen)",
	"  log                                tail " + generated.ClientPathsLog,
	"  cat <path>                         print a file",
	"  ls <path>                          list a directory",
	"  echo <text> > <path>               append one line to a file",
	"  spawn heartbeat ticks=N [ttl_s=N] [ops=N]",
	"  spawn gpu gpu_id=ID mem_mb=N streams=N ttl_s=N [priority=N] [budget_ttl_s=N] [budget_ops=N]",
	"  kill <worker_id>                   stop a worker",
	"  bind <src> <dst>                   bind a path in the queen's namespace",
	"  mount <service> <path>             mount a service",
	"  lifecycle cordon|drain|resume|quiesce|reset",
	"  test [--mode quick|full] [--json] [--timeout s] [--no-mutate]",
	"  quit                               end the session and leave cohsh",
	"Other lines are sent to the hive verbatim (e.g. BI, CAPS, NETSTATS, CACHELOG 4).",
}

// CheckPath applies the client-side path rules: absolute, no "." or ".."
// components, no NUL, at most walk-depth components (empty ones skipped).
// A path is one wire token, so whitespace is refused too.
func CheckPath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return Usagef("path '%s' must start with '/'", p)
	}
	if strings.ContainsRune(p, 0) {
		return Usagef("path must not contain NUL")
	}
	if strings.ContainsAny(p, " \t") {
		return Usagef("path '%s' must not contain whitespace", p)
	}
	n := 0
	for _, c := range strings.Split(p, "/") {
		if c == "" {
			continue
		}
		if ns.Reserved(c) {
			return Usagef("path component '%s' is not allowed", c)
		}
		n++
	}
	if n > generated.Secure9pWalkDepth {
		return Usagef("path '%s' has more than %d components", p, generated.Secure9pWalkDepth)
	}
	return nil
}

// CheckJSONString enforces the rule for strings placed in control JSON.
func CheckJSONString(what, s string) error {
	if s == "" || strings.ContainsAny(s, `"\`) || strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return Usagef("%s must be non-empty and contain no quotes, backslashes or control characters", what)
	}
	return nil
}

// msizeOverflow is the echo token that expands to an oversized spawn.
const msizeOverflow = "{{msize_overflow}}"

// EchoLine maps "echo <text> > <path>" to the wire's "echo <path> <text>".
func EchoLine(rest string) (string, error) {
	i := strings.IndexByte(rest, '>')
	if i < 0 {
		return "", Usagef("echo requires '<text> > <path>'")
	}
	text, path := strings.TrimSpace(rest[:i]), strings.TrimSpace(rest[i+1:])
	if len(text) >= 2 && (text[0] == '"' || text[0] == '\'') && text[len(text)-1] == text[0] {
		text = text[1 : len(text)-1]
	}
	if strings.ContainsAny(text, "\x00\r\n") {
		return "", Usagef("echo text must be one line without NUL")
	}
	if path == "" {
		return "", Usagef("echo requires a path after '>'")
	}
	if err := CheckPath(path); err != nil {
		return "", err
	}
	if text == msizeOverflow {
		text = OverflowSpawn()
	}
	return string(console.Echo) + " " + path + " " + text, nil
}

// OverflowSpawn is a spawn-gpu JSON padded to msize+64 bytes, a negative
// test of the frame and line limits.
func OverflowSpawn() string {
	const head, tail = `{"spawn":"gpu","lease":{"gpu_id":"`, `","mem_mb":1,"streams":1,"ttl_s":1}}`
	pad := generated.Secure9pMsize + 64 - len(head) - len(tail)
	return head + strings.Repeat("x", pad) + tail
}

// CheckCtlPath checks a path that goes into control JSON: the path rules,
// then the JSON string rule.
func CheckCtlPath(what, p string) error {
	if err := CheckPath(p); err != nil {
		return err
	}
	return CheckJSONString(what, p)
}
