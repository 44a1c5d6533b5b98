package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/cohesix/cohesix/internal/cohfs"
)

func mountCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "mount",
		Usage: "Serve the namespace as a FUSE file system at DIR until interrupted",
		Flags: []cli.Flag{&cli.StringFlag{Name: "at", Required: true, Usage: "Mount point (an existing directory)"}},
		Action: noArgs("mount", func(c *cli.Context) error {
			at := c.String("at")
			if st, err := os.Stat(at); err != nil || !st.IsDir() {
				return fail(exitUsage, "coh: --at %s is not a directory", at)
			}
			cl, err := dial(c)
			if err != nil {
				return err
			}
			defer cl.Close()
			cfg := cohfs.DefaultConfig()
			err = cohfs.Mount(c.Context, cl, at, cfg, func() {
				fmt.Fprintf(e.stdout, "OK MOUNT at=%s root=%s allowlist=%v\n", at, cfg.Root, cfg.Allowlist)
			})
			switch {
			case errors.Is(err, errors.ErrUnsupported):
				return fail(exitFailed, "ERR MOUNT at=%s reason=unsupported (FUSE mounts need Linux)", at)
			case err != nil:
				return fail(exitFailed, "ERR MOUNT at=%s error=%v (needs /dev/fuse and root or fusermount3)", at, err)
			}
			fmt.Fprintf(e.stdout, "OK UNMOUNT at=%s\n", at)
			return nil
		}),
	}
}
