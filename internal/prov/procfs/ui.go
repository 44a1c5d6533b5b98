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
		{Name: "since", Node: ns.Dynamic{DirOps: ns.DirOps{Path: "/proc/ui/since"}, Names: func() []string { return nil }, Child: p.uiSince}},
	}
}

// uiSince is /proc/ui/since/<gen>: the change feed (DECISIONS P72). A
// reader that last saw snapshot gen walks since/<gen> and reads one page:
// RenderUISince. The directory lists nothing: every decimal gen is a file.
func (p *proc) uiSince(name string) (ns.Node, bool) {
	gen, err := strconv.ParseUint(name, 10, 64)
	if err != nil || strconv.FormatUint(gen, 10) != name {
		return nil, false
	}
	return ns.Content{ReadOnly: ns.ReadOnly{Path: "/proc/ui/since/" + name}, Render: func() []byte {
		return []byte(RenderUISince(p.cfg.Queen.Snapshot(), gen))
	}}, true
}

// RenderUISince is /proc/ui/since/<gen>: /proc/ui/gen's line with
// " since=<gen> full=no changed=<k> removed=<r>", then the k workers
// published after gen as page lines (spawn order), then "<id> removed"
// for each of the r that left after it. When the snapshot cannot tell
// (gen ahead of it or older than the removals it keeps) or the answer
// would not fit one page (page_workers lines, page_bytes), it is the
// header alone with full=yes: the reader reads gen and the pages.
func RenderUISince(s *queen.Snapshot, gen uint64) string {
	head := strings.TrimSuffix(RenderUIGen(s), "\n") + fmt.Sprintf(" since=%d ", gen)
	changed, removed, ok := s.ChangedSince(gen)
	full := head + "full=yes changed=0 removed=0\n"
	if !ok || len(changed)+len(removed) > generated.UiProvidersProcUiPageWorkers {
		return full
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%sfull=no changed=%d removed=%d\n", head, len(changed), len(removed))
	for i := range changed {
		uiLine(&b, &changed[i])
	}
	for _, id := range removed {
		fmt.Fprintf(&b, "%s removed\n", id)
	}
	if b.Len() > generated.UiProvidersProcUiPageBytes {
		return full
	}
	return b.String()
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
	for i := lo; i < min(lo+per, len(ws)); i++ {
		uiLine(&b, &ws[i])
	}
	return b.String()
}

// uiLine is one worker's page line.
func uiLine(b *strings.Builder, w *queen.Worker) {
	state := "running"
	if !w.Running {
		state = "exited"
	}
	fmt.Fprintf(b, "%s role=%s state=%s ticks=%d ops=%d budget_ticks=%s budget_ops=%s telemetry_end=%d\n",
		w.ID, w.Role, state, w.Ticks, w.Ops, budgetField(w.Budget.Ticks), budgetField(w.Budget.Ops), w.Ring.End())
}

func budgetField(v *uint64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatUint(*v, 10)
}
