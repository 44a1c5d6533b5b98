package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/cohesix/cohesix/internal/cliexit"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

const (
	exitOK     = cliexit.OK
	exitFailed = cliexit.Failed
	exitUsage  = cliexit.Usage
)

// exitErr carries an exit code out of an action (cliexit).
type exitErr = cliexit.Error

func fail(code int, format string, args ...any) error { return cliexit.Fail(code, format, args...) }

// env is what every action shares.
type env struct {
	stdout, stderr io.Writer
	// tty reports whether stderr is a terminal (progress bars).
	tty bool
}

var jsonFlag = &cli.BoolFlag{Name: "json", Usage: "Write one JSON object to stdout"}

func emitJSON(w io.Writer, v any) {
	b, _ := json.Marshal(v)
	fmt.Fprintln(w, string(b))
}

func commands(e *env) []*cli.Command {
	return []*cli.Command{keygenCmd(e), packCmd(e), verifyCmd(e), keysetCmd(e), uploadCmd(e), downloadCmd(e)}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr, tty: isTerminal(stderr)}
	app := &cli.App{
		Name:            "cas-tool",
		Usage:           "Make keys and keysets, pack and verify CAS update bundles",
		Reader:          stdin,
		Writer:          stdout,
		ErrWriter:       stderr,
		Commands:        commands(e),
		HideHelpCommand: true,
		ExitErrHandler:  func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return fail(exitUsage, "cas-tool: %v (see cas-tool --help)", err)
		},
	}
	for _, c := range app.Commands {
		c.HideHelpCommand = true
		c.OnUsageError = func(c *cli.Context, err error, _ bool) error {
			return fail(exitUsage, "cas-tool %s: %v (see cas-tool %s --help)", c.Command.Name, err, c.Command.Name)
		}
	}
	return cliexit.Run(ctx, app, permute(app.Commands, args), stderr)
}

// permute moves a subcommand's positional arguments after its flags:
// urfave/cli v2 stops parsing flags at the first positional argument, and
// `cas-tool pack DIR --out B` is the natural order.
func permute(cmds []*cli.Command, args []string) []string {
	if len(args) == 0 {
		return args
	}
	var cmd *cli.Command
	for _, c := range cmds {
		if c.Name == args[0] {
			cmd = c
		}
	}
	if cmd == nil {
		return args
	}
	takesValue := map[string]bool{}
	for _, f := range cmd.Flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	var flags, pos []string
	rest := args[1:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case a == "--":
			pos = append(pos, rest[i+1:]...)
			i = len(rest)
		case strings.HasPrefix(a, "-") && a != "-":
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && takesValue[name] && i+1 < len(rest) {
				flags = append(flags, rest[i+1])
				i++
			}
		default:
			pos = append(pos, a)
		}
	}
	out := append([]string{args[0]}, flags...)
	if len(pos) > 0 {
		out = append(append(out, "--"), pos...)
	}
	return out
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// oneArg returns the single positional argument, or a usage error naming it.
func oneArg(c *cli.Context, what string) (string, error) {
	switch c.Args().Len() {
	case 1:
		return c.Args().First(), nil
	case 0:
		return "", fail(exitUsage, "cas-tool %s: give %s (see cas-tool %s --help)", c.Command.Name, what, c.Command.Name)
	}
	return "", fail(exitUsage, "cas-tool %s: one %s only; extra arguments %q", c.Command.Name, what, c.Args().Slice()[1:])
}
