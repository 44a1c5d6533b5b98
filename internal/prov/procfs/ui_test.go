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

// TestUISince: /proc/ui/since/<gen> lists the workers changed after gen
// and those that left, with gen's header; a gen the snapshot cannot
// answer, or a change set over one page, is full=yes alone.
func TestUISince(t *testing.T) {
	f := newFixtureWith(t, func(c *queen.Config) { c.MaxWorkers = 2 * generated.UiProvidersProcUiPageWorkers })
	queenWho := queen.Who{Role: "queen"}
	for range 3 {
		f.do(queen.CtlWrite{Who: queenWho, Line: []byte(`{"spawn":"heartbeat","ticks":5}`)})
	}
	read := func(names ...string) string {
		t.Helper()
		b, err := ns.ReadAll(walk(t, f.root, names...))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	genLine := read("ui", "gen")
	var gen uint64
	fmt.Sscanf(genLine, "gen=%d", &gen)
	if got := read("ui", "since", fmt.Sprint(gen)); !strings.HasSuffix(got, fmt.Sprintf(" since=%d full=no changed=0 removed=0\n", gen)) || !strings.HasPrefix(got, strings.TrimSuffix(genLine, "\n")) {
		t.Fatalf("since its own gen = %q (gen %q)", got, genLine)
	}
	f.do(queen.TelemetryAppend{Who: queenWho, Worker: "worker-2", Data: []byte("x")})
	f.do(queen.CtlWrite{Who: queenWho, Line: []byte(`{"kill":"worker-3"}`)})
	got := strings.Split(strings.TrimSuffix(read("ui", "since", fmt.Sprint(gen)), "\n"), "\n")
	page := strings.Split(strings.TrimSuffix(read("ui", "workers", "0"), "\n"), "\n")
	var w2 string
	for _, l := range page {
		if strings.HasPrefix(l, "worker-2 ") {
			w2 = l
		}
	}
	// A kill may leave the worker listed as exited or remove it; either
	// way the feed says what the page says.
	want := []string{w2}
	if len(page) == 2 {
		want = append(want, "worker-3 removed")
	} else {
		want = append(want, page[2])
	}
	if len(got) != 3 || !strings.Contains(got[0], fmt.Sprintf(" since=%d full=no changed=", gen)) || strings.Join(got[1:], "|") != strings.Join(want, "|") {
		t.Fatalf("since %d after a change and a kill:\n got %q\nwant %q", gen, got, want)
	}
	if got := read("ui", "since", fmt.Sprint(gen+1000)); !strings.Contains(got, " full=yes changed=0 removed=0\n") || strings.Count(got, "\n") != 1 {
		t.Errorf("since a gen ahead = %q", got)
	}
	for range generated.UiProvidersProcUiPageWorkers + 1 {
		f.do(queen.CtlWrite{Who: queenWho, Line: []byte(`{"spawn":"heartbeat","ticks":5}`)})
	}
	if got := read("ui", "since", fmt.Sprint(gen)); !strings.Contains(got, " full=yes ") || strings.Count(got, "\n") != 1 {
		t.Errorf("since with more than a page of changes = %q", got)
	}
	for _, bad := range []string{"01", "-1", "x", ""} {
		if _, err := walk1(f.root, "ui", "since", bad); err == nil {
			t.Errorf("since/%q exists", bad)
		}
	}
}
