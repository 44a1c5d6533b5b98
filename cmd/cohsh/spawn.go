package main

import (
	"context"
	"errors"
	"strings"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/ticket"
)

var lifecycleFrom = map[string]func(state string) bool{
	"cordon":  func(s string) bool { return s == "ONLINE" || s == "DEGRADED" },
	"drain":   func(s string) bool { return s == "DRAINING" },
	"quiesce": func(s string) bool { return s == "ONLINE" || s == "DEGRADED" || s == "DRAINING" },
	"resume":  func(s string) bool { return s != "ONLINE" },
	"reset":   func(s string) bool { return s != "BOOTING" },
}

// lifecycleStatePath is the file that shows the node's lifecycle state.
const lifecycleStatePath = "/proc/lifecycle/state"

func (sh *shell) lifecycle(ctx context.Context, args []string) result {
	if len(args) != 1 || lifecycleFrom[args[0]] == nil {
		return localErr(usagef("lifecycle takes one of: cordon, drain, resume, quiesce, reset"))
	}
	if !sh.attached || sh.role != ticket.RoleQueen.String() {
		return localErr(errors.New("lifecycle requires an attached queen session"))
	}
	action := args[0]
	resp, err := sh.wire(ctx, string(console.Cat)+" "+lifecycleStatePath)
	if !respOK(resp, err) {
		return result{lines: resp.Raw, ack: resp.AckLine(), source: sourceServer, failed: true, err: err}
	}
	state := ""
	for _, l := range resp.Lines {
		for _, f := range strings.Fields(l) {
			if v, ok := strings.CutPrefix(f, "state="); ok && state == "" {
				state = v
			}
		}
	}
	if !lifecycleFrom[action](state) {
		a := console.Ack{Label: console.LabelLifecycle, Detail: "action=" + action + " state=" + state + " reason=invalid-transition"}
		line := a.Render(sh.lim)
		return result{lines: []string{line}, ack: line, source: sourceCohsh, failed: true}
	}
	return sh.wireResult(ctx, string(console.Echo)+" "+generated.ClientPathsQueenLifecycleCtl+" "+action)
}
