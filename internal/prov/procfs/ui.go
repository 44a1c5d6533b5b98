package procfs

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/queen"
)

// uiEntries are /proc/ui, SwarmUI's read-only projection of the hive
// (roadmap 20b, DECISIONS P55): gen says which snapshot the pages come
// from and how many pages there are; workers/<n> is page n, at most
// ui_providers.proc_ui.page_workers workers in spawn order, capped at
// page_bytes so one page is one read. A client learns 1,000 workers in
// a handful of reads with no per-worker walk, and no read exceeds the
// 20b bounds.
func (p *proc) uiEntries() []ns.Entry {
	if !generated.UiProvidersProcUiWorkers {
		return nil
	}
	return []ns.Entry{
		{Name: "gen", Node: p.snapFile("/proc/ui/gen", RenderUIGen)},
		{Name: "workers", Node: ns.Dynamic{DirOps: ns.DirOps{Path: "/proc/ui/workers"}, Names: p.uiPageNames, Child: p.uiPage}},
	}
}

func uiPages(n int) int {
	per := generated.UiProvidersProcUiPageWorkers
	return (n + per - 1) / per
}

// RenderUIGen is /proc/ui/gen: the snapshot sequence, the worker count,
// the page count, the queen's lifecycle and root reachability.
func RenderUIGen(s *queen.Snapshot) string {
	n := len(s.Workers())
	return fmt.Sprintf("gen=%d now_ms=%d workers=%d pages=%d lifecycle=%s reachable=%s\n",
		s.Seq, s.NowMs, n, uiPages(n), s.Lifecycle.State, yesNo(s.Gov.Root.Reachable))
}

func (p *proc) uiPageNames() []string {
	n := uiPages(len(p.cfg.Queen.Snapshot().Workers()))
	names := make([]string, n)
	for i := range names {
		names[i] = strconv.Itoa(i)
	}
	return names
}

func (p *proc) uiPage(name string) (ns.Node, bool) {
	i, err := strconv.Atoi(name)
	if err != nil || i < 0 || strconv.Itoa(i) != name || i >= uiPages(len(p.cfg.Queen.Snapshot().Workers())) {
		return nil, false
	}
	path := "/proc/ui/workers/" + name
	return ns.Content{ReadOnly: ns.ReadOnly{Path: path}, Render: func() []byte {
		return ns.Capped([]byte(RenderUIPage(p.cfg.Queen.Snapshot(), i)), generated.UiProvidersProcUiPageBytes)
	}}, true
}

// RenderUIPage is /proc/ui/workers/<page>: one line per worker, "<id>
// role=<role> state=running|exited ticks=<n> ops=<n> budget_ticks=<n|->
// budget_ops=<n|-> telemetry_end=<offset>". A page walked before workers
// left may be past the end when read: it is then empty (deterministic EOF).
func RenderUIPage(s *queen.Snapshot, page int) string {
	ws := s.Workers()
	per := generated.UiProvidersProcUiPageWorkers
	lo := page * per
	if lo >= len(ws) {
		return ""
	}
	var b strings.Builder
	for _, w := range ws[lo:min(lo+per, len(ws))] {
		state := "running"
		if !w.Running {
			state = "exited"
		}
		fmt.Fprintf(&b, "%s role=%s state=%s ticks=%d ops=%d budget_ticks=%s budget_ops=%s telemetry_end=%d\n",
			w.ID, w.Role, state, w.Ticks, w.Ops, budgetField(w.Budget.Ticks), budgetField(w.Budget.Ops), w.Ring.End())
	}
	return b.String()
}

func budgetField(v *uint64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatUint(*v, 10)
}
