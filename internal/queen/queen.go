package queen

import (
	"context"
	"errors"
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

// Queen runs State in one goroutine fed by a bounded inbox.
type Queen struct {
	Pressure Pressure
	Tickets  Tickets // per-ticket scopes and quotas (tickets.go)

	cfg   Config
	clock Clock
	inbox chan request
	snap  atomic.Pointer[Snapshot]
	done  chan struct{}
	state *State // owned by the Run goroutine

	onRevoke atomic.Pointer[func(Revocation)] // OnRevoke's listener

	store     Store         // durable governance records, nil for none (persist.go)
	ingest    ingestStorage // durable telemetry ingest outcomes (ingest_store.go)
	restoring *Restore      // boot records for Run to apply first
	seq       uint64
	batch     []request // the group commit being applied (applyBatch)
	results   []Result  // its results, by position
}

// New returns a queen at boot; call Run to start it.
func New(cfg Config, clock Clock, inboxDepth int) *Queen {
	q := &Queen{cfg: cfg, clock: clock, inbox: make(chan request, inboxDepth), done: make(chan struct{})}
	now := q.nowMs()
	q.state = NewState(cfg, now)
	q.snap.Store(q.state.snapshot(0, now))
	return q
}

func (q *Queen) nowMs() uint64 { return uint64(q.clock.Now().UnixMilli()) }

// Snapshot returns the latest immutable view; it never waits for writers.
func (q *Queen) Snapshot() *Snapshot { return q.snap.Load() }

// Submit hands c to the authority and waits for its result. It never waits
// for room in the inbox: a full inbox is refused with errs.ErrBusy.
func (q *Queen) Submit(ctx context.Context, c Cmd) (Result, error) {
	return q.SubmitQueued(ctx, c, nil)
}

// SubmitQueued is Submit that calls queued (if not nil) once c is in the
// inbox: commands submitted after that are applied after c.
func (q *Queen) SubmitQueued(ctx context.Context, c Cmd, queued func()) (Result, error) {
	req := request{cmd: c, reply: make(chan Result, 1)}
	select {
	case <-q.done:
		return Result{}, ErrStopped
	default:
	}
	select {
	case q.inbox <- req:
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
	case q.inbox <- req:
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

// Run applies commands in inbox order until ctx ends. ticks drives
// heartbeats; a nil channel means only explicit Tick commands advance them.
func (q *Queen) Run(ctx context.Context, ticks <-chan time.Time) {
	defer close(q.done)
	q.restoreStore() // persist.go
	q.apply(BootComplete{})
	for {
		select {
		case <-ctx.Done():
			return
		case req := <-q.inbox:
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

// applyBatch is group commit: it applies first and the requests already
// waiting behind it (Config.FsyncBatchMax in all, without waiting for
// more), in inbox order, writes all their durable records with one store
// write (one fsync), then publishes one snapshot and replies to each.
// Nothing is acknowledged before it is durable; a failed write refuses
// the whole batch.
func (q *Queen) applyBatch(first request) {
	q.batch = append(q.batch[:0], first)
	for len(q.batch) < q.cfg.FsyncBatchMax {
		select {
		case r := <-q.inbox:
			q.batch = append(q.batch, r)
			continue
		default:
		}
		break
	}
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
