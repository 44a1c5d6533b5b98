// Package queen is the single authority of the hive. All state that decides
// anything (workers, budgets, lifecycle, audit order) lives in State and is
// changed only by Apply, which the Queen loop calls from one goroutine.
// Readers take immutable Snapshots; nobody else mutates authority state.
package queen

import (
	"bytes"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"

	"github.com/cohesix/cohesix/internal/auditline"
	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/tframe"
)

// Config holds the limits the queen enforces; Default fills it from the
// generated manifest tables.
type Config struct {
	MaxWorkers          int
	RingBytesPerWorker  int
	FrameSchema         string // telemetry.frame_schema: legacy-plaintext or cbor-v1 (tframe)
	LogRingLines        int
	LogLineMaxBytes     int
	FsyncBatchMax       int // most commands one group commit writes with one fsync (queen.fsync_batch_max)
	HeartbeatIntervalMs uint64
	DefaultTicks        uint64
	DefaultOps          uint64
	DefaultTTLs         uint64
	InitialState        string
	AutoOnline          string // target of the BOOTING auto transition, "" for none
	Throttle            ThrottleConfig
	Peers               PeerConfig   // per-peer throttle and audit summary tables (peers.go)
	GPUDefaultOps       uint64       // budget of a worker-gpu (queen.gpu_default_*)
	GPUDefaultTTLs      uint64       //
	Ingest              IngestConfig // telemetry ingest quotas (ingest.go)
	Gov                 GovConfig    // sessions, policy, audit (govern.go)
	CAS                 CASConfig    // /updates and /models (cas.go)
}

// Budget bounds a worker; nil fields are unbounded.
type Budget struct {
	Ticks *uint64 `json:"ticks,omitempty"`
	Ops   *uint64 `json:"ops,omitempty"`
	TTLs  *uint64 `json:"ttl_s,omitempty"`
}

// Worker is one worker as the authority sees it.
type Worker struct {
	ID         string
	Role       string
	Budget     Budget
	SpawnedMs  uint64
	Ticks      uint64 // heartbeats emitted
	Ops        uint64 // operations consumed
	Running    bool
	ExitReason string
	Ring       Ring
	// Gen is the snapshot Seq that published this worker's last change
	// (workerlist.go): /proc/ui/since lists the workers with Gen > N.
	Gen uint64
}

// Ring is a worker's telemetry: the retained bytes and the absolute offset
// of their first byte. Offsets below Base are stale.
type Ring struct {
	Base uint64
	Data []byte
}

// End is the absolute offset just past the newest byte.
func (r Ring) End() uint64 { return r.Base + uint64(len(r.Data)) }

// Lifecycle is the node lifecycle state as shown in /proc/lifecycle.
type Lifecycle struct {
	State   string
	Reason  string
	SinceMs uint64
}

// State is the authority's mutable state. Only Apply changes it.
type State struct {
	cfg        Config
	peer       Peer // the connection of the command being applied (audit)
	workers    map[string]*Worker
	order      []string    // spawn order
	wt         workerTable // what snapshots share of workers (workerlist.go)
	nextWorker uint64
	log        []string
	logTotal   uint64
	lifecycle  Lifecycle
	defBudget  Budget
	bootMs     uint64
	durable    bool // a store keeps what persist queues (persist.go)

	throttleCfg ThrottleConfig
	peers       peerTables // per-peer throttle and audit summaries (peers.go)
	wraps       wrapWindow // telemetry ring wrap summary (wraps.go)

	ingest ingestState // ingest.go
	gpu    gpuState    // gpu.go
	gov    govState    // sessions, root, policy, audit (govern.go)
	tr     traceState  // /trace (trace.go)
	cas    casState    // /updates and /models (cas.go)

	revoked []Revocation // since the last takeRevoked
	tickBuf []byte       // tick's record scratch
}

// Revocation is a worker whose authority ended: killed (Reason "kill") or
// its budget ran out (DECISIONS P5; Reason ttl, ticks, ops, gpu-removed).
// The sessions attached as that worker end with it.
type Revocation struct {
	Worker string
	Reason string
}

// takeRevoked returns the revocations since the last call and forgets them.
func (s *State) takeRevoked() []Revocation {
	r := s.revoked
	s.revoked = nil
	return r
}

// NewState returns the boot state at time nowMs.
func NewState(cfg Config, nowMs uint64) *State {
	s := &State{cfg: cfg, workers: map[string]*Worker{}, nextWorker: 1, bootMs: nowMs, throttleCfg: cfg.Throttle}
	s.lifecycle = Lifecycle{State: cfg.InitialState, Reason: "boot", SinceMs: nowMs}
	s.govInit()
	return s
}

