package queen

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/errs"
)

// ErrStopped is returned by Submit once the queen has stopped.
var ErrStopped = errors.New("queen stopped")

// Clock is the queen's time source; tests pass a fake one.
type Clock interface {
	Now() time.Time
}

// Pressure counts refusals by reason; shown in /proc/pressure/*. Counters
// are atomics because every transport bumps them, but they decide nothing.
type Pressure struct {
	Busy, Quota, Cut, Policy atomic.Uint64
}

// Default returns the queen configuration from the generated manifest tables.
func Default() Config {
	cfg := Config{
		MaxWorkers:          generated.QueenMaxWorkers,
		RingBytesPerWorker:  generated.TelemetryRingBytesPerWorker,
		FrameSchema:         generated.TelemetryFrameSchema,
		LogRingLines:        generated.QueenLogRingLines,
		LogLineMaxBytes:     generated.QueenLogLineMaxBytes,
		FsyncBatchMax:       generated.QueenFsyncBatchMax,
		HeartbeatIntervalMs: generated.QueenHeartbeatIntervalMs,
		DefaultTicks:        generated.QueenHeartbeatDefaultTicks,
		DefaultOps:          generated.QueenHeartbeatDefaultOps,
		DefaultTTLs:         generated.QueenHeartbeatDefaultTtlS,
		InitialState:        generated.LifecycleInitialState,
		Throttle:            DefaultThrottle(),
		Peers:               DefaultPeers(),
		GPUDefaultOps:       generated.QueenGpuDefaultOps,
		GPUDefaultTTLs:      generated.QueenGpuDefaultTtlS,
		Ingest:              DefaultIngest(),
		Gov:                 DefaultGov(),
		CAS:                 DefaultCAS(),
	}
	for _, t := range generated.LifecycleAutoTransitions {
		if t.From == "BOOTING" {
			cfg.AutoOnline = t.To
		}
	}
	return cfg
}

type request struct {
	cmd   Cmd
	reply chan Result
}

// Class is an inbox class (DECISIONS P52): the authority applies waiting
// Control commands ahead of waiting Telemetry ones, so operator control
// never waits behind a telemetry backlog.
type Class uint8

const (
	Control   Class = iota // everything that is not bulk telemetry
	Telemetry              // worker telemetry appends and telemetry ingest
)

func (c Class) String() string {
	if c == Telemetry {
		return "telemetry"
	}
	return "control"
}

// bulk marks the commands of the Telemetry class. A command's class is a
// function of its type alone, so the writes DECISIONS P29 orders (writes
// to one file, one command type) always share a class and keep their
// order.
type bulk interface{ bulk() }

func (TelemetryAppend) bulk() {}
func (IngestCtl) bulk()       {}
func (IngestAppend) bulk()    {}

// ClassOf returns the inbox class of c.
func ClassOf(c Cmd) Class {
	if _, ok := c.(bulk); ok {
		return Telemetry
	}
	return Control
}

// Queen runs State in one goroutine fed by two bounded inboxes, one per
// class (DECISIONS P52).
type Queen struct {
	Pressure Pressure
	Tickets  Tickets // per-ticket scopes and quotas (tickets.go)

	cfg   Config
	clock Clock
	inbox [2]chan request // by Class, each inboxDepth deep
	snap  atomic.Pointer[Snapshot]
	done  chan struct{}
	state *State // owned by the Run goroutine

	onRevoke atomic.Pointer[func(Revocation)] // OnRevoke's listener

	store     Store         // durable governance records, nil for none (persist.go)
	ingest    ingestStorage // durable telemetry ingest outcomes (ingest_store.go)
	restoring *Restore      // boot records for Run to apply first
	seq       uint64
	batch     []request // the group commit being applied (applyBatch)
	owed      bool      // that batch left waiting telemetry out (fsync_batch_max 1)
	results   []Result  // its results, by position
}

