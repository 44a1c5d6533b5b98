package cohverb

import (
	"strings"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/console"
)

// LogLine is the console line of cohsh's log verb.
func LogLine() string { return string(console.Tail) + " " + generated.ClientPathsLog }

// CtlLine is the console line that appends one JSON line to /queen/ctl.
func CtlLine(js string) string {
	return string(console.Echo) + " " + generated.ClientPathsQueenCtl + " " + js
}

// KillJSON is the /queen/ctl line of "kill <worker_id>".
func KillJSON(args []string) (string, error) {
	if len(args) != 1 {
		return "", Usagef("kill takes exactly one worker id")
	}
	if err := CheckJSONString("worker id", args[0]); err != nil {
		return "", err
	}
	return `{"kill":"` + args[0] + `"}`, nil
}

// BindJSON is the /queen/ctl line of "bind <src> <dst>".
func BindJSON(args []string) (string, error) {
	if len(args) != 2 {
		return "", Usagef("bind takes two paths: <src> <dst>")
	}
	for _, p := range args {
		if err := CheckCtlPath("bind path", p); err != nil {
			return "", err
		}
	}
	return `{"bind":{"from":"` + args[0] + `","to":"` + args[1] + `"}}`, nil
}

// MountJSON is the /queen/ctl line of "mount <service> <path>".
func MountJSON(args []string) (string, error) {
	if len(args) != 2 {
		return "", Usagef("mount takes a service and a path: <service> <path>")
	}
	if err := CheckJSONString("service", args[0]); err != nil {
		return "", err
	}
	if err := CheckCtlPath("mount path", args[1]); err != nil {
		return "", err
	}
	return `{"mount":{"service":"` + args[0] + `","at":"` + args[1] + `"}}`, nil
}

// ReadLine is the console line of "cat|ls|tail <path>".
func ReadLine(name string, args []string) (string, error) {
	if len(args) != 1 {
		return "", Usagef("%s takes exactly one path", name)
	}
	if err := CheckPath(args[0]); err != nil {
		return "", err
	}
	return name + " " + args[0], nil
}

// Wire maps a one-shot shell line to what cohsh does with it: local lines
// it prints itself (help), or the console line it sends. ok is false for
// the verbs that need cohsh's session state or files (attach, detach,
// quit, lifecycle, test, telemetry, tail -f) and for lines cohsh sends
// verbatim (wire is then the line itself).
func Wire(line string) (wire string, local []string, ok bool, err error) {
	line = strings.TrimSpace(line)
	f := strings.Fields(line)
	if len(f) == 0 {
		return "", nil, true, nil
	}
	name, args := f[0], f[1:]
	var js string
	switch name {
	case "help":
		if len(args) != 0 {
			return "", nil, true, Usagef("help takes no arguments")
		}
		return "", HelpText, true, nil
	case "log":
		if len(args) != 0 {
			return "", nil, true, Usagef("log takes no arguments")
		}
		return LogLine(), nil, true, nil
	case "ping":
		if len(args) != 0 {
			return "", nil, true, Usagef("ping takes no arguments")
		}
		return string(console.Ping), nil, true, nil
	case "cat", "ls", "tail":
		if name == "tail" && len(args) > 0 && args[0] == "-f" {
			return line, nil, false, nil
		}
		wire, err = ReadLine(name, args)
		return wire, nil, true, err
	case "echo":
		wire, err = EchoLine(strings.TrimSpace(line[len(name):]))
		return wire, nil, true, err
	case "spawn":
		js, err = SpawnJSON(args)
	case "kill":
		js, err = KillJSON(args)
	case "bind":
		js, err = BindJSON(args)
	case "mount":
		js, err = MountJSON(args)
	default:
		return line, nil, false, nil
	}
	if err != nil {
		return "", nil, true, err
	}
	return CtlLine(js), nil, true, nil
}
