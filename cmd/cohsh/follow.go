package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"slices"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/console"
)

// followTail is `tail -f PATH`: it polls TAIL every
// client_policies.cohsh.tail.poll_ms_default and prints each line once,
// until Ctrl-C, a refusal (the worker was killed), or ctx ends. The server's
// tail is a snapshot (spec console §5); following is the client's job.
func (sh *shell) followTail(ctx context.Context, path string) result {
	if sh.follow == nil {
		return localErr(usagef("tail -f needs an interactive shell or a one-shot command, not a script"))
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	var last []string
	first := true
	for {
		resp, err := sh.wire(ctx, string(console.Tail)+" "+path)
		if err != nil {
			if ctx.Err() != nil {
				return result{source: sourceNone}
			}
			return result{err: err, failed: true, source: sourceNone}
		}
		if !resp.HasAck || !resp.Ack.OK {
			return result{lines: resp.Raw, ack: resp.AckLine(), source: sourceServer, failed: true}
		}
		if first {
			fmt.Fprintln(sh.follow, resp.AckLine())
			first = false
		}
		for _, l := range newLines(last, resp.Lines) {
			fmt.Fprintln(sh.follow, l)
		}
		last = resp.Lines
		if err := sh.sleep(ctx, generated.ClientPoliciesCohshTailPollMsDefault); err != nil {
			return result{source: sourceNone}
		}
	}
}

// newLines returns the lines of cur not already shown in prev. The ring may
// have dropped old lines, so it looks for the longest suffix of prev that
// is a prefix of cur.
func newLines(prev, cur []string) []string {
	for k := min(len(prev), len(cur)); k > 0; k-- {
		if slices.Equal(prev[len(prev)-k:], cur[:k]) {
			return cur[k:]
		}
	}
	return cur
}
