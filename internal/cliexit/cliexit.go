// Package cliexit is how the host tools built on urfave/cli (coh,
// cas-tool, hive-gateway) end: an action returns an *Error carrying the
// exit code and the line to print, and Run turns whatever the app returned
// into that code.
package cliexit

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"
)

// The exit codes every tool shares; a tool may add its own above them.
const (
	OK     = 0
	Failed = 1 // the operation failed or was refused
	Usage  = 2 // the command line is wrong
)

// Error carries an exit code out of an action, with the line to print
// ("" prints nothing).
type Error struct {
	Code int
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Fail returns an *Error with code and the formatted line.
func Fail(code int, format string, args ...any) error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Is reports whether err carries an exit code.
func Is(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// Run runs app on args (without the program name) and returns the exit
// code: OK, an *Error's code after printing its line, or Usage after
// printing "<name>: <err>" for anything else (urfave/cli's own errors).
func Run(ctx context.Context, app *cli.App, args []string, stderr io.Writer) int {
	err := app.RunContext(ctx, append([]string{app.Name}, args...))
	var e *Error
	switch {
	case err == nil:
		return OK
	case errors.As(err, &e):
		if e.Msg != "" {
			fmt.Fprintln(stderr, e.Msg)
		}
		return e.Code
	default:
		fmt.Fprintf(stderr, "%s: %v\n", app.Name, err)
		return Usage
	}
}
