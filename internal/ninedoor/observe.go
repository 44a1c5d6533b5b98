package ninedoor

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/netguard"
	"github.com/cohesix/cohesix/internal/queen"
)

// observe holds the transport counters behind /proc/9p, /proc/ingest and
// /proc/net. They describe traffic and decide nothing, so they are atomics
// and a small mutex-guarded ring outside the queen.
type observe struct {
	ninep       NinePStats
	ingest      IngestStats
	consoleNet  netguard.Stats
	secure9pNet netguard.Stats
	clock       atomic.Pointer[func() time.Time]
}

// ConsoleNet is the TCP console listener's counters (/proc/net/console).
func (ns *Namespace) ConsoleNet() *netguard.Stats { return &ns.obs.consoleNet }

// Secure9PNet is the Secure9P listener's counters (/proc/net/secure9p).
func (ns *Namespace) Secure9PNet() *netguard.Stats { return &ns.obs.secure9pNet }

// netDir is /proc/net: one line of listener counters per listener.
func (ns *Namespace) netDir() Node {
	stats := func(path string, s *netguard.Stats) Node {
		return Content{ReadOnly: ReadOnly{Path: path}, Render: func() []byte { return []byte(s.Line() + "\n") }}
	}
	return Static{DirOps: DirOps{Path: "/proc/net"}, Entries: []Entry{
		{Name: "console", Node: stats("/proc/net/console", &ns.obs.consoleNet)},
		{Name: "secure9p", Node: stats("/proc/net/secure9p", &ns.obs.secure9pNet)},
	}}
}

// NinePStats are the Secure9P counters of /proc/9p.
type NinePStats struct {
	ShortWrites atomic.Uint64 // writes the provider took only part of
	Retries     atomic.Uint64 // short-write retries (policy retry)

	mu       sync.Mutex
	inflight map[any]func() int // guarded by mu: per-connection in-flight counts
}

// Track registers a connection's in-flight counter under key.
func (s *NinePStats) Track(key any, inflight func() int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight == nil {
		s.inflight = map[any]func() int{}
	}
	s.inflight[key] = inflight
}

// Untrack forgets a connection.
func (s *NinePStats) Untrack(key any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inflight, key)
}

// Outstanding is the number of 9P requests in flight on all connections.
func (s *NinePStats) Outstanding() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n uint64
	for _, f := range s.inflight {
		n += uint64(f())
	}
	return n
}

// IngestStats are the TCP console inbound-queue counters of /proc/ingest:
// a bounded ring of enqueue-to-dispatch latencies and the overflow counts.
type IngestStats struct {
	Backpressure atomic.Uint64 // lines that met a full queue
	Dropped      atomic.Uint64 // lines dropped without a reply: none since the busy rule (hive/inbound.go)
	Queued       atomic.Int64  // lines waiting now, all connections
	UIReads      atomic.Uint64
	UIDenies     atomic.Uint64

	mu      sync.Mutex
	samples []uint32 // guarded by mu: latency ring, ms
	next    int      // guarded by mu
	watch   []string // guarded by mu: watch lines, oldest first
	lastMs  uint64   // guarded by mu: time of the newest watch line
	watched bool     // guarded by mu
}

// Sample records one enqueue-to-dispatch latency.
func (s *IngestStats) Sample(d time.Duration) {
	ms := uint32(min(d.Milliseconds(), 1<<31))
	s.mu.Lock()
	defer s.mu.Unlock()
	n := generated.ObservabilityProcIngestLatencySamples
	if len(s.samples) < n {
		s.samples = append(s.samples, ms)
		return
	}
	s.samples[s.next] = ms
	s.next = (s.next + 1) % n
}

// Percentiles returns the nearest-rank p50 and p95 of the sample ring
// (0, 0 when empty).
func (s *IngestStats) Percentiles() (p50, p95 uint32) {
	s.mu.Lock()
	sorted := slices.Clone(s.samples)
	s.mu.Unlock()
	return percentile(sorted, 50), percentile(sorted, 95)
}

func percentile(v []uint32, p int) uint32 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	rank := (p*len(v) + 99) / 100 // nearest rank, 1-based
	return v[max(rank, 1)-1]
}

