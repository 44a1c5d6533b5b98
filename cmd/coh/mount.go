package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/cohesix/cohesix/internal/cohfs"
	"github.com/cohesix/cohesix/internal/gatewayclient"
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
			cfg := cohfs.DefaultConfig()
			ready := func() {
				fmt.Fprintf(e.stdout, "OK MOUNT at=%s root=%s allowlist=%v\n", at, cfg.Root, cfg.Allowlist)
			}
			var err error
			if u := restURL(c); u != "" {
				err = mountREST(c, u, at, cfg, ready)
			} else {
				err = mount9P(c, at, cfg, ready)
			}
			var ee *exitErr
			switch {
			case errors.As(err, &ee):
				return err
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

func mount9P(c *cli.Context, at string, cfg cohfs.Config, ready func()) error {
	cl, err := dial(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	return cohfs.Mount(c.Context, cl, at, cfg, ready)
}

// mountREST is `coh mount --rest-url`: FUSE over hive-gateway, refused
// while another coh holds the mount of the same URL.
func mountREST(c *cli.Context, u, at string, cfg cohfs.Config, ready func()) error {
	gw, err := restClient(c, u)
	if err != nil {
		return err
	}
	release, err := lockMount(gw.URL())
	if errors.Is(err, errMountLocked) {
		return fail(exitFailed, "ERR MOUNT at=%s reason=busy error=%v", at, err)
	}
	if err != nil {
		return fail(exitFailed, "ERR MOUNT at=%s error=%v", at, err)
	}
	defer release()
	return cohfs.MountREST(c.Context, gatewayclient.NewHiveFS(gw, callTimeout()), at, cfg, ready)
}