// Cmd is one request to the authority.
type Cmd interface{ isCmd() }

// applier is a command that applies itself to the State (every command
// of this package): Apply has no dispatch table to keep in step with the
// command types.
type applier interface {
	apply(s *State, nowMs uint64) Result
}

// Who identifies the requester of a command for audit and policy.
type Who struct {
	Role    string // wire label: queen, worker-heartbeat, ...
	Subject string // worker id or scope for workers
	Ticket  string // masked ticket for audit lines, "" if none
	// Peer is the requester's connection: the lines a command writes end
	// with its transport and remote address (State.audit).
	Peer Peer
}

// TelemetryAppend appends one record to a worker's telemetry ring.
type TelemetryAppend struct {
	Who    Who
	Worker string
	Data   []byte
}

// LogAppend appends lines to /log/queen.log (audit lines, user echo lines).
type LogAppend struct{ Lines []string }

// Tick advances heartbeat workers and budget clocks.
type Tick struct{}

// BootComplete performs the manifest's auto transition out of BOOTING.
type BootComplete struct{}

func (TelemetryAppend) isCmd() {}
func (c TelemetryAppend) apply(s *State, nowMs uint64) Result {
	return s.as(c.Who).telemetry(c, nowMs)
}

func (LogAppend) isCmd() {}
func (c LogAppend) apply(s *State, _ uint64) Result {
	for _, l := range c.Lines {
		s.audit(l)
	}
	return Result{}
}

func (Tick) isCmd() {}
func (Tick) apply(s *State, nowMs uint64) Result {
	s.tick(nowMs)
	s.gpuTick(nowMs)
	s.peerTick(nowMs)
	s.wrapTick(nowMs)
	return Result{}
}

func (BootComplete) isCmd() {}
func (BootComplete) apply(s *State, nowMs uint64) Result {
	if s.lifecycle.State == "BOOTING" && s.cfg.AutoOnline != "" {
		s.transition(s.cfg.AutoOnline, "boot-complete", nowMs)
	}
	return Result{}
}

// Result is the outcome of one Apply: an error (a refusal from errs) and the
// facts the caller needs. Audit lines are already in the log.
type Result struct {
	Err     error
	Worker  string // spawned worker id
	Bind    *Bind  // a bind the requesting session must install
	Offset  uint64 // ring end after a telemetry append
	Written int
	Ingest  *IngestOutcome // what an ingest command changed (ingest.go)
	Ctl     *CtlCommand    // the /queen/ctl line as the queen parsed it (ctl.go)
	CAS     *CASResult     // what a CAS command evicted (cas.go)
}

// Bind is a per-session namespace binding decided by the queen.
type Bind struct {
	From, To string
	Mount    string // service name for mount, "" for bind
}

// Apply changes the state by one command at time nowMs. It reads no clock,
// starts no goroutines and is the only mutator.
func (s *State) Apply(c Cmd, nowMs uint64) Result {
	a, ok := c.(applier)
	if !ok {
		return Result{Err: errs.New(errs.ErrInvalid, "unknown command %T", c)}
	}
	r := a.apply(s, nowMs)
	s.peer = Peer{} // set by as for the command of a session
	return r
}

func (s *State) transition(to, reason string, nowMs uint64) {
	s.audit(fmt.Sprintf("lifecycle transition old=%s new=%s reason=%s", s.lifecycle.State, to, reason))
	s.lifecycle = Lifecycle{State: to, Reason: reason, SinceMs: nowMs}
}

// Gate reports whether a lifecycle gate is open in the current state.
func Gate(state, gate string) bool {
	switch state {
	case "ONLINE", "DEGRADED":
		return true
	case "DRAINING":
		switch gate {
		case "telemetry-ingest", "worker-attach", "worker-telemetry":
			return true
		}
	}
	return false
}

func (s *State) gate(gate string) error {
	if Gate(s.lifecycle.State, gate) {
		return nil
	}
	s.audit(fmt.Sprintf("lifecycle denied action=%s state=%s reason=gate-denied", gate, s.lifecycle.State))
	return errs.New(errs.ErrPermission, "EPERM")
}

