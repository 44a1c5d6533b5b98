package procfs

import (
	"bytes"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/netguard"
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/queen"
)

// Capped bounds a rendered file to its manifest byte cap, cutting after
// the last whole line that fits (ns.Capped).
func Capped(b []byte, max int) []byte { return ns.Capped(b, max) }

// line is a read-only node rendering one or more lines under a byte cap.
// It refuses a write without naming its path, as it always has.
func line(max int, render func() string) ns.Node {
	return ns.Content{Render: func() []byte { return Capped([]byte(render()+"\n"), max) }}
}

// lineFile is one manifest-optional /proc file of a line under a byte cap.
type lineFile struct {
	on     bool // the manifest enables it
	name   string
	max    int // the manifest's byte cap
	render func() string
}

// lineEntries returns the enabled files of fs, in order.
func lineEntries(fs ...lineFile) []ns.Entry {
	var out []ns.Entry
	for _, f := range fs {
		if f.on {
			out = append(out, ns.Entry{Name: f.name, Node: line(f.max, f.render)})
		}
	}
	return out
}

// appendDir appends the /proc subdirectory name to out unless the manifest
// enables none of its entries.
func appendDir(out []ns.Entry, name string, entries []ns.Entry) []ns.Entry {
	if len(entries) == 0 {
		return out
	}
	return append(out, ns.Entry{Name: name, Node: ns.Static{DirOps: ns.DirOps{Path: "/proc/" + name}, Entries: entries}})
}

// observers returns the enabled /proc subtrees 9p, ingest and root, in
// the spec's ls order.
func (p *proc) observers() []ns.Entry {
	out := appendDir(nil, "9p", p.ninePEntries())
	out = appendDir(out, "ingest", p.ingestEntries())
	return appendDir(out, "root", p.rootEntries())
}

// ninePEntries are /proc/9p: sessions, outstanding, queue, short_writes, session.
func (p *proc) ninePEntries() []ns.Entry {
	st := &p.cfg.Counters.NineP
	var es []ns.Entry
	if generated.ObservabilityProc9pSessions {
		es = append(es, ns.Entry{Name: "sessions", Node: ns.Content{Render: func() []byte {
			return Capped([]byte(p.renderSessions(p.cfg.Queen.Snapshot())), generated.ObservabilityProc9pSessionsBytes)
		}}})
	}
	es = append(es, lineEntries(
		lineFile{generated.ObservabilityProc9pOutstanding, "outstanding", generated.ObservabilityProc9pOutstandingBytes, func() string {
			return fmt.Sprintf("outstanding current=%d limit=%d", st.Outstanding(), generated.Secure9pTagsPerSession)
		}},
		// queue (DECISIONS P61): frames received and not yet judged, the
		// depth they are held to, and the frames refused for it. Shown
		// with outstanding, whose in-flight tags it complements.
		lineFile{generated.ObservabilityProc9pOutstanding, "queue", generated.ObservabilityProc9pOutstandingBytes, func() string {
			depth := min(generated.Secure9pTagsPerSession, max(generated.Secure9pBatchFrames, 1))
			return fmt.Sprintf("queue current=%d limit=%d refused=%d", max(st.Queued.Load(), 0), depth, st.QueueBusy.Load())
		}},
		lineFile{generated.ObservabilityProc9pShortWrites, "short_writes", generated.ObservabilityProc9pShortWritesBytes, func() string {
			return fmt.Sprintf("short_writes total=%d retries=%d", st.ShortWrites.Load(), st.Retries.Load())
		}},
	)...)
	es = withCBOR(es, "/proc/9p", map[string]bool{"sessions": generated.UiProvidersProc9pSessions,
		"outstanding": generated.UiProvidersProc9pOutstanding, "short_writes": generated.UiProvidersProc9pShortWrites})
	if s := p.sessionDir(); s != nil {
		es = append(es, ns.Entry{Name: "session", Node: s})
	}
	return es
}

