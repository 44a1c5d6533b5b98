package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cohesix/cohesix/internal/cohverb"
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
	return result{lines: cohverb.HelpText, source: sourceNone}
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
		if err := cohverb.CheckPath(c.args[1]); err != nil {
			return localErr(err)
		}
		return sh.followTail(ctx, c.args[1])
	}
	return sh.readPath(ctx, c)
}

// readPath is tail, cat or ls of one path.
func (sh *shell) readPath(ctx context.Context, c command) result {
	w, err := cohverb.ReadLine(c.name, c.args)
	if err != nil {
		return localErr(err)
	}
	return sh.wireResult(ctx, w)
}

func (sh *shell) log(ctx context.Context, _ command) result {
	return sh.wireResult(ctx, cohverb.LogLine())
}

func (sh *shell) echo(ctx context.Context, c command) result {
	w, err := cohverb.EchoLine(strings.TrimSpace(c.line[len(c.name):]))
	if err != nil {
		return localErr(err)
	}
	return sh.wireResult(ctx, w)
}

func (sh *shell) spawn(ctx context.Context, c command) result {
	if !sh.attached || sh.role != ticket.RoleQueen.String() {
		return localErr(errors.New("spawn requires an attached queen session"))
	}
	return sh.ctlVerb(ctx, cohverb.SpawnJSON, c)
}

func (sh *shell) kill(ctx context.Context, c command) result {
	return sh.ctlVerb(ctx, cohverb.KillJSON, c)
}

func (sh *shell) bind(ctx context.Context, c command) result {
	return sh.ctlVerb(ctx, cohverb.BindJSON, c)
}

func (sh *shell) mount(ctx context.Context, c command) result {
	return sh.ctlVerb(ctx, cohverb.MountJSON, c)
}

// ctlVerb writes the /queen/ctl line build makes of c's arguments.
func (sh *shell) ctlVerb(ctx context.Context, build func([]string) (string, error), c command) result {
	js, err := build(c.args)
	if err != nil {
		return localErr(err)
	}
	return sh.ctlWrite(ctx, js)
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
