package cohverb

import (
	"strings"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/console"
)

// LifecycleStatePath is the file that shows the node's lifecycle state.
const LifecycleStatePath = "/proc/lifecycle/state"

// lifecycleFrom says from which states each action may start (the
// queen's transition table, checked before the line is sent).
var lifecycleFrom = map[string]func(state string) bool{
	"cordon":  func(s string) bool { return s == "ONLINE" || s == "DEGRADED" },
	"drain":   func(s string) bool { return s == "DRAINING" },
	"quiesce": func(s string) bool { return s == "ONLINE" || s == "DEGRADED" || s == "DRAINING" },
	"resume":  func(s string) bool { return s != "ONLINE" },
	"reset":   func(s string) bool { return s != "BOOTING" },
}

// LifecycleAction checks the arguments of "lifecycle <action>".
func LifecycleAction(args []string) (string, error) {
	if len(args) != 1 || lifecycleFrom[args[0]] == nil {
		return "", Usagef("lifecycle takes one of: cordon, drain, resume, quiesce, reset")
	}
	return args[0], nil
}

// LifecycleState is the state= of a /proc/lifecycle/state read.
func LifecycleState(lines []string) string {
	for _, l := range lines {
		for _, f := range strings.Fields(l) {
			if v, ok := strings.CutPrefix(f, "state="); ok {
				return v
			}
		}
	}
	return ""
}

// LifecycleRefusal is the line cohsh prints for an action the state does
// not allow, "" when it does.
func LifecycleRefusal(action, state string, lim console.Limits) string {
	if lifecycleFrom[action](state) {
		return ""
	}
	a := console.Ack{Label: console.LabelLifecycle, Detail: "action=" + action + " state=" + state + " reason=invalid-transition"}
	return a.Render(lim)
}

// LifecycleLine is the console line of an allowed action.
func LifecycleLine(action string) string {
	return string(console.Echo) + " " + generated.ClientPathsQueenLifecycleCtl + " " + action
}
