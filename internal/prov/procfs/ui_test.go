package procfs_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/queen"
)

// TestUIProjection: /proc/ui/gen counts the workers and pages, each page
// lists at most page_workers of them in spawn order within page_bytes, and
// a page past the end does not exist.
func TestUIProjection(t *testing.T) {
	n := generated.UiProvidersProcUiPageWorkers + 3
	f := newFixtureWith(t, func(c *queen.Config) { c.MaxWorkers = n })
	for range n {
		if r := f.do(queen.CtlWrite{Who: queen.Who{Role: "queen"}, Line: []byte(`{"spawn":"heartbeat","ticks":5}`)}); r.Err != nil {
			t.Fatalf("spawn = %v", r.Err)
		}
	}
	gen, err := ns.ReadAll(walk(t, f.root, "ui", "gen"))
	if err != nil || !strings.Contains(string(gen), fmt.Sprintf(" workers=%d pages=2 lifecycle=ONLINE reachable=", n)) {
		t.Fatalf("gen = %q, %v", gen, err)
	}
	p0, err := ns.ReadAll(walk(t, f.root, "ui", "workers", "0"))
	if err != nil || len(p0) > generated.UiProvidersProcUiPageBytes {
		t.Fatalf("page 0: %d bytes, %v", len(p0), err)
	}
	lines := strings.Split(strings.TrimSpace(string(p0)), "\n")
	if len(lines) != generated.UiProvidersProcUiPageWorkers || !strings.HasPrefix(lines[0], "worker-1 role=worker-heartbeat state=running ticks=0 ops=0 budget_ticks=5 ") {
		t.Fatalf("page 0 has %d lines, first %q", len(lines), lines[0])
	}
	p1, _ := ns.ReadAll(walk(t, f.root, "ui", "workers", "1"))
	if got := strings.Count(string(p1), "\n"); got != 3 || !strings.HasPrefix(string(p1), fmt.Sprintf("worker-%d ", generated.UiProvidersProcUiPageWorkers+1)) {
		t.Fatalf("page 1 = %q", p1)
	}
	for _, bad := range []string{"2", "01", "-1", "x"} {
		if _, err := walk1(f.root, "ui", "workers", bad); err == nil {
			t.Errorf("page %q exists", bad)
		}
	}
}

func walk1(n ns.Node, names ...string) (ns.Node, error) {
	for _, name := range names {
		var err error
		if n, err = n.Walk(name); err != nil {
			return nil, err
		}
	}
	return n, nil
}
