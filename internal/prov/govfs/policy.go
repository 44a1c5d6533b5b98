package govfs

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/prov"
	"github.com/cohesix/cohesix/internal/queen"
)

// Policy returns /policy: ctl takes policy lines, rules shows the
// manifest's rules, and preflight the UI providers the manifest enables.
func Policy(cfg Config) ns.Provider {
	q := cfg.Queen
	rules, _ := json.Marshal(cfg.Gov.PolicyRules)
	if cfg.Gov.PolicyRules == nil {
		rules = []byte("[]")
	}
	rules = append(rules, '\n')
	es := []ns.Entry{
		{Name: "ctl", Node: prov.LineCtl(q, func() []byte { return q.Snapshot().Gov.PolicyCtl },
			func(w queen.Who, l []byte, _ int64) queen.Cmd { return queen.PolicyCtl{Who: w, Line: l} })},
		{Name: "rules", Node: ns.Content{ReadOnly: ns.ReadOnly{Path: "/policy/rules"}, Render: func() []byte { return rules }}},
	}
	if pf := preflight(cfg); pf != nil {
		es = append(es, ns.Entry{Name: "preflight", Node: pf})
	}
	return ns.Plain(ns.Static{DirOps: ns.DirOps{Path: "/policy"}, Entries: es})
}

// Actions returns /actions: queue takes action lines and lists them, and
// each action id has a status file.
func Actions(cfg Config) ns.Provider {
	a := actions{q: cfg.Queen, statusMax: cfg.Gov.StatusMaxBytes}
	queue := prov.LineCtl(a.q, a.renderQueue,
		func(w queen.Who, l []byte, _ int64) queen.Cmd { return queen.ActionAppend{Who: w, Line: l} })
	return ns.Plain(ns.Dynamic{
		DirOps: ns.DirOps{Path: "/actions"},
		Names:  a.names,
		Child: func(name string) (ns.Node, bool) {
			if name == "queue" {
				return queue, true
			}
			return a.dir(name)
		},
	})
}

// actions renders /actions from the latest snapshot.
type actions struct {
	q         prov.Queen
	statusMax int
}

func (a actions) renderQueue() []byte {
	var b strings.Builder
	for _, act := range a.q.Snapshot().Gov.Actions {
		b.WriteString(queen.ActionLine(act) + "\n")
	}
	return []byte(b.String())
}

// names are queue then each action id once, in first-seen order.
func (a actions) names() []string {
	names := []string{"queue"}
	for _, act := range a.q.Snapshot().Gov.Actions {
		if !slices.Contains(names, act.ID) {
			names = append(names, act.ID)
		}
	}
	return names
}

// find returns the newest action with id.
func (a actions) find(id string) (queen.Action, bool) {
	var found queen.Action
	ok := false
	for _, act := range a.q.Snapshot().Gov.Actions {
		if act.ID == id {
			found, ok = act, true
		}
	}
	return found, ok
}

// dir is /actions/<id>, if such an action exists.
func (a actions) dir(id string) (ns.Node, bool) {
	if _, ok := a.find(id); !ok {
		return nil, false
	}
	return ns.Static{DirOps: ns.DirOps{Path: "/actions/" + id}, Entries: []ns.Entry{
		{Name: "status", Node: ns.Content{ReadOnly: ns.ReadOnly{Path: "/actions/" + id + "/status"}, Render: func() []byte {
			act, _ := a.find(id)
			return []byte(queen.ActionStatus(act, a.statusMax) + "\n")
		}}},
	}}, true
}
