package ninedoor

import (
	"encoding/json"
	"strings"

	"github.com/cohesix/cohesix/internal/queen"
)

// governRoots returns the root entries for PolicyFS, AuditFS and ReplayFS
// in the spec's ls order, each present only when the manifest enables it.
func (ns *Namespace) governRoots() []Entry {
	g := ns.q.Gov()
	var out []Entry
	if g.PolicyEnable {
		out = append(out, Entry{Name: "policy", Node: ns.policyDir()}, Entry{Name: "actions", Node: ns.actionsDir()})
	}
	if g.AuditEnable {
		out = append(out, Entry{Name: "audit", Node: ns.auditDir()})
		if g.ReplayEnable {
			out = append(out, Entry{Name: "replay", Node: ns.replayDir()})
		}
	}
	return out
}

// lineCtl is an append-only control file: each written line is submitted
// as one command; reads return what render gives.
type lineCtl struct {
	NotDir
	ns     *Namespace
	kind   Kind
	cmd    func(c Caller, line []byte, off int64) queen.Cmd
	render func() []byte
}

func (f lineCtl) Stat() (Stat, error) {
	return Stat{Kind: f.kind, Size: uint64(len(f.render()))}, nil
}

func (f lineCtl) ReadAt(p []byte, off int64) (int, error) { return readBytes(f.render(), p, off) }

func (f lineCtl) Append(c Caller, p []byte, off int64) (int, error) {
	if f.kind != KindAppendOffset {
		off = -1
	}
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if _, err := f.ns.submit(f.cmd(c, []byte(line), off)); err != nil {
			return 0, err
		}
		if off >= 0 {
			off += int64(len(line)) + 1
		}
	}
	return len(p), nil
}

func (ns *Namespace) policyDir() Node {
	g := ns.q.Gov()
	rules, _ := json.Marshal(g.PolicyRules)
	if g.PolicyRules == nil {
		rules = []byte("[]")
	}
	rules = append(rules, '\n')
	return Static{DirOps: DirOps{Path: "/policy"}, Entries: []Entry{
		{Name: "ctl", Node: lineCtl{ns: ns, kind: KindAppend,
			cmd:    func(c Caller, l []byte, _ int64) queen.Cmd { return queen.PolicyCtl{Who: queen.WhoOf(c), Line: l} },
			render: func() []byte { return ns.q.Snapshot().Gov.PolicyCtl }}},
		{Name: "rules", Node: Content{ReadOnly: ReadOnly{Path: "/policy/rules"}, Render: func() []byte { return rules }}},
	}}
}

func (ns *Namespace) actionsDir() Node {
	queue := lineCtl{ns: ns, kind: KindAppend,
		cmd: func(c Caller, l []byte, _ int64) queen.Cmd { return queen.ActionAppend{Who: queen.WhoOf(c), Line: l} },
		render: func() []byte {
			var b strings.Builder
			for _, a := range ns.q.Snapshot().Gov.Actions {
				b.WriteString(queen.ActionLine(a) + "\n")
			}
			return []byte(b.String())
		}}
	find := func(id string) (queen.Action, bool) {
		var found queen.Action
		ok := false
		for _, a := range ns.q.Snapshot().Gov.Actions {
			if a.ID == id { // the newest action with this id
				found, ok = a, true
			}
		}
		return found, ok
	}
	return Dynamic{
		DirOps: DirOps{Path: "/actions"},
		Names: func() []string {
			names := []string{"queue"}
			for _, a := range ns.q.Snapshot().Gov.Actions {
				if !contains(names, a.ID) {
					names = append(names, a.ID)
				}
			}
			return names
		},
		Child: func(name string) (Node, bool) {
			if name == "queue" {
				return queue, true
			}
			if _, ok := find(name); !ok {
				return nil, false
			}
			max := ns.q.Gov().StatusMaxBytes
			return Static{DirOps: DirOps{Path: "/actions/" + name}, Entries: []Entry{
				{Name: "status", Node: Content{ReadOnly: ReadOnly{Path: "/actions/" + name + "/status"}, Render: func() []byte {
					a, _ := find(name)
					return []byte(queen.ActionStatus(a, max) + "\n")
				}}},
			}}, true
		},
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