// watchLine renders one /proc/ingest/watch entry.
func (s *IngestStats) watchLine(nowMs uint64) string {
	p50, p95 := s.Percentiles()
	return fmt.Sprintf("watch ts_ms=%d p50_ms=%d p95_ms=%d queued=%d backpressure=%d dropped=%d ui_reads=%d ui_denies=%d",
		nowMs, p50, p95, max(s.Queued.Load(), 0), s.Backpressure.Load(), s.Dropped.Load(), s.UIReads.Load(), s.UIDenies.Load())
}

// Watch appends a watch line at nowMs unless the last one is younger than
// the manifest's minimum interval; then it returns the delay left.
func (s *IngestStats) Watch(nowMs uint64) (appended bool, delayMs uint64) {
	line := s.watchLine(nowMs)
	if max := generated.ObservabilityProcIngestWatchLineBytes - 1; len(line) > max {
		line = line[:max]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	minGap := uint64(generated.ObservabilityProcIngestWatchMinIntervalMs)
	if s.watched && nowMs < s.lastMs+minGap {
		return false, s.lastMs + minGap - nowMs
	}
	s.watched, s.lastMs = true, nowMs
	s.watch = append(s.watch, line)
	if over := len(s.watch) - generated.ObservabilityProcIngestWatchMaxEntries; over > 0 {
		s.watch = slices.Clone(s.watch[over:])
	}
	return true, 0
}

func (s *IngestStats) watchLines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.watch)
}

// NineP returns the Secure9P counters the server updates.
func (ns *Namespace) NineP() *NinePStats { return &ns.obs.ninep }

// Ingest returns the console inbound-queue counters the console updates.
func (ns *Namespace) Ingest() *IngestStats { return &ns.obs.ingest }

// SetClock sets the wall clock for observation timestamps (watch ts_ms).
func (ns *Namespace) SetClock(now func() time.Time) { ns.obs.clock.Store(&now) }

func (ns *Namespace) nowMs() uint64 {
	if c := ns.obs.clock.Load(); c != nil {
		return uint64((*c)().UnixMilli())
	}
	return uint64(time.Now().UnixMilli())
}

// capped bounds a rendered node to its manifest byte cap, cutting after
// the last whole line that fits.
func capped(b []byte, max int) []byte {
	if len(b) <= max {
		return b
	}
	b = b[:max]
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[:i+1]
	}
	return b
}

// line is a read-only node rendering one or more lines under a byte cap.
func line(max int, render func() string) Node {
	return Content{Render: func() []byte { return capped([]byte(render()+"\n"), max) }}
}

// watchFile is /proc/ingest/watch.
type watchFile struct {
	ReadOnly
	NotDir
	ns *Namespace
}

func (f watchFile) render() []byte {
	lines := f.ns.obs.ingest.watchLines()
	if len(lines) == 0 {
		return nil
	}
	return []byte(joinLines(lines))
}