// ingestEntries are /proc/ingest: the latency percentiles, the overflow
// counts and the watch stream.
func (p *proc) ingestEntries() []ns.Entry {
	in := &p.cfg.Counters.Ingest
	es := lineEntries(
		lineFile{generated.ObservabilityProcIngestP50Ms, "p50_ms", generated.ObservabilityProcIngestP50MsBytes, func() string {
			p50, _ := in.Percentiles()
			return fmt.Sprintf("p50_ms=%d", p50)
		}},
		lineFile{generated.ObservabilityProcIngestP95Ms, "p95_ms", generated.ObservabilityProcIngestP95MsBytes, func() string {
			_, p95 := in.Percentiles()
			return fmt.Sprintf("p95_ms=%d", p95)
		}},
		lineFile{generated.ObservabilityProcIngestBackpressure, "backpressure", generated.ObservabilityProcIngestBackpressureBytes, func() string {
			return fmt.Sprintf("backpressure=%d", in.Backpressure.Load())
		}},
		lineFile{generated.ObservabilityProcIngestDropped, "dropped", generated.ObservabilityProcIngestDroppedBytes, func() string {
			return fmt.Sprintf("dropped=%d", in.Dropped.Load())
		}},
		lineFile{generated.ObservabilityProcIngestQueued, "queued", generated.ObservabilityProcIngestQueuedBytes, func() string {
			return fmt.Sprintf("queued=%d", max(in.Queued.Load(), 0))
		}},
	)
	es = withCBOR(es, "/proc/ingest", map[string]bool{"p50_ms": generated.UiProvidersProcIngestP50Ms,
		"p95_ms": generated.UiProvidersProcIngestP95Ms, "backpressure": generated.UiProvidersProcIngestBackpressure})
	if generated.ObservabilityProcIngestWatch {
		es = append(es, ns.Entry{Name: "watch", Node: watchFile{ReadOnly: ns.ReadOnly{Path: "/proc/ingest/watch"}, p: p}})
	}
	return es
}

// rootEntries are /proc/root: the queen's reachability.
func (p *proc) rootEntries() []ns.Entry {
	root := func() queen.RootState { return p.cfg.Queen.Snapshot().Gov.Root }
	return lineEntries(
		lineFile{generated.ObservabilityProcRootReachable, "reachable", generated.ObservabilityProcRootReachableBytes, func() string {
			return "reachable=" + yesNo(root().Reachable)
		}},
		lineFile{generated.ObservabilityProcRootLastSeenMs, "last_seen_ms", generated.ObservabilityProcRootLastSeenMsBytes, func() string {
			return fmt.Sprintf("last_seen_ms=%d", root().LastSeenMs)
		}},
		lineFile{generated.ObservabilityProcRootCutReason, "cut_reason", generated.ObservabilityProcRootCutReasonBytes, func() string {
			return "cut_reason=" + root().CutReason
		}},
	)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// pressureEntries returns the enabled /proc/pressure counters.
func pressureEntries(pr *queen.Pressure) []ns.Entry {
	counter := func(on bool, name string, max int, v *atomic.Uint64) lineFile {
		return lineFile{on, name, max, func() string { return name + "=" + strconv.FormatUint(v.Load(), 10) }}
	}
	return lineEntries(
		counter(generated.ObservabilityProcPressureBusy, "busy", generated.ObservabilityProcPressureBusyBytes, &pr.Busy),
		counter(generated.ObservabilityProcPressureQuota, "quota", generated.ObservabilityProcPressureQuotaBytes, &pr.Quota),
		counter(generated.ObservabilityProcPressureCut, "cut", generated.ObservabilityProcPressureCutBytes, &pr.Cut),
		counter(generated.ObservabilityProcPressurePolicy, "policy", generated.ObservabilityProcPressurePolicyBytes, &pr.Policy),
	)
}

// netDir is /proc/net: one line of listener counters per listener.
func netDir(c *Counters) ns.Node {
	stats := func(path string, s *netguard.Stats) ns.Node {
		return ns.Content{ReadOnly: ns.ReadOnly{Path: path}, Render: func() []byte { return []byte(s.Line() + "\n") }}
	}
	return ns.Static{DirOps: ns.DirOps{Path: "/proc/net"}, Entries: []ns.Entry{
		{Name: "console", Node: stats("/proc/net/console", &c.ConsoleNet)},
		{Name: "secure9p", Node: stats("/proc/net/secure9p", &c.Secure9PNet)},
	}}
}

// watchFile is /proc/ingest/watch: the watch lines so far; a console tail
// appends one first. It stats as an append file yet refuses writes, as it
// always has.
type watchFile struct {
	ns.ReadOnly
	ns.NotDir
	p *proc
}

func (f watchFile) render() []byte {
	lines := f.p.cfg.Counters.Ingest.watchLines()
	if len(lines) == 0 {
		return nil
	}
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Stat implements ns.Node.
func (f watchFile) Stat() (ns.Stat, error) {
	return ns.Stat{Kind: ns.KindAppend, Size: uint64(len(f.render()))}, nil
}

// ReadAt implements ns.Node.
func (f watchFile) ReadAt(p []byte, off int64) (int, error) { return ns.ReadBytes(f.render(), p, off) }

// Tail implements ns.Tailer: it appends a watch line, or logs the
// throttle (spec namespace §2).
func (f watchFile) Tail(ns.Caller) {
	if ok, delay := f.p.cfg.Counters.Ingest.Watch(f.p.cfg.NowMs()); !ok {
		f.p.cfg.Queen.Audit(fmt.Sprintf("observe ingest.watch throttled delay_ms=%d min_interval_ms=%d", delay, generated.ObservabilityProcIngestWatchMinIntervalMs))
	}
}

var (
	_ ns.Node   = watchFile{}
	_ ns.Tailer = watchFile{}
)
