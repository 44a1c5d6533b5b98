package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"unicode"

	"github.com/urfave/cli/v2"
)

// walk calls f with the argument path of every command and subcommand.
func walk(cmds []*cli.Command, path []string, f func([]string, *cli.Command)) {
	for _, c := range cmds {
		p := append(append([]string(nil), path...), c.Name)
		f(p, c)
		walk(c.Subcommands, p, f)
	}
}

// helpLine is STYLE §7's rule: a capital first letter, no final period.
func helpLine(s string) bool {
	return s != "" && unicode.IsUpper([]rune(s)[0]) && !strings.HasSuffix(s, ".")
}

// TestUsageWalk (STYLE §7): `coh <sub> --help` exits 0 and starts with
// "Usage: coh <sub>"; every command's and flag's help line starts with a
// capital and has no final period; an unknown flag is a usage error (2).
func TestUsageWalk(t *testing.T) {
	e := &env{}
	app := []*cli.Command{gpuCmd(e), runCmd(e), telemetryCmd(e), peftCmd(e), mountCmd(e), doctorCmd(e), logCmd(e), benchCmd(e)}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, nil, &out, &out); code != exitOK || !strings.HasPrefix(out.String(), "Usage: coh ") {
		t.Errorf("coh --help = %d, %q; want 0 and Usage: coh", code, out.String())
	}
	n := 0
	walk(app, nil, func(path []string, c *cli.Command) {
		n++
		name := strings.Join(path, " ")
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append(append([]string(nil), path...), "--help"), nil, &stdout, &stderr)
			if code != exitOK || !strings.HasPrefix(stdout.String(), "Usage: coh "+name) {
				t.Errorf("coh %s --help = %d, %q; want 0 and a first line starting Usage: coh %s", name, code, stdout.String(), name)
			}
			if !helpLine(c.Usage) {
				t.Errorf("coh %s usage %q: want a capital first letter and no final period", name, c.Usage)
			}
			for _, f := range c.Flags {
				u := f.(cli.DocGenerationFlag).GetUsage()
				if !helpLine(u) {
					t.Errorf("coh %s --%s usage %q: want a capital first letter and no final period", name, f.Names()[0], u)
				}
			}
			if len(c.Subcommands) == 0 {
				code := run(context.Background(), append(append([]string(nil), path...), "--no-such-flag"), nil, &stdout, &stderr)
				if code != exitUsage {
					t.Errorf("coh %s --no-such-flag = %d; want %d", name, code, exitUsage)
				}
			}
		})
	})
	if n < 14 {
		t.Errorf("walked %d commands; want every coh subcommand", n)
	}
}
