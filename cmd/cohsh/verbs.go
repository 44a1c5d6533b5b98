package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/ticket"
)

// command is one shell line split for a verb.
type command struct {
	name string   // the first word, as typed
	args []string // the words after it
	line string   // the whole trimmed line (echo keeps its text's spacing)
}

// verb runs one cohsh command.
type verb func(sh *shell, ctx context.Context, c command) result

// verbs are the cohsh commands, matched case-sensitively on the first
// word; exec sends every other line to the hive verbatim. The table is
// filled in init because the verbs reach exec again (test runs scripts).
var verbs map[string]verb

func init() {
	verbs = map[string]verb{
		"help":      noArgs((*shell).help),
		"attach":    withArgs((*shell).attach),
		"login":     withArgs((*shell).attach),
		"detach":    noArgs((*shell).detach),
		"ping":      noArgs((*shell).ping),
		"tail":      (*shell).tail,
		"cat":       (*shell).readPath,
		"ls":        (*shell).readPath,
		"log":       noArgs((*shell).log),
		"echo":      (*shell).echo,
		"spawn":     (*shell).spawn,
		"kill":      (*shell).kill,
		"bind":      (*shell).bind,
		"mount":     (*shell).mount,
		"lifecycle": withArgs((*shell).lifecycle),
		"test":      withArgs((*shell).selftest),
		"telemetry": withArgs((*shell).telemetry), // telemetry.go
		"pool":      unsupported,
		"tcp-diag":  unsupported,
		"quit":      noArgs((*shell).quit),
	}
}

// noArgs refuses any argument before running v.
func noArgs(v verb) verb {
	return func(sh *shell, ctx context.Context, c command) result {
		if len(c.args) != 0 {
			return localErr(usagef("%s takes no arguments", c.name))
		}
		return v(sh, ctx, c)
	}
}

// withArgs adapts a command that takes only its arguments.
func withArgs(f func(sh *shell, ctx context.Context, args []string) result) verb {
	return func(sh *shell, ctx context.Context, c command) result { return f(sh, ctx, c.args) }
}

func unsupported(_ *shell, _ context.Context, c command) result {
	return localErr(fmt.Errorf("%s is not supported by this cohsh", c.name))
}

func (sh *shell) help(context.Context, command) result {
	return result{lines: helpText, source: sourceNone}
}

func (sh *shell) detach(ctx context.Context, _ command) result {
	var r result
	if sh.attached && sh.conn.Load() != nil {
		r = sh.wireResult(ctx, string(console.Quit))
		if r.err != nil && !isConnErr(r.err) {
			return r
		}
	}
	sh.attached, sh.role = false, ""
	d := console.Success(console.LabelDetach).Render(sh.lim)
	return result{lines: append(r.lines, d), ack: d, source: sourceCohsh}
}

func (sh *shell) ping(ctx context.Context, _ command) result {
	if !sh.attached {
		return localErr(errors.New("ping requires an attached session; run 'attach <role>' first"))
	}
	return sh.wireResult(ctx, string(console.Ping))
}

// tail is readPath, or with -f a stream that follows the file (follow.go).
func (sh *shell) tail(ctx context.Context, c command) result {
	if len(c.args) == 2 && c.args[0] == "-f" {
		if err := checkPath(c.args[1]); err != nil {
			return localErr(err)
		}
		return sh.followTail(ctx, c.args[1])
	}
	return sh.readPath(ctx, c)
}

// readPath is tail, cat or ls of one path.
func (sh *shell) readPath(ctx context.Context, c command) result {
	if len(c.args) != 1 {
		return localErr(usagef("%s takes exactly one path", c.name))
	}
	if err := checkPath(c.args[0]); err != nil {
		return localErr(err)
	}
	return sh.wireResult(ctx, c.name+" "+c.args[0])
}

func (sh *shell) log(ctx context.Context, _ command) result {
	return sh.wireResult(ctx, string(console.Tail)+" "+generated.ClientPathsLog)
}

func (sh *shell) echo(ctx context.Context, c command) result {
	w, err := echoLine(strings.TrimSpace(c.line[len(c.name):]))
	if err != nil {
		return localErr(err)
	}
	return sh.wireResult(ctx, w)
}

func (sh *shell) spawn(ctx context.Context, c command) result {
	if !sh.attached || sh.role != ticket.RoleQueen.String() {
		return localErr(errors.New("spawn requires an attached queen session"))
	}
	js, err := spawnJSON(c.args)
	if err != nil {
		return localErr(err)
	}
	return sh.ctlWrite(ctx, js)
}

func (sh *shell) kill(ctx context.Context, c command) result {
	if len(c.args) != 1 {
		return localErr(usagef("kill takes exactly one worker id"))
	}
	if err := checkJSONString("worker id", c.args[0]); err != nil {
		return localErr(err)
	}
	return sh.ctlWrite(ctx, `{"kill":"`+c.args[0]+`"}`)
}

func (sh *shell) bind(ctx context.Context, c command) result {
	if len(c.args) != 2 {
		return localErr(usagef("bind takes two paths: <src> <dst>"))
	}
	for _, p := range c.args {
		if err := checkCtlPath("bind path", p); err != nil {
			return localErr(err)
		}
	}
	return sh.ctlWrite(ctx, `{"bind":{"from":"`+c.args[0]+`","to":"`+c.args[1]+`"}}`)
}

func (sh *shell) mount(ctx context.Context, c command) result {
	if len(c.args) != 2 {
		return localErr(usagef("mount takes a service and a path: <service> <path>"))
	}
	if err := checkJSONString("service", c.args[0]); err != nil {
		return localErr(err)
	}
	if err := checkCtlPath("mount path", c.args[1]); err != nil {
		return localErr(err)
	}
	return sh.ctlWrite(ctx, `{"mount":{"service":"`+c.args[0]+`","at":"`+c.args[1]+`"}}`)
}

// checkCtlPath checks a path that goes into control JSON: the path rules,
// then the JSON string rule.
func checkCtlPath(what, p string) error {
	if err := checkPath(p); err != nil {
		return err
	}
	return checkJSONString(what, p)
}

func (sh *shell) quit(ctx context.Context, _ command) result {
	var r result
	if sh.conn.Load() != nil {
		r = sh.wireResult(ctx, string(console.Quit))
		if r.err != nil && isConnErr(r.err) {
			r.err, r.failed = nil, false // leaving anyway
		}
	}
	sh.attached, sh.role = false, ""
	r.lines = append(r.lines, "closing session")
	if r.source == "" {
		r.source = sourceNone
	}
	r.quit = true
	return r
}
