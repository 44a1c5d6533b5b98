package procfs

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/gpu"
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/queen"
)

// /proc/schedule and /proc/lease (milestone 24c): read-only views of the
// worker run queue and of the GPU leases, in the seed's line formats. The
// hive has no /queen/schedule/ctl or /queen/lease/ctl yet, so the run
// queue is the live workers in spawn order (round-robin, DECISIONS P4) and
// the leases are the ACTIVE GPU leases; there are no preemptions or lease
// quotas to show. Line caps and the most lines a list holds are manifest
// keys (observability.proc_schedule.*, observability.proc_lease.*); the
// compiler requires the run queue to hold queen.max_workers lines.

// capLine cuts s to fit max bytes with its newline.
func capLine(s string, max int) string {
	if len(s) > max-1 {
		s = s[:max-1]
	}
	return s + "\n"
}

// remaining is what is left of limit after used; 0 without a limit.
func remaining(limit *uint64, used uint64) uint64 {
	if limit == nil || *limit < used {
		return 0
	}
	return *limit - used
}

func (p *proc) scheduleDir() ns.Node {
	return ns.Static{DirOps: ns.DirOps{Path: "/proc/schedule"}, Entries: []ns.Entry{
		{Name: "summary", Node: p.snapFile("/proc/schedule/summary", renderScheduleSummary)},
		{Name: "queue", Node: p.snapFile("/proc/schedule/queue", renderScheduleQueue)},
	}}
}

func renderScheduleQueue(sn *queen.Snapshot) string {
	var b strings.Builder
	seq, lines := 0, 0
	for _, w := range sn.Workers() {
		seq++
		if !w.Running || lines == generated.ObservabilityProcScheduleQueueMaxEntries {
			continue
		}
		lines++
		var budgetMs uint64
		if w.Budget.TTLs != nil {
			budgetMs = *w.Budget.TTLs * 1000
		}
		b.WriteString(capLine(fmt.Sprintf("id=%s role=%s priority=0 ticks=%d budget_ms=%d seq=%d", w.ID, w.Role, remaining(w.Budget.Ticks, w.Ticks), budgetMs, seq), generated.ObservabilityProcScheduleQueueLineBytes))
	}
	return b.String()
}

func renderScheduleSummary(sn *queen.Snapshot) string {
	var queued, dequeued, dropped uint64
	for _, w := range sn.Workers() {
		dequeued += w.Ticks
		if w.Running {
			queued++
		} else {
			dropped++
		}
	}
	return capLine(fmt.Sprintf("queue=%d dequeued=%d dropped=%d max_entries=%d", queued, dequeued, dropped, generated.ObservabilityProcScheduleQueueMaxEntries), generated.ObservabilityProcScheduleSummaryBytes)
}

func (p *proc) leaseDir() ns.Node {
	return ns.Static{DirOps: ns.DirOps{Path: "/proc/lease"}, Entries: []ns.Entry{
		{Name: "summary", Node: p.snapFile("/proc/lease/summary", renderLeaseSummary)},
		{Name: "active", Node: p.snapFile("/proc/lease/active", renderLeaseActive)},
		{Name: "preemptions", Node: ns.Content{ReadOnly: ns.ReadOnly{Path: "/proc/lease/preemptions"}, Render: func() []byte { return nil }}},
	}}
}

func renderLeaseSummary(sn *queen.Snapshot) string {
	max := 0
	if sn.GPU != nil {
		max = len(sn.GPU.Nodes)
	}
	return capLine(fmt.Sprintf("active=%d preemptions=0 quotas=0 max_active=%d max_preemptions=0", len(activeLeases(sn)), max), generated.ObservabilityProcLeaseSummaryBytes)
}

func renderLeaseActive(sn *queen.Snapshot) string {
	var b strings.Builder
	for i, l := range activeLeases(sn) {
		if i == generated.ObservabilityProcLeaseActiveMaxEntries {
			break
		}
		b.WriteString(capLine(fmt.Sprintf("id=%s subject=%s resource=gpu/%s ttl_s=%d priority=%d state=%s seq=%d", l.WorkerID, l.WorkerID, l.GPUID, l.TTLs, l.Priority, l.State, i+1), generated.ObservabilityProcLeaseActiveLineBytes))
	}
	return b.String()
}

// activeLeases are the ACTIVE GPU leases of the snapshot, in node order.
func activeLeases(sn *queen.Snapshot) []gpu.Lease {
	var out []gpu.Lease
	if sn.GPU == nil {
		return nil
	}
	for _, n := range sn.GPU.Nodes {
		var l gpu.Lease
		if len(n.Lease) == 0 || json.Unmarshal(n.Lease, &l) != nil || l.State != gpu.LeaseActive {
			continue
		}
		out = append(out, l)
	}
	return out
}