// New returns a queen at boot; call Run to start it.
func New(cfg Config, clock Clock, inboxDepth int) *Queen {
	q := &Queen{cfg: cfg, clock: clock, done: make(chan struct{})}
	for i := range q.inbox {
		q.inbox[i] = make(chan request, inboxDepth)
	}
	now := q.nowMs()
	q.state = NewState(cfg, now)
	q.snap.Store(q.state.snapshot(0, now))
	return q
}

func (q *Queen) nowMs() uint64 { return uint64(q.clock.Now().UnixMilli()) }

// Snapshot returns the latest immutable view; it never waits for writers.
func (q *Queen) Snapshot() *Snapshot { return q.snap.Load() }

// Submit hands c to the authority and waits for its result. It never waits
// for room in the inbox: a full inbox (of c's class) is refused with
// errs.ErrBusy.
func (q *Queen) Submit(ctx context.Context, c Cmd) (Result, error) {
	return q.SubmitQueued(ctx, c, nil)
}

// SubmitQueued is Submit that calls queued (if not nil) once c is in the
// inbox: commands of c's class submitted after that are applied after c
// (a command of the other class may pass it; DECISIONS P52).
func (q *Queen) SubmitQueued(ctx context.Context, c Cmd, queued func()) (Result, error) {
	req := request{cmd: c, reply: make(chan Result, 1)}
	select {
	case <-q.done:
		return Result{}, ErrStopped
	default:
	}
	select {
	case q.inbox[ClassOf(c)] <- req:
		if queued != nil {
			queued()
		}
	default:
		q.Pressure.Busy.Add(1)
		return Result{}, errs.New(errs.ErrBusy, "queen inbox full")
	}
	return q.await(ctx, req)
}

// SubmitWait is Submit that waits for room in the inbox instead of
// refusing: for what must not be dropped under load (audit lines, session
// opens and closes; issue 15). It must not be called on the queen's own
// goroutine.
func (q *Queen) SubmitWait(ctx context.Context, c Cmd) (Result, error) {
	req := request{cmd: c, reply: make(chan Result, 1)}
	select {
	case q.inbox[ClassOf(c)] <- req:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	case <-q.done:
		return Result{}, ErrStopped
	}
	return q.await(ctx, req)
}

// await waits for the result of a request in the inbox.
func (q *Queen) await(ctx context.Context, req request) (Result, error) {
	select {
	case r := <-req.reply:
		return r, nil
	case <-ctx.Done():
		return Result{}, ctx.Err()
	case <-q.done:
		return Result{}, ErrStopped
	}
}

// Do is Submit for callers that treat a refusal and a transport failure
// alike: it returns the result's error or the submission error.
func (q *Queen) Do(ctx context.Context, c Cmd) (Result, error) { return q.DoQueued(ctx, c, nil) }

// DoQueued is Do with SubmitQueued's queued.
func (q *Queen) DoQueued(ctx context.Context, c Cmd, queued func()) (Result, error) {
	r, err := q.SubmitQueued(ctx, c, queued)
	if err != nil {
		return r, err
	}
	return r, r.Err
}

// Audit appends lines to /log/queen.log in authority order. A full inbox
// delays the caller rather than losing the lines (SubmitWait).
func (q *Queen) Audit(lines ...string) {
	_, _ = q.SubmitWait(context.Background(), LogAppend{Lines: lines})
}

// Run applies commands until ctx ends: each class in its inbox order,
// waiting Control ahead of waiting Telemetry (applyBatch). ticks drives
// heartbeats; a nil channel means only explicit Tick commands advance them.
func (q *Queen) Run(ctx context.Context, ticks <-chan time.Time) {
	defer close(q.done)
	q.restoreStore() // persist.go
	q.apply(BootComplete{})
	for {
		select { // a flood of commands must not hold back ticks or the end
		case <-ctx.Done():
			return
		case <-ticks:
			q.apply(Tick{})
			continue
		default:
		}
		first := Control // a waiting control command goes first,
		if q.owed {
			first = Telemetry // unless the last batch had no room for waiting telemetry
		}
		select {
		case req := <-q.inbox[first]:
			q.applyBatch(req)
			continue
		default:
		}
		select {
		case <-ctx.Done():
			return
		case req := <-q.inbox[Control]:
			q.applyBatch(req)
		case req := <-q.inbox[Telemetry]:
			q.applyBatch(req)
		case <-ticks:
			q.apply(Tick{})
		}
	}
}

