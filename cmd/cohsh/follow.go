package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/cohesix/cohesix/internal/client"
	"github.com/cohesix/cohesix/internal/cohverb"
)

// followTail is `tail -f PATH` (cohverb.Follow, which SwarmUI's console
// panel runs too), printed until Ctrl-C, a refusal (the worker was
// killed), or ctx ends.
func (sh *shell) followTail(ctx context.Context, path string) result {
	if sh.follow == nil {
		return localErr(usagef("tail -f needs an interactive shell or a one-shot command, not a script"))
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	refused, err := cohverb.Follow(ctx, path, sh.wire, sh.sleep, func(l string) error {
		_, err := fmt.Fprintln(sh.follow, l)
		return err
	})
	switch {
	case err != nil:
		return result{err: err, failed: true, source: sourceNone}
	case refused != nil:
		return result{lines: refused, ack: client.Response{Raw: refused}.AckLine(), source: sourceServer, failed: true}
	}
	return result{source: sourceNone}
}
