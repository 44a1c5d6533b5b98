package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/gpu"
)

func runCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "Run a host command under an active GPU lease",
		ArgsUsage: "-- CMD...",
		Flags:     []cli.Flag{&cli.StringFlag{Name: "gpu", Required: true, Usage: "Leased GPU id"}},
		Action: func(c *cli.Context) error {
			argv := c.Args().Slice()
			if len(argv) == 0 {
				return fail(exitUsage, "coh: run needs a command after --")
			}
			id := c.String("gpu")
			lim := gpu.DefaultLimits()
			cl, err := dialHive(c)
			if err != nil {
				return err
			}
			defer cl.Close()
			b, err := cl.Read("/gpu/"+id+"/lease", generated.ClientPoliciesCohRunLeaseMaxBytes)
			if err != nil {
				return fail(exitFailed, "ERR RUN gpu=%s reason=lease-unreadable error=%v", id, err)
			}
			if _, active, err := gpu.CurrentLease(b, lim); err != nil || !active {
				return fail(exitFailed, "ERR RUN gpu=%s reason=no-active-lease", id)
			}
			cmdline := gpu.TruncateCommand(strings.Join(argv, " "), lim)
			crumb := func(bc gpu.Breadcrumb) error {
				line, err := bc.Line(lim)
				if err != nil {
					return fail(exitFailed, "ERR RUN gpu=%s reason=breadcrumb error=%v", id, err)
				}
				if _, err := cl.Append("/gpu/"+id+"/status", 0, line); err != nil {
					return fail(exitFailed, "ERR ECHO path=/gpu/%s/status error=%v", id, err)
				}
				return nil
			}
			if err := crumb(gpu.Breadcrumb{Schema: gpu.BreadcrumbSchema, Event: "START", Command: cmdline, Status: "RUNNING"}); err != nil {
				return err
			}
			cmd := exec.CommandContext(c.Context, argv[0], argv[1:]...)
			cmd.Stdout, cmd.Stderr, cmd.Stdin = e.stdout, e.stderr, os.Stdin
			runErr := cmd.Run()
			code := 0
			var xe *exec.ExitError
			switch {
			case errors.As(runErr, &xe):
				code = xe.ExitCode()
			case runErr != nil:
				code = 127
			}
			status := "OK"
			if code != 0 {
				status = "ERR"
			}
			if err := crumb(gpu.Breadcrumb{Schema: gpu.BreadcrumbSchema, Event: "EXIT", Command: cmdline, Status: status, ExitCode: &code}); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "OK RUN gpu=%s status=%s exit_code=%d\n", id, status, code)
			if code != 0 {
				return fail(exitFailed, "")
			}
			return nil
		},
	}
}
