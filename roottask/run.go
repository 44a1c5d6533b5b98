package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/hive"
	"github.com/cohesix/cohesix/roottask/platform"
)

// run boots the hive on the platform the build selects (newPlatform:
// platform_hosted.go, or platform_sel4.go with -tags cohesix_sel4) and
// serves until ctx ends.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("roottask", flag.ContinueOnError)
	fs.SetOutput(stderr)
	consoleAddr := fs.String("console-listen", generated.NetworkConsoleListen, "TCP console listen address")
	ninepAddr := fs.String("secure9p-listen", generated.NetworkSecure9pListen, "Secure9P listen address")
	serial := fs.String("serial", "stdio", "serial console: stdio or none")
	stateDir := fs.String("state-dir", "", "directory for the durable spools: /log/queen.log, audit journal, approvals, lifecycle, worker ids and telemetry segments survive kill -9 and restart; '' (the default here; make run passes .cohesix/state) keeps everything in memory")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || (*serial != "stdio" && *serial != "none") {
		fmt.Fprintln(stderr, "Usage: roottask [--console-listen ADDR] [--secure9p-listen ADDR] [--serial stdio|none] [--state-dir DIR]")
		return 2
	}
	p := newPlatform()
	return boot(ctx, p, hive.Options{Clock: p, StateDir: *stateDir}, *consoleAddr, *ninepAddr, *serial == "stdio", stdin, stdout, stderr)
}

// boot is the platform-independent boot sequence: banner, hive, listeners,
// consoles.
func boot(ctx context.Context, p platform.Platform, opts hive.Options, consoleAddr, ninepAddr string, serial bool, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintf(stdout, "Cohesix root task (%s) manifest.sha256=%s profile=%s\n", p.Name(), generated.ManifestSHA256, generated.ProfileName)
	fmt.Fprintln(stdout, stateBanner(opts.StateDir))
	h, err := hive.New(opts)
	if err != nil {
		fmt.Fprintf(stderr, "roottask: %v\n", err)
		return 1
	}
	defer h.Close()
	cl, err := p.Listen(consoleAddr)
	if err != nil {
		fmt.Fprintf(stderr, "roottask: console listen %s: %v (is another hive running? pass --console-listen 127.0.0.1:0)\n", consoleAddr, err)
		return 1
	}
	defer cl.Close()
	nl, err := p.Listen(ninepAddr)
	if err != nil {
		fmt.Fprintf(stderr, "roottask: secure9p listen %s: %v (pass --secure9p-listen to choose another address)\n", ninepAddr, err)
		return 1
	}
	defer nl.Close()
	fmt.Fprintf(stdout, "[event] console listening tcp=%s\n[event] secure9p listening tcp=%s\n", cl.Addr(), nl.Addr())
	// A listener that stops for good must end the process: a hive that
	// stays up with a dead port is never restarted by its supervisor.
	ended := make(chan error, 2)
	go func() { ended <- listenerEnded("console", h.ServeConsoles(cl)) }()
	go func() { ended <- listenerEnded("secure9p", serve9P(ctx, p, h, nl)) }()
	if serial {
		go func() {
			_ = h.ServeSerial(stdin, stdout, true)
		}()
	}
	select {
	case <-ctx.Done():
	case err := <-ended:
		if ctx.Err() == nil {
			fmt.Fprintf(stderr, "roottask: %v; exiting so that a supervisor restarts the hive\n", err)
			return 1
		}
	}
	fmt.Fprintln(stdout, "[event] shutdown")
	return 0
}

// stateBanner names where acknowledged state is kept, so an operator sees
// at boot whether a restart will keep it.
func stateBanner(dir string) string {
	if dir == "" {
		return "[event] state dir=none mode=in-memory"
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return "[event] state dir=" + dir + " mode=durable"
}

// listenerEnded says why the listener name stopped serving: its accept
// error, or that it was closed under the hive.
func listenerEnded(name string, err error) error {
	if err == nil {
		return fmt.Errorf("%s listener closed", name)
	}
	return fmt.Errorf("%s listener failed: %w", name, err)
}
