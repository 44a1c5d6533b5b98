package procfs

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/netguard"
)

// Counters are the transport counters behind /proc/9p, /proc/ingest and
// /proc/net. They describe traffic and decide nothing, so they are atomics
// and a small mutex-guarded ring outside the queen. The transports update
// them; /proc only reads them. A Counters must not be copied.
type Counters struct {
	NineP       NinePStats
	Ingest      IngestStats
	ConsoleNet  netguard.Stats // the TCP console listener (/proc/net/console)
	Secure9PNet netguard.Stats // the Secure9P listener (/proc/net/secure9p)
}

// NinePStats are the Secure9P counters of /proc/9p.
type NinePStats struct {
	ShortWrites atomic.Uint64 // writes the provider took only part of
	Retries     atomic.Uint64 // short-write retries (policy retry)
	Queued      atomic.Int64  // frames received and not yet judged, all connections
	QueueBusy   atomic.Uint64 // frames refused for queue depth

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
	Dropped      atomic.Uint64 // lines dropped without a reply: none since the busy rule (consoleserver/inbound.go)
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
