package govfs_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/ns/nstest"
	"github.com/cohesix/cohesix/internal/prov/govfs"
	"github.com/cohesix/cohesix/internal/prov/provtest"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/ticket"
)

// governed is a queen with policy, audit and replay on and no rules, and
// the governance providers by name.
func governed(t *testing.T, opt func(*queen.GovConfig)) (*provtest.Queen, map[string]ns.Provider) {
	t.Helper()
	q := provtest.NewQueen(t, func(c *queen.Config) {
		c.Gov.PolicyEnable, c.Gov.AuditEnable, c.Gov.ReplayEnable = true, true, true
		c.Gov.PolicyRules = nil
		if opt != nil {
			opt(&c.Gov)
		}
	})
	byName := map[string]ns.Provider{}
	for _, m := range govfs.Mounts(govfs.Config{Queen: q, Gov: q.Gov()}) {
		byName[m.Name] = m.Provider
	}
	return q, byName
}

func mountNames(g queen.GovConfig) []string {
	var names []string
	for _, m := range govfs.Mounts(govfs.Config{Gov: g}) {
		names = append(names, m.Name)
	}
	return names
}

// Mounts keeps the spec's ls order and mounts only what the manifest
// enables; replay needs audit.
func TestMounts(t *testing.T) {
	for _, tt := range []struct {
		policy, audit, replay bool
		want                  []string
	}{
		{true, true, true, []string{"policy", "actions", "audit", "replay"}},
		{true, false, true, []string{"policy", "actions"}},
		{false, true, false, []string{"audit"}},
		{false, false, false, nil},
	} {
		g := queen.GovConfig{PolicyEnable: tt.policy, AuditEnable: tt.audit, ReplayEnable: tt.replay}
		if got := mountNames(g); !slices.Equal(got, tt.want) {
			t.Errorf("Mounts(policy=%t audit=%t replay=%t) = %q; want %q", tt.policy, tt.audit, tt.replay, got, tt.want)
		}
	}
}

func TestConformance(t *testing.T) {
	q, p := governed(t, func(g *queen.GovConfig) { g.JournalMaxBytes = 64 })
	journal := provtest.Walk(t, p["audit"], "journal")
	for i := range 4 { // wrap the journal ring
		st, _ := journal.Stat()
		if _, err := journal.Append(provtest.QueenCaller, fmt.Appendf(nil, `{"entry":%d,"pad":"xxxxxxxx"}`+"\n", i), int64(st.Size)); err != nil {
			t.Fatalf("journal append %d: %v", i, err)
		}
	}
	provtest.Append(t, p["actions"], provtest.QueenCaller, "queue", `{"id":"a1","target":"/queen/ctl","decision":"approve"}`)
	base := q.Snapshot().Gov.Journal.Base
	if base == 0 {
		t.Fatal("journal base = 0; want a wrapped ring")
	}
	cases := map[string][]nstest.Case{
		"policy":  {nstest.Lists("", "ctl", "rules"), nstest.Content("rules", "[]\n"), nstest.AppendError("rules", "cannot write read-only file /policy/rules")},
		"actions": {nstest.Lists("", "queue", "a1"), nstest.AppendError("a1/status", "cannot write read-only file /actions/a1/status")},
		"audit": {
			nstest.AppendError("decisions", "cannot write read-only file /audit/decisions"),
			nstest.ReadError("journal", 0, fmt.Sprintf("append-only offset 0 is stale; oldest available %d", base)),
		},
		"replay": {nstest.Cap("status", q.Gov().ReplayStatusMaxBytes)},
	}
	for name, p := range p {
		t.Run(name, func(t *testing.T) { nstest.TestProvider(t, p, cases[name]...) })
	}
}

