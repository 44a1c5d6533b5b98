package main

import (
	"fmt"

	"github.com/cohesix/cohesix/internal/store"
	"github.com/urfave/cli/v2"
)

// logCmd prints the durable /log/queen.log of a state dir: every line the
// hive acknowledged that the spool still keeps, older than the ring too.
// It reads the files, so it works with the hive up or down.
func logCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "log",
		Usage: "Print the durable /log/queen.log kept in a root task's state dir, oldest line first",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "state-dir", Required: true, Usage: "The root task's --state-dir"},
			jsonFlag,
		},
		Action: noArgs("log", func(c *cli.Context) error {
			log, err := store.ReadLog(c.String("state-dir"))
			if err != nil {
				return fail(exitFailed, "ERR LOG state-dir=%s error=%v", c.String("state-dir"), err)
			}
			type line struct {
				N    uint64 `json:"n"`
				Line string `json:"line"`
			}
			out := []line{}
			var lines []string
			for _, l := range log {
				out = append(out, line{N: l.N, Line: l.Line})
				lines = append(lines, fmt.Sprintf("%d %s", l.N, l.Line))
			}
			emit(c, e, out, lines)
			return nil
		}),
	}
}