// audit appends one line to /log/queen.log. It is the single sink of every
// audit and log line, so it escapes what a writer forgot (auditline.Line):
// one call is one line, whatever its fields held.
func (s *State) audit(line string) {
	if s.peer.Transport != "" && !strings.Contains(line, " transport=") {
		line += s.peer.Fields() // every line a session causes names where it came from
	}
	line = auditline.Line(line)
	if len(line) > s.cfg.LogLineMaxBytes {
		line = line[:s.cfg.LogLineMaxBytes]
	}
	s.log = append(s.log, line)
	s.logTotal++
	s.persist(record{K: "log", N: s.logTotal, Line: line})
	cat, level := traceCat(line)
	s.traceEvent(cat, level, line)
	if over := len(s.log) - s.cfg.LogRingLines; over > 0 {
		s.log = s.log[over:] // see traceEvent: no copy needed
	}
}

// as makes the lines the command being applied writes name who's peer
// (audit); a session's command calls it first thing, and Apply clears it.
func (s *State) as(who Who) *State {
	s.peer = who.Peer
	return s
}

// auditUnattributed is audit without the requester's transport fields.
func (s *State) auditUnattributed(line string) {
	peer := s.peer
	s.peer = Peer{}
	s.audit(line)
	s.peer = peer
}

func budgetString(b Budget) string {
	var parts []string
	if b.Ticks != nil {
		parts = append(parts, fmt.Sprintf("ticks=%d", *b.Ticks))
	}
	if b.Ops != nil {
		parts = append(parts, fmt.Sprintf("ops=%d", *b.Ops))
	}
	if b.TTLs != nil {
		parts = append(parts, fmt.Sprintf("ttl_s=%d", *b.TTLs))
	}
	if len(parts) == 0 {
		return "unbounded"
	}
	return strings.Join(parts, " ")
}

func u64(v uint64) *uint64 { return &v }

// spawnBudget is a new worker's budget: the spawn line's ops and ttl_s,
// else the `{"budget":...}` default, else the role's manifest default. A
// spawn may not set ticks inside budget (ticks is its own field); ok is
// false for that.
func (s *State) spawnBudget(req *Budget, defOps, defTTLs uint64) (b Budget, ok bool) {
	b = Budget{Ops: s.defBudget.Ops, TTLs: s.defBudget.TTLs}
	if b.Ops == nil {
		b.Ops = u64(defOps)
	}
	if b.TTLs == nil {
		b.TTLs = u64(defTTLs)
	}
	if req == nil {
		return b, true
	}
	if req.Ticks != nil {
		return b, false
	}
	if req.Ops != nil {
		b.Ops = req.Ops
	}
	if req.TTLs != nil {
		b.TTLs = req.TTLs
	}
	return b, true
}

func (s *State) spawn(r CtlCommand, nowMs uint64) Result {
	if err := s.gate("new-work"); err != nil {
		return Result{Err: err}
	}
	switch *r.Spawn {
	case "heartbeat":
		if !heartbeatShape(r) {
			s.audit("spawn outcome=deny reason=invalid-payload")
			return Result{Err: errs.New(errs.ErrInvalid, "invalid payload")}
		}
	case "gpu":
		return s.spawnGPU(r, nowMs)
	default:
		s.audit("spawn outcome=deny reason=invalid-payload")
		return Result{Err: errs.New(errs.ErrInvalid, "invalid payload")}
	}
	if len(s.workers) >= s.cfg.MaxWorkers {
		s.audit(fmt.Sprintf("spawn outcome=deny reason=buffer-full workers=%d max=%d", len(s.workers), s.cfg.MaxWorkers))
		return Result{Err: errs.New(errs.ErrQuota, "buffer full")}
	}
	b, ok := s.spawnBudget(r.Budget, s.cfg.DefaultOps, s.cfg.DefaultTTLs)
	if !ok {
		s.audit("spawn outcome=deny reason=invalid-payload")
		return Result{Err: errs.New(errs.ErrInvalid, "invalid payload")}
	}
	b.Ticks = u64(*r.Ticks)
	id := s.newWorkerID()
	w := &Worker{ID: id, Role: "worker-heartbeat", Budget: b, SpawnedMs: nowMs, Running: true}
	s.addWorker(w)
	s.persistSpawn(w)
	s.audit(fmt.Sprintf("spawn worker=%s role=worker-heartbeat %s", id, budgetString(b)))
	return Result{Worker: id}
}

// newWorkerID takes the next worker id; the counter is persisted so an id
// is never reused across a restart.
func (s *State) newWorkerID() string {
	id := fmt.Sprintf("worker-%d", s.nextWorker)
	s.nextWorker++
	s.persist(record{K: "worker", N: s.nextWorker})
	return id
}

