package govfs

import (
	"fmt"
	"strings"

	"github.com/fxamacker/cbor/v2"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/queen"
)

// /policy/preflight (spec namespace §7, milestone 20b): what an approval
// queue would do before anyone writes, for a UI. req is every action with
// its state; diff is every manifest rule with the actions that would meet
// it, and the actions no rule gates. Each comes as text lines and as
// CBOR of the same values (one computation renders both), each bounded by
// ui_providers.cbor_max_bytes, and each only when its
// ui_providers.policy_preflight toggle is on (DECISIONS P113).

// preflightAction is one action of req.
type preflightAction struct {
	ID       string `cbor:"id"`
	Target   string `cbor:"target"`
	Decision string `cbor:"decision"` // allow or deny
	State    string `cbor:"state"`    // queued or consumed
}

// preflightReq is /policy/preflight/req's values.
type preflightReq struct {
	Total    int               `cbor:"total"`
	Queued   int               `cbor:"queued"`
	Consumed int               `cbor:"consumed"`
	Actions  []preflightAction `cbor:"actions"`
}

// preflightRule is one manifest rule of diff and the actions it meets.
type preflightRule struct {
	ID       string `cbor:"id"`
	Target   string `cbor:"target"`
	Queued   int    `cbor:"queued"`
	Consumed int    `cbor:"consumed"`
}

// preflightDiff is /policy/preflight/diff's values.
type preflightDiff struct {
	Rules     int             `cbor:"rules"`
	Actions   int             `cbor:"actions"`
	Unmatched int             `cbor:"unmatched"`
	Entries   []preflightRule `cbor:"entries"`
}

// preflightCBOR is core deterministic CBOR: equal values, equal bytes.
var preflightCBOR, _ = cbor.CoreDetEncOptions().EncMode()

// request computes req from the queen's actions.
func request(actions []queen.Action) preflightReq {
	r := preflightReq{Total: len(actions), Actions: []preflightAction{}}
	for _, a := range actions {
		if a.State == "consumed" {
			r.Consumed++
		} else {
			r.Queued++
		}
		r.Actions = append(r.Actions, preflightAction{ID: a.ID, Target: a.Target, Decision: a.Outcome(), State: a.State})
	}
	return r
}

// diff computes diff from the manifest's rules and the queen's actions.
// An action a rule's target matches counts under that rule (under each,
// when several match); one no rule matches is unmatched.
func diff(rules []queen.PolicyRule, actions []queen.Action) preflightDiff {
	d := preflightDiff{Rules: len(rules), Actions: len(actions), Entries: make([]preflightRule, len(rules))}
	for i, r := range rules {
		d.Entries[i] = preflightRule{ID: r.ID, Target: r.Target}
	}
	for _, a := range actions {
		matched := false
		for i, r := range rules {
			if !queen.RuleMatches(r.Target, a.Target) {
				continue
			}
			matched = true
			if a.State == "consumed" {
				d.Entries[i].Consumed++
			} else {
				d.Entries[i].Queued++
			}
		}
		if !matched {
			d.Unmatched++
		}
	}
	return d
}

func (r preflightReq) text() []byte {
	lines := []string{fmt.Sprintf("req total=%d queued=%d consumed=%d", r.Total, r.Queued, r.Consumed)}
	for _, a := range r.Actions {
		lines = append(lines, fmt.Sprintf("req id=%s target=%s decision=%s state=%s", a.ID, a.Target, a.Decision, a.State))
	}
	return capLines(lines)
}

func (d preflightDiff) text() []byte {
	lines := []string{fmt.Sprintf("diff rules=%d actions=%d unmatched=%d", d.Rules, d.Actions, d.Unmatched)}
	for _, e := range d.Entries {
		lines = append(lines, fmt.Sprintf("rule id=%s target=%s queued=%d consumed=%d", e.ID, e.Target, e.Queued, e.Consumed))
	}
	return capLines(lines)
}

// capLines is lines as text, cut after the last whole line within
// ui_providers.cbor_max_bytes.
func capLines(lines []string) []byte {
	return ns.Capped([]byte(strings.Join(lines, "\n")+"\n"), generated.UiProvidersCborMaxBytes)
}

func (r preflightReq) cbor() []byte  { return fitCBOR(&r, &r.Actions) }
func (d preflightDiff) cbor() []byte { return fitCBOR(&d, &d.Entries) }

// fitCBOR encodes v; past ui_providers.cbor_max_bytes the list items
// points into (a field of v) is halved until the bytes fit, the counts
// staying whole, as the text keeps its first lines.
func fitCBOR[E any](v any, items *[]E) []byte {
	for {
		b, _ := preflightCBOR.Marshal(v)
		if len(b) <= generated.UiProvidersCborMaxBytes || len(*items) == 0 {
			return b
		}
		*items = (*items)[:len(*items)/2]
	}
}

// preflight is /policy/preflight with the files the manifest enables,
// or nil when it enables none.
func preflight(cfg Config) ns.Node {
	q, rules := cfg.Queen, cfg.Gov.PolicyRules
	file := func(name string, render func() []byte) ns.Entry {
		return ns.Entry{Name: name, Node: ns.Content{ReadOnly: ns.ReadOnly{Path: "/policy/preflight/" + name}, Render: render}}
	}
	var es []ns.Entry
	if cfg.Gov.PreflightReq {
		es = append(es,
			file("req", func() []byte { return request(q.Snapshot().Gov.Actions).text() }),
			file("req.cbor", func() []byte { return request(q.Snapshot().Gov.Actions).cbor() }))
	}
	if cfg.Gov.PreflightDiff {
		es = append(es,
			file("diff", func() []byte { return diff(rules, q.Snapshot().Gov.Actions).text() }),
			file("diff.cbor", func() []byte { return diff(rules, q.Snapshot().Gov.Actions).cbor() }))
	}
	if es == nil {
		return nil
	}
	return ns.Static{DirOps: ns.DirOps{Path: "/policy/preflight"}, Entries: es}
}
