// Command gpu-bridge-host discovers the host's GPUs and publishes them
// into a hive's /gpu namespace (spec host-tools.md §3):
//
//	gpu-bridge-host [--mock] --list [--json]
//	gpu-bridge-host [--mock] --publish [--interval-ms N] [--registry DIR]
//	                [--tcp-host H] [--tcp-port P] [--auth-token T] [--ticket T]
//
// --list prints the discovered snapshot as JSON without contacting a hive.
// Discovery uses NVML (github.com/NVIDIA/go-nvml; the binary needs
// CGO_ENABLED=1 and loads libnvml.so at run time); --mock gives the
// deterministic GPU-0/GPU-1 inventory. --publish attaches as queen over the
// TCP console and streams a gpu-bridge-snapshot/v1 payload through
// /gpu/bridge/ctl as begin / b64: / end echo lines that fit the console
// limits, then checks /gpu/bridge/status. With --interval-ms it republishes
// until interrupted and prints "reload model=<id>" when the hive's
// /gpu/models/active pointer changes.
//
// Exit codes: 0 success, 1 the hive refused or discovery failed, 2 usage
// error, 3 the hive could not be reached or refused AUTH.
package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