// The offset-checked rings pass each line its own offset, and a wrong
// one is the queen's refusal, word for word.
func TestJournalOffsets(t *testing.T) {
	q, p := governed(t, nil)
	journal := provtest.Walk(t, p["audit"], "journal")
	two := `{"a":1}` + "\n" + `{"b":2}` + "\n"
	if k, err := journal.Append(provtest.QueenCaller, []byte(two), 0); err != nil || k != len(two) {
		t.Fatalf("Append(two lines, 0) = %d, %v; want %d, nil", k, err, len(two))
	}
	if got := provtest.Read(t, p["audit"], "journal"); got != two {
		t.Errorf("journal = %q; want %q", got, two)
	}
	_, err := journal.Append(provtest.QueenCaller, []byte(`{"c":3}`), 3)
	if want := fmt.Sprintf("append-only offset 3 mismatch; end is %d", len(two)); err == nil || err.Error() != want {
		t.Errorf("Append(at 3) = %v; want %q", err, want)
	}
	if _, err := journal.Append(provtest.As(ticket.RoleWorkerHeartbeat, "worker-1"), []byte(`{"c":3}`), -1); err == nil || err.Error() != "EPERM" {
		t.Errorf("Append(as a worker) = %v; want EPERM", err)
	}
	export := provtest.Read(t, p["audit"], "export")
	if want := fmt.Sprintf(`"journal_next":%d`, len(two)); !strings.Contains(export, want) {
		t.Errorf("export = %q; want %s", export, want)
	}
	if q.Snapshot().Gov.Journal.End() != uint64(len(two)) {
		t.Errorf("journal end = %d; want %d", q.Snapshot().Gov.Journal.End(), len(two))
	}
}

// /policy/preflight (milestone 20b): req lists every action with its
// state and the gate's word for its decision; diff counts, per manifest
// rule, the actions it would meet and the actions no rule gates; each
// .cbor carries the same values; each file is there only when its
// ui_providers.policy_preflight toggle is on.
func TestPreflight(t *testing.T) {
	rules := []queen.PolicyRule{{ID: "queen-ctl", Target: "/queen/ctl"}, {ID: "restart", Target: "/host/systemd/*/restart"}}
	_, p := governed(t, func(g *queen.GovConfig) {
		g.PolicyRules, g.PreflightReq, g.PreflightDiff = rules, true, true
	})
	for _, line := range []string{
		`{"id":"a1","target":"/queen/ctl","decision":"approve"}`,
		`{"id":"a2","target":"/host/systemd/nginx/restart","decision":"deny"}`,
		`{"id":"a3","target":"/host/other","decision":"approve"}`,
	} {
		provtest.Append(t, p["actions"], provtest.QueenCaller, "queue", line)
	}
	nstest.TestProvider(t, p["policy"],
		nstest.Lists("", "ctl", "rules", "preflight"),
		nstest.Lists("preflight", "req", "req.cbor", "diff", "diff.cbor"),
		nstest.Content("preflight/req", "req total=3 queued=3 consumed=0\n"+
			"req id=a1 target=/queen/ctl decision=allow state=queued\n"+
			"req id=a2 target=/host/systemd/nginx/restart decision=deny state=queued\n"+
			"req id=a3 target=/host/other decision=allow state=queued\n"),
		nstest.Content("preflight/diff", "diff rules=2 actions=3 unmatched=1\n"+
			"rule id=queen-ctl target=/queen/ctl queued=1 consumed=0\n"+
			"rule id=restart target=/host/systemd/*/restart queued=1 consumed=0\n"),
		nstest.AppendError("preflight/req", "cannot write read-only file /policy/preflight/req"),
	)

	var req struct {
		Total, Queued, Consumed int
		Actions                 []struct{ ID, Target, Decision, State string }
	}
	if err := cbor.Unmarshal([]byte(provtest.Read(t, p["policy"], "preflight/req.cbor")), &req); err != nil {
		t.Fatal(err)
	}
	if req.Total != 3 || req.Queued != 3 || req.Consumed != 0 || len(req.Actions) != 3 ||
		req.Actions[1] != (struct{ ID, Target, Decision, State string }{"a2", "/host/systemd/nginx/restart", "deny", "queued"}) {
		t.Errorf("req.cbor = %+v; want the text's values", req)
	}
	var d struct {
		Rules, Actions, Unmatched int
		Entries                   []struct {
			ID, Target       string
			Queued, Consumed int
		}
	}
	if err := cbor.Unmarshal([]byte(provtest.Read(t, p["policy"], "preflight/diff.cbor")), &d); err != nil {
		t.Fatal(err)
	}
	if d.Rules != 2 || d.Actions != 3 || d.Unmatched != 1 || len(d.Entries) != 2 || d.Entries[1].ID != "restart" || d.Entries[1].Queued != 1 {
		t.Errorf("diff.cbor = %+v; want the text's values", d)
	}

	// One toggle, one pair of files; neither, no directory.
	_, onlyDiff := governed(t, func(g *queen.GovConfig) { g.PreflightDiff = true })
	nstest.TestProvider(t, onlyDiff["policy"], nstest.Lists("preflight", "diff", "diff.cbor"))
	_, none := governed(t, nil)
	nstest.TestProvider(t, none["policy"], nstest.Lists("", "ctl", "rules"))
}
