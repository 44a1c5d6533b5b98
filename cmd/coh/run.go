package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/cohesix/cohesix/internal/cliexit"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/nineclient"
	"github.com/cohesix/cohesix/internal/ticket"
)

const (
	exitOK          = cliexit.OK
	exitFailed      = cliexit.Failed
	exitUsage       = cliexit.Usage
	exitUnreachable = 3
)

// exitErr carries an exit code out of an action (cliexit).
type exitErr = cliexit.Error

func fail(code int, format string, args ...any) error { return cliexit.Fail(code, format, args...) }

// env is what every action shares.
type env struct {
	stdout, stderr io.Writer
	ctx            context.Context
}

// jsonFlag is the one --json flag every read command takes.
var jsonFlag = &cli.BoolFlag{Name: "json", Usage: "Write JSON to stdout"}

func ninePort() int {
	_, p, _ := net.SplitHostPort(generated.NetworkSecure9pListen)
	n, _ := strconv.Atoi(p)
	return n
}

func consolePort() int {
	_, p, _ := net.SplitHostPort(generated.NetworkConsoleListen)
	n, _ := strconv.Atoi(p)
	return n
}

// hiveTicket is the ticket the global flags name: --ticket (or
// COH_TICKET), else one minted for --role and --subject.
func hiveTicket(c *cli.Context) (string, error) {
	if tok := c.String("ticket"); tok != "" {
		return tok, nil
	}
	role, err := ticket.ParseRole(c.String("role"))
	if err != nil {
		return "", fail(exitUsage, "coh: unknown role %q", c.String("role"))
	}
	tok, err := nineclient.Mint(role, c.String("subject"), time.Now())
	if err != nil {
		return "", fail(exitUnreachable, "coh: %v", err)
	}
	return tok, nil
}

// nineAddr is the hive's Secure9P address from --host and --9p-port.
func nineAddr(c *cli.Context) string {
	return net.JoinHostPort(c.String("host"), strconv.Itoa(c.Int("9p-port")))
}

// dial attaches to the hive's Secure9P listener with the global flags.
func dial(c *cli.Context) (*nineclient.Client, error) {
	tok, err := hiveTicket(c)
	if err != nil {
		return nil, err
	}
	addr := nineAddr(c)
	cl, err := nineclient.Dial(addr, tok, time.Duration(generated.ClientPoliciesRetryTimeoutMs)*time.Millisecond)
	if err != nil {
		return nil, fail(exitUnreachable, "coh: %s: %v", addr, err)
	}
	return cl, nil
}

// noArgs refuses positional arguments before running action.
func noArgs(name string, action cli.ActionFunc) cli.ActionFunc {
	return func(c *cli.Context) error {
		if c.Args().Len() > 0 {
			return fail(exitUsage, "coh: %s takes no arguments", name)
		}
		return action(c)
	}
}

func emitJSON(w io.Writer, v any) {
	b, _ := json.Marshal(v)
	fmt.Fprintln(w, string(b))
}

// emit prints v as one JSON value when --json is set, else lines.
func emit(c *cli.Context, e *env, v any, lines []string) {
	if c.Bool("json") {
		emitJSON(e.stdout, v)
		return
	}
	for _, l := range lines {
		fmt.Fprintln(e.stdout, l)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr, ctx: ctx}
	app := &cli.App{
		Name:      "coh",
		Usage:     "Operate GPUs, telemetry and models on a Cohesix hive",
		Reader:    stdin,
		Writer:    stdout,
		ErrWriter: stderr,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "host", Value: "127.0.0.1", Usage: "Hive host"},
			&cli.IntFlag{Name: "9p-port", Value: ninePort(), Usage: "Secure9P port"},
			&cli.IntFlag{Name: "port", Value: consolePort(), Usage: "Console port (coh bench probes the operator console there)"},
			&cli.StringFlag{Name: "ticket", Usage: "Capability ticket", EnvVars: []string{"COH_TICKET"}},
			&cli.StringFlag{Name: "role", Value: "queen", Usage: "Role to mint a ticket for when --ticket is absent"},
			&cli.StringFlag{Name: "subject", Usage: "Ticket subject for worker roles"},
			&cli.BoolFlag{Name: "mock", Usage: "Deterministic checks without FUSE, NVML or QEMU"},
		}, restFlags()...),
		Commands:        []*cli.Command{gpuCmd(e), runCmd(e), telemetryCmd(e), peftCmd(e), mountCmd(e), doctorCmd(e), logCmd(e), benchCmd(e)},
		HideHelpCommand: true,
		ExitErrHandler:  func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return fail(exitUsage, "coh: %v", err)
		},
	}
	hideHelpCommands(app.Commands)
	return cliexit.Run(ctx, app, args, stderr)
}