func (s *State) kill(id string) Result {
	w, ok := s.workers[id]
	if !ok {
		s.audit(fmt.Sprintf("kill outcome=deny worker=%s reason=not-found", id))
		return Result{Err: errs.New(errs.ErrNotFound, "worker %s not found", id)}
	}
	s.removeWorker(id)
	s.persist(record{K: "kill", ID: id})
	s.audit(fmt.Sprintf("kill worker=%s ticks=%d revoked=true", w.ID, w.Ticks))
	s.revoked = append(s.revoked, Revocation{Worker: id, Reason: "kill"})
	s.gpuWorkerKilled(id)
	return Result{Worker: id}
}

func (s *State) telemetry(c TelemetryAppend, nowMs uint64) Result {
	if err := s.rootCut(c.Who); err != nil {
		return Result{Err: err}
	}
	w, ok := s.workers[c.Worker]
	if !ok {
		return Result{Err: errs.New(errs.ErrNotFound, "worker %s not found", c.Worker)}
	}
	if c.Who.Role != "queen" && (c.Who.Subject != c.Worker) {
		s.audit(fmt.Sprintf("telemetry outcome=deny role=%s subject=%s worker=%s", c.Who.Role, auditline.Field(c.Who.Subject), auditline.Field(c.Worker)))
		return Result{Err: errs.New(errs.ErrPermission, "access to /worker/%s/telemetry denied", c.Worker)}
	}
	if err := s.gate("worker-telemetry"); err != nil {
		return Result{Err: err}
	}
	if c.Who.Role != "queen" {
		if !w.Running {
			return Result{Err: errs.New(errs.ErrClosed, "worker %s revoked: %s", w.ID, w.ExitReason)}
		}
		w.Ops++
		s.touch(w)
		if w.Budget.Ops != nil && w.Ops >= *w.Budget.Ops {
			s.exit(w, "ops")
		}
	}
	data := c.Data
	if s.cbor() {
		// cbor-v1 (DECISIONS P28): one well-formed telemetry-frame/v1 per
		// append, about the worker whose ring it is; plain appends are
		// refused as the spec's InvalidPayload.
		f, err := tframe.Decode(data)
		if err == nil && f.WorkerID != c.Worker {
			err = fmt.Errorf("worker_id %q is not %s", f.WorkerID, c.Worker)
		}
		if err != nil {
			s.audit(fmt.Sprintf("telemetry frame reject worker=%s bytes=%d reason=invalid-frame", c.Worker, len(data)))
			return Result{Err: errs.New(errs.ErrInvalid, "invalid payload")}
		}
	} else if len(data) == 0 || data[len(data)-1] != '\n' {
		data = append(slices.Clone(data), '\n')
	}
	if err := s.appendRing(w, data, nowMs); err != nil {
		return Result{Err: err}
	}
	return Result{Offset: w.Ring.End(), Written: len(c.Data)}
}

func (s *State) appendRing(w *Worker, rec []byte, nowMs uint64) error {
	limit := s.cfg.RingBytesPerWorker
	if len(rec) > limit {
		s.audit(fmt.Sprintf("telemetry quota reject bytes=%d quota=%d", len(rec), limit))
		return errs.New(errs.ErrQuota, "buffer full")
	}
	data := w.Ring.Data
	if over := len(data) + len(rec) - limit; over > 0 {
		// Drop whole records so readers never see half a line or frame.
		cut := over
		if s.cbor() {
			cut = frameCut(data, over)
		} else if i := bytes.IndexByte(data[over-1:], '\n'); i >= 0 && over+i <= len(data) {
			cut = over + i
		}
		data = data[cut:]
		w.Ring.Base += uint64(cut)
		s.ringWrapped(w, cut, nowMs) // summarised per interval (wraps.go)
	}
	// Append in place: snapshots hold clipped slices that end at or before
	// len(data) (published), and only this goroutine appends, so the bytes
	// written past len(data) are in no published view. A full array is
	// replaced by one twice the ring, so a heartbeat costs its own bytes,
	// not a copy of the ring (issue 15: the copy was most of the hive's
	// garbage at 1,000 ticking workers).
	if cap(data)-len(data) < len(rec) {
		grown := make([]byte, len(data), 2*limit)
		copy(grown, data)
		data = grown
	}
	data = append(data, rec...)
	w.Ring.Data = data
	s.touch(w)
	return nil
}

func (s *State) cbor() bool { return s.cfg.FrameSchema == tframe.FrameSchemaCBOR }