// apply runs one command the loop itself issues (boot, restore, tick) as
// a batch of one.
func (q *Queen) apply(c Cmd) Result {
	r := q.state.Apply(c, q.nowMs())
	if err := q.commit(1); err != nil {
		r = Result{Err: err}
	}
	q.publish(1)
	q.notifyRevoked()
	return r
}

// applyBatch is group commit: it applies first and requests already
// waiting (Config.FsyncBatchMax in all, without waiting for more), writes
// all their durable records with one store write (one fsync), then
// publishes one snapshot and replies to each. Nothing is acknowledged
// before it is durable; a failed write refuses the whole batch.
//
// The batch is filled by the class rule (DECISIONS P52): waiting control
// commands first, then telemetry; while both classes wait, each may take
// at least half the batch (what one leaves unused goes to the other), so
// a control command waits for at most the batch being applied when it
// arrives, and a control flood cannot starve telemetry. Within a class
// the batch keeps inbox order.
func (q *Queen) applyBatch(first request) {
	q.batch = append(q.batch[:0], first)
	limit := q.cfg.FsyncBatchMax
	q.fill(Control, limit-max(limit/2, 1)) // leave half for waiting telemetry
	q.fill(Telemetry, limit)
	q.fill(Control, limit) // what telemetry left unused
	q.owed = !slices.ContainsFunc(q.batch, func(r request) bool { return ClassOf(r.cmd) == Telemetry }) && len(q.inbox[Telemetry]) > 0
	q.results = q.results[:0]
	for _, r := range q.batch {
		q.results = append(q.results, q.state.Apply(r.cmd, q.nowMs()))
	}
	if err := q.commit(len(q.batch)); err != nil {
		for i := range q.results {
			q.results[i] = Result{Err: err}
		}
	}
	q.publish(len(q.batch))
	q.notifyRevoked()
	for i, r := range q.batch {
		r.reply <- q.results[i]
		q.batch[i] = request{} // drop the references until the next batch
	}
	clear(q.results)
}

// fill adds waiting requests of class c to the batch until it holds
// limit, without waiting for more.
func (q *Queen) fill(c Class, limit int) {
	for len(q.batch) < limit {
		select {
		case r := <-q.inbox[c]:
			q.batch = append(q.batch, r)
			continue
		default:
		}
		return
	}
}

// publish stores the snapshot after n applied commands.
func (q *Queen) publish(n int) {
	q.seq += uint64(n)
	q.snap.Store(q.state.snapshot(q.seq, q.nowMs()))
}

// notifyRevoked tells the OnRevoke hook of the workers the last commands
// killed or revoked, once the snapshot without their authority is out.
func (q *Queen) notifyRevoked() {
	if rs := q.state.takeRevoked(); len(rs) > 0 {
		if f := q.onRevoke.Load(); f != nil {
			for _, rv := range rs {
				(*f)(rv)
			}
		}
	}
}

// OnRevoke makes f hear of every worker the authority kills or revokes,
// once the snapshot without its authority is published, so that the
// transports can end the worker's sessions at once instead of at their
// next operation. f runs on the authority's goroutine: it must not block
// and must not submit to the queen.
func (q *Queen) OnRevoke(f func(Revocation)) { q.onRevoke.Store(&f) }

// Config returns the configuration the queen runs with.
func (q *Queen) Config() Config { return q.cfg }
