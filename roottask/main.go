// Command roottask is the Cohesix root task. Hosted (the default on a
// Linux machine) it serves the TCP console, Secure9P and the serial console
// on its stdio:
//
//	roottask [--console-listen ADDR] [--secure9p-listen ADDR] [--serial stdio|none] [--state-dir DIR]
//
// Defaults come from configs/root_task.toml (network.*). --state-dir keeps
// the durable spools (DECISIONS D9): every line of /log/queen.log, the
// audit journal, approvals, lifecycle state and worker ids survive kill -9
// and a restart; an empty --state-dir (the default) keeps them in memory. The
// boot banner says which ("[event] state dir=..."). On seL4 the same
// code runs under the C shim with the sel4 platform.
//
// Exit codes: 0 after a clean shutdown (SIGINT/SIGTERM), 1 when a listener
// cannot be opened or fails for good (a permanent accept error; temporary
// ones such as running out of descriptors are retried), 2 on a usage error.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, newPlatform(), os.Args[1:]))
}