// frameCut returns the first frame boundary at or after over in ring, the
// retained frames back to back (each was validated when appended); the
// whole ring if none.
func frameCut(ring []byte, over int) int {
	off := 0
	for off < over && off < len(ring) {
		_, n, err := tframe.DecodeFirst(ring[off:])
		if err != nil {
			return len(ring)
		}
		off += n
	}
	return off
}

func (s *State) exit(w *Worker, reason string) {
	w.Running = false
	w.ExitReason = reason
	s.touch(w)
	s.persist(record{K: "exit", ID: w.ID, Reason: reason, Ticks: w.Ticks, Ops: w.Ops})
	s.audit(fmt.Sprintf("worker %s budget exhausted reason=%s revoked=true", w.ID, reason))
	s.revoked = append(s.revoked, Revocation{Worker: w.ID, Reason: reason})
}

// tickRecord appends a heartbeat's JSON line, {"tick":N,"ts_ms":T}, to b.
func tickRecord(b []byte, tick, tsMs uint64) []byte {
	b = append(b, `{"tick":`...)
	b = strconv.AppendUint(b, tick, 10)
	b = append(b, `,"ts_ms":`...)
	b = strconv.AppendUint(b, tsMs, 10)
	return append(b, "}\n"...)
}

func (s *State) tick(nowMs uint64) {
	for _, id := range s.order {
		w := s.workers[id]
		if !w.Running || w.Role == "worker-gpu" { // leases expire in gpuTick
			continue
		}
		if w.Budget.TTLs != nil && nowMs >= w.SpawnedMs+*w.Budget.TTLs*1000 {
			s.exit(w, "ttl")
			continue
		}
		if w.Budget.Ticks != nil && w.Ticks >= *w.Budget.Ticks {
			s.exit(w, "ticks")
			continue
		}
		w.Ticks++
		s.touch(w)
		rec := tickRecord(s.tickBuf[:0], w.Ticks, w.Ticks*s.cfg.HeartbeatIntervalMs)
		s.tickBuf = rec // appendRing copies the record: the buffer is reused
		if s.cbor() {
			ts := w.Ticks * s.cfg.HeartbeatIntervalMs // logical time (DECISIONS P4)
			rec = tframe.Encode(tframe.Frame{WorkerID: w.ID, Role: w.Role, Seq: w.Ticks, EmittedMs: ts, Payload: map[string]any{"tick": w.Ticks, "ts_ms": ts}})
		}
		_ = s.appendRing(w, rec, nowMs) // a heartbeat always fits a manifest-valid ring
		if w.Budget.Ticks != nil && w.Ticks >= *w.Budget.Ticks {
			s.exit(w, "ticks")
		}
	}
}

// Snapshot is an immutable view of the authority state.
type Snapshot struct {
	Seq       uint64
	NowMs     uint64
	BootMs    uint64
	workers   workerList // spawn order (Workers, Worker; workerlist.go)
	removed   removals   // the last workers that left, for ChangedSince
	Log       []string   // retained /log/queen.log lines, oldest first
	LogTotal  uint64
	Lifecycle Lifecycle
	Ingest    *IngestView // /queen/telemetry (ingest.go)
	GPU       *GPUView    // /gpu (gpu.go)
	Gov       Gov         // sessions, root, policy, audit (govern.go)
	Trace     TraceView   // /trace and /kmesg (trace.go)
	Peers     []PeerView  // keys blocked at the last change, by key (/proc/peers)
	CAS       *CASView    // /updates and /models (cas.go); nil until the first CAS change
}

// byID returns the first element of xs whose id (idOf) is id.
func byID[T any](xs []T, id string, idOf func(T) string) (T, bool) {
	for _, x := range xs {
		if idOf(x) == id {
			return x, true
		}
	}
	var zero T
	return zero, false
}

// countFunc counts the elements of seq that f accepts.
func countFunc[T any](seq iter.Seq[T], f func(T) bool) int {
	n := 0
	for x := range seq {
		if f(x) {
			n++
		}
	}
	return n
}

// snapshot copies the state into an immutable value.
func (s *State) snapshot(seq, nowMs uint64) *Snapshot {
	sn := &Snapshot{Seq: seq, NowMs: nowMs, BootMs: s.bootMs, Log: slices.Clip(s.log), LogTotal: s.logTotal, Lifecycle: s.lifecycle, Ingest: s.ingest.view, GPU: s.gpu.view}
	sn.Gov = s.govSnapshot()
	sn.CAS = s.cas.view
	sn.Trace = s.traceView()
	sn.Peers = s.peerView(nowMs)
	sn.workers = s.publishWorkers(seq)
	sn.removed = s.wt.removed
	return sn
}
