package cliexit

import (
	"bytes"
	"context"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestRun(t *testing.T) {
	app := func(action cli.ActionFunc) *cli.App {
		return &cli.App{Name: "tool", Action: action, ExitErrHandler: func(*cli.Context, error) {}, HideHelpCommand: true}
	}
	cases := []struct {
		name   string
		action cli.ActionFunc
		args   []string
		code   int
		stderr string
	}{
		{"ok", func(*cli.Context) error { return nil }, nil, OK, ""},
		{"refused", func(*cli.Context) error { return Fail(Failed, "ERR X reason=%s", "policy") }, nil, Failed, "ERR X reason=policy\n"},
		{"silent", func(*cli.Context) error { return &Error{Code: 3} }, nil, 3, ""},
		{"cli's own error", func(*cli.Context) error { return nil }, []string{"--nope"}, Usage, "tool: flag provided but not defined: -nope\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var errOut bytes.Buffer
			a := app(c.action)
			a.Writer, a.ErrWriter = &bytes.Buffer{}, &bytes.Buffer{}
			if got := Run(context.Background(), a, c.args, &errOut); got != c.code || errOut.String() != c.stderr {
				t.Fatalf("Run = %d, stderr %q; want %d, %q", got, errOut.String(), c.code, c.stderr)
			}
		})
	}
}
