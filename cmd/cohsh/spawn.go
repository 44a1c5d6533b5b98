package main

import (
	"context"
	"errors"

	"github.com/cohesix/cohesix/internal/cohverb"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/ticket"
)

func (sh *shell) lifecycle(ctx context.Context, args []string) result {
	action, err := cohverb.LifecycleAction(args)
	if err != nil {
		return localErr(err)
	}
	if !sh.attached || sh.role != ticket.RoleQueen.String() {
		return localErr(errors.New("lifecycle requires an attached queen session"))
	}
	resp, err := sh.wire(ctx, string(console.Cat)+" "+cohverb.LifecycleStatePath)
	if !respOK(resp, err) {
		return result{lines: resp.Raw, ack: resp.AckLine(), source: sourceServer, failed: true, err: err}
	}
	if line := cohverb.LifecycleRefusal(action, cohverb.LifecycleState(resp.Lines), sh.lim); line != "" {
		return result{lines: []string{line}, ack: line, source: sourceCohsh, failed: true}
	}
	return sh.wireResult(ctx, cohverb.LifecycleLine(action))
}
