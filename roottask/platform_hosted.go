//go:build !cohesix_sel4

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/cohesix/cohesix/internal/cpugov"
	"github.com/cohesix/cohesix/roottask/platform"
	"github.com/cohesix/cohesix/roottask/platform/hosted"
)

// newPlatform is the hosted platform: host sockets, the process's stdio.
func newPlatform() platform.Platform { return hosted.Platform{} }

// governProcs sizes GOMAXPROCS to the hive's CPU use (event_pump.procs_*,
// DECISIONS P90) until ctx ends, saying so on stdout.
func governProcs(ctx context.Context, stdout io.Writer) {
	_, envSet := os.LookupEnv("GOMAXPROCS")
	cfg := cpugov.FromManifest(runtime.GOMAXPROCS(0), envSet)
	if !cfg.Enabled() {
		return
	}
	fmt.Fprintf(stdout, "[event] cpu procs=%d..%d up>%d‰ down<%d‰ sample=%s\n", cfg.Idle, cfg.Max, cfg.UpPermille, cfg.DownPermille, cfg.Sample)
	go cpugov.Run(ctx, cfg, runtime.GOMAXPROCS, cpugov.ProcessCPU, func(s cpugov.Switch) {
		fmt.Fprintf(stdout, "[event] cpu procs %d -> %d cores=%.2f\n", s.From, s.To, s.Cores)
	})
}
