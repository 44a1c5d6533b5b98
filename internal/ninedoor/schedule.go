package ninedoor

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/gpu"
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
const (
	scheduleSummaryBytes = generated.ObservabilityProcScheduleSummaryBytes
	scheduleLineBytes    = generated.ObservabilityProcScheduleQueueLineBytes
	scheduleMaxEntries   = generated.ObservabilityProcScheduleQueueMaxEntries
	leaseSummaryBytes    = generated.ObservabilityProcLeaseSummaryBytes
	leaseLineBytes       = generated.ObservabilityProcLeaseActiveLineBytes
	leaseMaxEntries      = generated.ObservabilityProcLeaseActiveMaxEntries
)

func capLine(s string, max int) string {
	if len(s) > max-1 {
		s = s[:max-1]
	}
	return s + "\n"
}

func remaining(limit *uint64, used uint64) uint64 {
	if limit == nil || *limit < used {
		return 0
	}
	return *limit - used
}

func (ns *Namespace) renderScheduleQueue(sn *queen.Snapshot) string {
	var b strings.Builder
	seq, lines := 0, 0
	for _, w := range sn.Workers {
		seq++
		if !w.Running || lines == scheduleMaxEntries {
			continue
		}
		lines++
		var budgetMs uint64
		if w.Budget.TTLs != nil {
			budgetMs = *w.Budget.TTLs * 1000
		}
		b.WriteString(capLine(fmt.Sprintf("id=%s role=%s priority=0 ticks=%d budget_ms=%d seq=%d", w.ID, w.Role, remaining(w.Budget.Ticks, w.Ticks), budgetMs, seq), scheduleLineBytes))
	}
	return b.String()
}

func (ns *Namespace) renderScheduleSummary(sn *queen.Snapshot) string {
	var queued, dequeued, dropped uint64
	for _, w := range sn.Workers {
		dequeued += w.Ticks
		if w.Running {
			queued++
		} else {
			dropped++
		}
	}
	return capLine(fmt.Sprintf("queue=%d dequeued=%d dropped=%d max_entries=%d", queued, dequeued, dropped, scheduleMaxEntries), scheduleSummaryBytes)
}

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

func (ns *Namespace) leaseDir() Node {
	return Static{DirOps: DirOps{Path: "/proc/lease"}, Entries: []Entry{
		{Name: "summary", Node: Content{ReadOnly: ReadOnly{Path: "/proc/lease/summary"}, Render: func() []byte {
			sn := ns.q.Snapshot()
			max := 0
			if sn.GPU != nil {
				max = len(sn.GPU.Nodes)
			}
			return []byte(capLine(fmt.Sprintf("active=%d preemptions=0 quotas=0 max_active=%d max_preemptions=0", len(activeLeases(sn)), max), leaseSummaryBytes))
		}}},
		{Name: "active", Node: Content{ReadOnly: ReadOnly{Path: "/proc/lease/active"}, Render: func() []byte {
			var b strings.Builder
			for i, l := range activeLeases(ns.q.Snapshot()) {
				if i == leaseMaxEntries {
					break
				}
				b.WriteString(capLine(fmt.Sprintf("id=%s subject=%s resource=gpu/%s ttl_s=%d priority=%d state=%s seq=%d", l.WorkerID, l.WorkerID, l.GPUID, l.TTLs, l.Priority, l.State, i+1), leaseLineBytes))
			}
			return []byte(b.String())
		}}},
		{Name: "preemptions", Node: Content{ReadOnly: ReadOnly{Path: "/proc/lease/preemptions"}, Render: func() []byte { return nil }}},
	}}
}

func (ns *Namespace) scheduleDir() Node {
	return Static{DirOps: DirOps{Path: "/proc/schedule"}, Entries: []Entry{
		{Name: "summary", Node: Content{ReadOnly: ReadOnly{Path: "/proc/schedule/summary"}, Render: func() []byte { return []byte(ns.renderScheduleSummary(ns.q.Snapshot())) }}},
		{Name: "queue", Node: Content{ReadOnly: ReadOnly{Path: "/proc/schedule/queue"}, Render: func() []byte { return []byte(ns.renderScheduleQueue(ns.q.Snapshot())) }}},
	}}
}