func joinLines(lines []string) string {
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

func (f watchFile) Stat() (Stat, error) {
	return Stat{Kind: KindAppend, Size: uint64(len(f.render()))}, nil
}
func (f watchFile) ReadAt(p []byte, off int64) (int, error) { return readBytes(f.render(), p, off) }

// Tail appends a watch line, or logs the throttle (spec namespace §2).
func (f watchFile) Tail(Caller) {
	if ok, delay := f.ns.obs.ingest.Watch(f.ns.nowMs()); !ok {
		f.ns.q.Audit(fmt.Sprintf("observe ingest.watch throttled delay_ms=%d min_interval_ms=%d", delay, generated.ObservabilityProcIngestWatchMinIntervalMs))
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// procObserve returns the enabled /proc subtrees 9p, ingest and root, in
// the spec's ls order.
func (ns *Namespace) procObserve() []Entry {
	var out []Entry
	snap := func() *queen.Snapshot { return ns.q.Snapshot() }
	var p9 []Entry
	if generated.ObservabilityProc9pSessions {
		p9 = append(p9, Entry{Name: "sessions", Node: Content{Render: func() []byte {
			return capped([]byte(ns.renderSessions(snap())), generated.ObservabilityProc9pSessionsBytes)
		}}})
	}
	if generated.ObservabilityProc9pOutstanding {
		p9 = append(p9, Entry{Name: "outstanding", Node: line(generated.ObservabilityProc9pOutstandingBytes, func() string {
			return fmt.Sprintf("outstanding current=%d limit=%d", ns.obs.ninep.Outstanding(), generated.Secure9pTagsPerSession)
		})})
	}
	if generated.ObservabilityProc9pShortWrites {
		p9 = append(p9, Entry{Name: "short_writes", Node: line(generated.ObservabilityProc9pShortWritesBytes, func() string {
			return fmt.Sprintf("short_writes total=%d retries=%d", ns.obs.ninep.ShortWrites.Load(), ns.obs.ninep.Retries.Load())
		})})
	}
	if s := ns.sessionDir(); s != nil {
		p9 = append(p9, Entry{Name: "session", Node: s})
	}
	if len(p9) > 0 {
		out = append(out, Entry{Name: "9p", Node: Static{DirOps: DirOps{Path: "/proc/9p"}, Entries: p9}})
	}

	in := &ns.obs.ingest
	var ing []Entry
	add := func(on bool, name string, max int, render func() string) {
		if on {
			ing = append(ing, Entry{Name: name, Node: line(max, render)})
		}
	}
	add(generated.ObservabilityProcIngestP50Ms, "p50_ms", generated.ObservabilityProcIngestP50MsBytes, func() string {
		p50, _ := in.Percentiles()
		return fmt.Sprintf("p50_ms=%d", p50)
	})
	add(generated.ObservabilityProcIngestP95Ms, "p95_ms", generated.ObservabilityProcIngestP95MsBytes, func() string {
		_, p95 := in.Percentiles()
		return fmt.Sprintf("p95_ms=%d", p95)
	})
	add(generated.ObservabilityProcIngestBackpressure, "backpressure", generated.ObservabilityProcIngestBackpressureBytes, func() string {
		return fmt.Sprintf("backpressure=%d", in.Backpressure.Load())
	})
	add(generated.ObservabilityProcIngestDropped, "dropped", generated.ObservabilityProcIngestDroppedBytes, func() string {
		return fmt.Sprintf("dropped=%d", in.Dropped.Load())
	})
	add(generated.ObservabilityProcIngestQueued, "queued", generated.ObservabilityProcIngestQueuedBytes, func() string {
		return fmt.Sprintf("queued=%d", max(in.Queued.Load(), 0))
	})
	if generated.ObservabilityProcIngestWatch {
		ing = append(ing, Entry{Name: "watch", Node: watchFile{ReadOnly: ReadOnly{Path: "/proc/ingest/watch"}, ns: ns}})
	}
	if len(ing) > 0 {
		out = append(out, Entry{Name: "ingest", Node: Static{DirOps: DirOps{Path: "/proc/ingest"}, Entries: ing}})
	}

	var root []Entry
	if generated.ObservabilityProcRootReachable {
		root = append(root, Entry{Name: "reachable", Node: line(generated.ObservabilityProcRootReachableBytes, func() string {
			return "reachable=" + yesNo(snap().Gov.Root.Reachable)
		})})
	}
	if generated.ObservabilityProcRootLastSeenMs {
		root = append(root, Entry{Name: "last_seen_ms", Node: line(generated.ObservabilityProcRootLastSeenMsBytes, func() string {
			return fmt.Sprintf("last_seen_ms=%d", snap().Gov.Root.LastSeenMs)
		})})
	}
	if generated.ObservabilityProcRootCutReason {
		root = append(root, Entry{Name: "cut_reason", Node: line(generated.ObservabilityProcRootCutReasonBytes, func() string {
			return "cut_reason=" + snap().Gov.Root.CutReason
		})})
	}
	if len(root) > 0 {
		out = append(out, Entry{Name: "root", Node: Static{DirOps: DirOps{Path: "/proc/root"}, Entries: root}})
	}
	return out
}

// pressureEntries returns the enabled /proc/pressure counters.
func (ns *Namespace) pressureEntries(_ func(string, func() uint64) Node, pr *queen.Pressure) []Entry {
	var out []Entry
	for _, c := range []struct {
		on   bool
		name string
		max  int
		v    *atomic.Uint64
	}{
		{generated.ObservabilityProcPressureBusy, "busy", generated.ObservabilityProcPressureBusyBytes, &pr.Busy},
		{generated.ObservabilityProcPressureQuota, "quota", generated.ObservabilityProcPressureQuotaBytes, &pr.Quota},
		{generated.ObservabilityProcPressureCut, "cut", generated.ObservabilityProcPressureCutBytes, &pr.Cut},
		{generated.ObservabilityProcPressurePolicy, "policy", generated.ObservabilityProcPressurePolicyBytes, &pr.Policy},
	} {
		if c.on {
			out = append(out, Entry{Name: c.name, Node: line(c.max, func() string { return c.name + "=" + strconv.FormatUint(c.v.Load(), 10) })})
		}
	}
	return out
}

// renderSessions renders /proc/9p/sessions: open Secure9P sessions, the
// worker ones, and the worker sessions per shard.
func (ns *Namespace) renderSessions(sn *queen.Snapshot) string {
	bits := 0
	if ns.cfg.ShardEnabled {
		bits = ns.cfg.ShardBits
	}
	shards := make([]int, 1<<bits)
	var total, workers int
	for _, x := range sn.Gov.Sessions {
		if x.Transport != "9p" || x.State == queen.SessionClosed {
			continue
		}
		total++
		if x.Role != "queen" {
			workers++
			var v int
			fmt.Sscanf(ns.ShardLabel(x.Subject), "%02x", &v)
			if v < len(shards) {
				shards[v]++
			}
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "sessions total=%d worker=%d shard_bits=%d shard_count=%d\n", total, workers, bits, len(shards))
	for i, n := range shards {
		fmt.Fprintf(&b, "shard %02x %d\n", i, n)
	}
	return b.String()
}

// sessionDir is /proc/9p/session: active, then one directory per tracked
// session id (console and Secure9P sessions share the id space).
func (ns *Namespace) sessionDir() Node {
	if !generated.ObservabilityProc9pSessionActive && !generated.ObservabilityProc9pSessionState &&
		!generated.ObservabilityProc9pSessionSinceMs && !generated.ObservabilityProc9pSessionOwner {
		return nil
	}
	find := func(id string) (queen.SessionInfo, bool) {
		for _, x := range ns.q.Snapshot().Gov.Sessions {
			if strconv.FormatUint(x.ID, 10) == id {
				return x, true
			}
		}
		return queen.SessionInfo{}, false
	}
	return Dynamic{
		DirOps: DirOps{Path: "/proc/9p/session"},
		Names: func() []string {
			var names []string
			if generated.ObservabilityProc9pSessionActive {
				names = append(names, "active")
			}
			for _, x := range ns.q.Snapshot().Gov.Sessions {
				names = append(names, strconv.FormatUint(x.ID, 10))
			}
			return names
		},
		Child: func(name string) (Node, bool) {
			if name == "active" && generated.ObservabilityProc9pSessionActive {
				return line(generated.ObservabilityProc9pSessionActiveBytes, func() string {
					var active, draining int
					for _, x := range ns.q.Snapshot().Gov.Sessions {
						switch x.State {
						case queen.SessionActive:
							active++
						case queen.SessionDraining:
							draining++
						}
					}
					return fmt.Sprintf("active=%d draining=%d", active, draining)
				}), true
			}
			if _, ok := find(name); !ok {
				return nil, false
			}
			field := func(render func(queen.SessionInfo) string) func() string {
				return func() string {
					x, _ := find(name) // a tracked record only ever closes
					return render(x)
				}
			}
			var es []Entry
			if generated.ObservabilityProc9pSessionState {
				es = append(es, Entry{Name: "state", Node: line(generated.ObservabilityProc9pSessionStateBytes, field(func(x queen.SessionInfo) string { return "state=" + x.State }))})
			}
			if generated.ObservabilityProc9pSessionSinceMs {
				es = append(es, Entry{Name: "since_ms", Node: line(generated.ObservabilityProc9pSessionSinceMsBytes, field(func(x queen.SessionInfo) string { return fmt.Sprintf("since_ms=%d", x.SinceMs) }))})
			}
			if generated.ObservabilityProc9pSessionOwner {
				es = append(es, Entry{Name: "owner", Node: line(generated.ObservabilityProc9pSessionOwnerBytes, field(func(x queen.SessionInfo) string { return "owner=" + x.Owner }))})
			}
			return Static{DirOps: DirOps{Path: "/proc/9p/session/" + name}, Entries: es}, true
		},
	}
}
