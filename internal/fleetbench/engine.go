package fleetbench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cohesix/cohesix/internal/nineclient"
)

// Budget is what a spawned worker may spend: the hive's own heartbeats
// (Ticks), its appends (Ops) and its lifetime (TTLs).
type Budget struct {
	Ticks, Ops, TTLs uint64
}

// Hive is what a run needs of the hive. NineHive is the real one.
type Hive interface {
	// Spawn asks /queen/ctl for one heartbeat worker.
	Spawn(ctx context.Context, b Budget) error
	// Workers lists /worker.
	Workers(ctx context.Context) ([]string, error)
	// Attach opens a session as worker id that appends in mode.
	Attach(ctx context.Context, id string, mode Mode) (Session, error)
	// Probe runs one operator console read.
	Probe(ctx context.Context) error
	// TelemetrySize is the end offset of worker id's telemetry.
	TelemetrySize(id string) (uint64, error)
	// TelemetryRead reads worker id's telemetry from off to its end.
	TelemetryRead(id string, off uint64) ([]byte, error)
	// Kill ends worker id.
	Kill(ctx context.Context, id string) error
	// Schema is the frame schema heartbeats are written in.
	Schema() string
}

// Session is one attached worker.
type Session interface {
	Append(rec []byte) error
	Close() error
}

// StepReport is one step's figures, the --json and --csv row shape.
type StepReport struct {
	Workers       int      `json:"workers"`
	Seconds       float64  `json:"seconds"`
	Appends       int      `json:"appends"`
	Errors        Errors   `json:"errors"`
	Skipped       int      `json:"skipped"`
	Retries       int      `json:"retries"` // resends after a refusal (EBUSY, EAGAIN)
	AppendP50Ms   float64  `json:"append_p50_ms"`
	AppendP99Ms   float64  `json:"append_p99_ms"`
	AppendMaxMs   float64  `json:"append_max_ms"`
	Probes        int      `json:"console_probes"`
	ProbeErrors   Errors   `json:"console_errors"`
	ConsoleP50Ms  float64  `json:"console_p50_ms"`
	ConsoleP99Ms  float64  `json:"console_p99_ms"`
	HiveCPUCores  *float64 `json:"hive_cpu_cores"` // nil: not local
	HiveRSSMiB    *float64 `json:"hive_rss_mib"`
	LoadAvg       string   `json:"loadavg"` // /proc/loadavg's first three fields at the step's end
	SpawnSeconds  float64  `json:"spawn_seconds"`
	AttachSeconds float64  `json:"attach_seconds"`
	Interrupted   bool     `json:"interrupted,omitempty"`
	p99           time.Duration
}

// ServerReport compares what the hive received with what the harness saw
// acknowledged.
type ServerReport struct {
	Checked    int    `json:"workers_checked"`
	Received   int    `json:"heartbeats_received"` // counted from the rings (legacy-plaintext)
	Acked      int    `json:"heartbeats_acked"`    // successful appends the harness saw
	Mismatched int    `json:"workers_mismatched"`  // workers whose two counts differ
	Unchecked  string `json:"unchecked,omitempty"` // why some or all workers were not checked
}

// Report is a whole run, the --json shape.
type Report struct {
	Mode          Mode          `json:"mode"`
	Seed          int64         `json:"seed"`
	DurationS     float64       `json:"duration_s"`
	IntervalMs    float64       `json:"interval_ms"`
	RecordBytes   int           `json:"record_bytes"`
	HivePID       int           `json:"hive_pid,omitempty"`
	KneeMs        float64       `json:"p99_knee_ms"`
	Steps         []StepReport  `json:"steps"`
	Knee          *int          `json:"knee_workers"` // nil: no step passed the threshold
	Errors        Errors        `json:"errors"`       // all appends, setup phases included
	SetupErrors   Errors        `json:"setup_errors"` // appends while a step was spawning
	Server        *ServerReport `json:"server"`
	Workers       []string      `json:"workers"` // the workers this run spawned
	Killed        int           `json:"killed"`
	Kept          bool          `json:"kept"`
	Refused       string        `json:"refused,omitempty"` // the hive's refusal that ended the run
	Failed        string        `json:"failed,omitempty"`  // any other failure that ended it
	Interrupted   bool          `json:"interrupted"`
	CleanupErrors []string      `json:"cleanup_errors,omitempty"`
}

// worker is one spawned and attached worker.
type worker struct {
	id    string
	sess  Session
	acked atomic.Int64
}

// Run runs cfg against h: per step it spawns and attaches the workers
// the step adds, loads all of them for cfg.Duration while it probes the
// console, and records the step. It stops at the last step, the first
// refusal or ctx's end, always returning a report of what it measured;
// then it counts what the hive received and, unless cfg.Keep, kills the
// workers it spawned. The error is the refusal or failure that ended the
// run early (also in the report); an interrupt is not an error.
func Run(ctx context.Context, h Hive, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Report{Mode: cfg.Mode, Seed: cfg.Seed, DurationS: cfg.Duration.Seconds(), IntervalMs: ms(cfg.Interval),
		RecordBytes: cfg.RecordBytes, HivePID: cfg.HivePID, KneeMs: ms(cfg.Knee), Workers: []string{}, Steps: []StepReport{}}
	e := &engine{h: h, cfg: cfg, r: r, setup: &collector{}, rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0))}
	e.cur.Store(e.setup)
	e.start = time.Now()
	loadCtx, stopLoad := context.WithCancel(context.Background())
	var probes sync.WaitGroup
	probes.Add(1)
	go func() { defer probes.Done(); e.probeLoop(loadCtx) }()
	stopProgress := e.progressLoop()
	runErr := e.steps(ctx, loadCtx)
	r.Interrupted = ctx.Err() != nil
	stopLoad()
	probes.Wait()
	e.waitWorkers()
	e.finish()
	e.phase.Store("verify")
	e.verify()
	e.phase.Store("cleanup")
	e.cleanup()
	stopProgress()
	return r, runErr
}

type engine struct {
	h     Hive
	cfg   Config
	r     *Report
	rng   *rand.Rand // phases, in spawn order
	start time.Time

	cur     atomic.Pointer[collector] // where samples go now
	setup   *collector                // samples outside measured windows
	workers []*worker
	load    sync.WaitGroup
	ours    map[string]bool
	before  map[string]bool // workers that existed before the run

	phase  atomic.Value // string, for Progress
	stepNo atomic.Int64
	stepT0 atomic.Int64 // UnixNano of the step's measured start, 0 outside
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// steps runs the steps until the last, a refusal or ctx's end.
func (e *engine) steps(ctx, loadCtx context.Context) error {
	ids, err := e.h.Workers(ctx)
	if err != nil {
		return e.failf("list /worker: %v", err)
	}
	e.before, e.ours = map[string]bool{}, map[string]bool{}
	for _, id := range ids {
		e.before[id] = true
	}
	for i, n := range e.cfg.Steps {
		e.stepNo.Store(int64(i + 1))
		step := StepReport{Workers: n}
		t0 := time.Now()
		e.phase.Store("spawn")
		if err := e.grow(ctx, n-len(e.workers)); err != nil {
			return err
		}
		step.SpawnSeconds = time.Since(t0).Seconds()
		t1 := time.Now()
		e.phase.Store("attach")
		if err := e.attach(ctx, loadCtx); err != nil {
			return err
		}
		step.AttachSeconds = time.Since(t1).Seconds()
		if ctx.Err() != nil {
			return nil
		}
		e.phase.Store("load")
		e.measure(ctx, &step)
		e.r.Steps = append(e.r.Steps, step)
		if step.Interrupted {
			return nil
		}
	}
	return nil
}

func (e *engine) failf(format string, a ...any) error {
	e.r.Failed = fmt.Sprintf(format, a...)
	return errors.New(e.r.Failed)
}

// budget is a spawned worker's: its lifetime covers the whole planned
// run four times over (spawning and attaching take time too), plus ten
// minutes; its appends twice the heartbeats of that lifetime.
func (e *engine) budget() Budget {
	total := time.Duration(len(e.cfg.Steps))*e.cfg.Duration*4 + 10*time.Minute
	ttl := uint64(total / time.Second)
	return Budget{TTLs: ttl, Ticks: ttl * 1000, Ops: 2*uint64(total/e.cfg.Interval) + 100}
}

// grow spawns k workers, then finds their ids in /worker.
func (e *engine) grow(ctx context.Context, k int) error {
	b := e.budget()
	done := 0
	for ; done < k && ctx.Err() == nil; done++ {
		if err := e.h.Spawn(ctx, b); err != nil {
			if ctx.Err() != nil {
				break
			}
			e.r.Refused = fmt.Sprintf("hive refused spawn %d: %v", len(e.workers)+done+1, err)
			if e.cfg.RefusalHint != nil {
				if h := e.cfg.RefusalHint(err); h != "" {
					e.r.Refused += " (" + h + ")"
				}
			}
			// Adopt the ones spawned so far, so that they are cleaned up.
			if aerr := e.adopt(ctx, done); aerr != nil {
				return aerr
			}
			return errors.New(e.r.Refused)
		}
	}
	return e.adopt(context.WithoutCancel(ctx), done)
}

// adopt takes the k newest workers in /worker that are not ours and did
// not exist before the run.
func (e *engine) adopt(ctx context.Context, k int) error {
	if k == 0 {
		return nil
	}
	ids, err := e.h.Workers(ctx)
	if err != nil {
		return e.failf("list /worker after spawning: %v", err)
	}
	var fresh []string
	for _, id := range ids {
		if !e.before[id] && !e.ours[id] {
			fresh = append(fresh, id)
		}
	}
	slices.SortFunc(fresh, byWorkerNumber)
	if len(fresh) < k {
		return e.failf("spawned %d workers but /worker lists %d new ones", k, len(fresh))
	}
	// Someone else may spawn meanwhile: ours are the first k new ids.
	for _, id := range fresh[:k] {
		e.ours[id] = true
		e.r.Workers = append(e.r.Workers, id)
		e.workers = append(e.workers, &worker{id: id})
	}
	return nil
}

// byWorkerNumber orders worker-N ids by N, others after them by name.
func byWorkerNumber(a, b string) int {
	na, ea := strconv.Atoi(strings.TrimPrefix(a, "worker-"))
	nb, eb := strconv.Atoi(strings.TrimPrefix(b, "worker-"))
	switch {
	case ea == nil && eb == nil:
		return na - nb
	case ea == nil:
		return -1
	case eb == nil:
		return 1
	}
	return strings.Compare(a, b)
}

// attach opens a session for every worker without one, cfg.Concurrency
// at a time, and starts its heartbeats.
func (e *engine) attach(ctx, loadCtx context.Context) error {
	var todo []*worker
	for _, w := range e.workers {
		if w.sess == nil {
			todo = append(todo, w)
		}
	}
	// Phases are drawn in spawn order, so a seed gives the same schedule.
	phases := make([]time.Duration, len(todo))
	for i := range phases {
		phases[i] = time.Duration(e.rng.Int64N(int64(e.cfg.Interval)))
	}
	var mu sync.Mutex
	var first error
	sem := make(chan struct{}, e.cfg.Concurrency)
	var wg sync.WaitGroup
	for i, w := range todo {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			s, err := e.h.Attach(ctx, w.id, e.cfg.Mode)
			if err != nil {
				mu.Lock()
				if first == nil && ctx.Err() == nil {
					first = fmt.Errorf("attach as %s: %v", w.id, err)
				}
				mu.Unlock()
				return
			}
			mu.Lock()
			w.sess = s
			mu.Unlock()
			e.load.Add(1)
			go func() { defer e.load.Done(); e.heartbeats(loadCtx, w, phases[i]) }()
		}()
	}
	wg.Wait()
	if first != nil {
		return e.failf("%v", first)
	}
	return nil
}

// heartbeats appends one record per interval until ctx ends. A heartbeat
// due while the one before is still in flight is skipped, not queued.
func (e *engine) heartbeats(ctx context.Context, w *worker, phase time.Duration) {
	pad := rand.New(rand.NewPCG(uint64(e.cfg.Seed), uint64(len(w.id))<<32|uint64(phase)))
	next := time.Now().Add(phase)
	t := time.NewTimer(time.Until(next))
	defer t.Stop()
	for seq := uint64(1); ; seq++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c := e.cur.Load()
		rec := Record(e.h.Schema(), w.id, seq, e.cfg.RecordBytes, pad)
		t0 := time.Now()
		err := e.appendRetrying(ctx, w, rec, c)
		d := time.Since(t0)
		if err == nil {
			w.acked.Add(1)
		}
		if d > e.cfg.OpTimeout {
			err = fmt.Errorf("%w: %v (%v)", errTimeout, d, err)
		}
		c.append(d, err)
		next = next.Add(e.cfg.Interval)
		for now := time.Now(); next.Before(now); next = next.Add(e.cfg.Interval) {
			c.skip()
		}
		t.Reset(time.Until(next))
	}
}

// appendRetrying appends rec and, while the hive refuses it for now
// (EBUSY, EAGAIN: a reply, so nothing was applied and a resend cannot
// duplicate it), sends it again after cfg.Retry's capped back-off, at
// most cfg.Retry.MaxAttempts times in all. A drop or a timeout is not
// resent: the hive may hold the record, and verify counts it.
func (e *engine) appendRetrying(ctx context.Context, w *worker, rec []byte, c *collector) error {
	wait := e.cfg.Retry.Backoff
	for attempt := 1; ; attempt++ {
		err := w.sess.Append(rec)
		if err == nil || !nineclient.IsBusy(err) || attempt >= e.cfg.Retry.MaxAttempts {
			return err
		}
		c.retry()
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, e.cfg.Retry.Ceiling)
	}
}

// probeLoop reads the console every ProbeInterval until ctx ends.
func (e *engine) probeLoop(ctx context.Context) {
	t := time.NewTicker(e.cfg.ProbeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c := e.cur.Load()
		pctx, cancel := context.WithTimeout(ctx, e.cfg.OpTimeout)
		t0 := time.Now()
		err := e.h.Probe(pctx)
		d := time.Since(t0)
		cancel()
		if ctx.Err() != nil {
			return // the run ended under it
		}
		if err == nil && d > e.cfg.OpTimeout {
			err = errTimeout
		}
		c.probe(d, err)
	}
}

// measure loads the step for cfg.Duration (or until ctx ends) and fills
// in its figures.
func (e *engine) measure(ctx context.Context, step *StepReport) {
	c := &collector{}
	cpu0, _ := readCPU(e.cfg.HivePID)
	t0 := time.Now()
	e.stepT0.Store(t0.UnixNano())
	e.cur.Store(c)
	select {
	case <-ctx.Done():
		step.Interrupted = true
	case <-time.After(e.cfg.Duration):
	}
	e.cur.Store(e.setup)
	e.stepT0.Store(0)
	wall := time.Since(t0)
	step.Seconds = wall.Seconds()
	if cpu1, err := readCPU(e.cfg.HivePID); err == nil && e.cfg.HivePID > 0 {
		v := (cpu1 - cpu0).Seconds() / wall.Seconds()
		step.HiveCPUCores = &v
	}
	if rss, err := readRSS(e.cfg.HivePID); err == nil && e.cfg.HivePID > 0 {
		v := float64(rss) / (1 << 20)
		step.HiveRSSMiB = &v
	}
	step.LoadAvg = loadAvg()
	// In-flight appends of this window still land in c; they are counted
	// when the next step's (or the run's) figures are read.
	c.mu.Lock()
	defer c.mu.Unlock()
	a, p := Summarize(c.appends), Summarize(c.probes)
	step.Appends, step.Errors, step.Skipped, step.Retries = a.N, c.errs, c.skipped, c.retries
	step.AppendP50Ms, step.AppendP99Ms, step.AppendMaxMs, step.p99 = ms(a.P50), ms(a.P99), ms(a.Max), a.P99
	step.Probes, step.ProbeErrors = p.N, c.probeErr
	step.ConsoleP50Ms, step.ConsoleP99Ms = ms(p.P50), ms(p.P99)
	e.r.Errors = e.r.Errors.Plus(c.errs)
}

// waitWorkers waits for in-flight appends, at most OpTimeout, then closes
// the sessions to end any that are stuck (they count as timeouts).
func (e *engine) waitWorkers() {
	done := make(chan struct{})
	go func() { e.load.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(e.cfg.OpTimeout):
	}
	for _, w := range e.workers {
		if w.sess != nil {
			w.sess.Close()
		}
	}
	<-done
}

// finish computes the knee and the setup phases' errors.
func (e *engine) finish() {
	e.setup.mu.Lock()
	e.r.SetupErrors = e.setup.errs
	e.setup.mu.Unlock()
	e.r.Errors = e.r.Errors.Plus(e.r.SetupErrors)
	p99s, counts := make([]time.Duration, len(e.r.Steps)), make([]int, len(e.r.Steps))
	for i, s := range e.r.Steps {
		p99s[i], counts[i] = s.p99, s.Appends
	}
	if k := Knee(p99s, counts, e.cfg.Knee); k >= 0 {
		n := e.r.Steps[k].Workers
		e.r.Knee = &n
	}
}

// verify counts, per worker, the heartbeats the hive's ring received and
// compares them with the appends acknowledged.
func (e *engine) verify() {
	s := &ServerReport{}
	e.r.Server = s
	if e.h.Schema() != "" && e.h.Schema() != "legacy-plaintext" {
		s.Unchecked = "the hive's frames are " + e.h.Schema() + "; the count needs legacy-plaintext"
		return
	}
	var why []string
	for _, w := range e.workers {
		n, err := ServerCount(e.h, w.id, e.cfg.RecordBytes)
		if err != nil {
			why = append(why, w.id+": "+err.Error())
			continue
		}
		s.Checked++
		s.Received += n
		s.Acked += int(w.acked.Load())
		if n != int(w.acked.Load()) {
			s.Mismatched++
		}
	}
	if len(why) > 0 {
		s.Unchecked = fmt.Sprintf("%d workers: %s", len(why), strings.Join(why[:min(len(why), 3)], "; "))
	}
}

// cleanup closes the sessions and, unless Keep, kills the run's workers.
func (e *engine) cleanup() {
	for _, w := range e.workers {
		if w.sess != nil {
			w.sess.Close()
		}
	}
	if e.cfg.Keep {
		e.r.Kept = true
		return
	}
	for _, w := range e.workers {
		ctx, cancel := context.WithTimeout(context.Background(), e.cfg.OpTimeout)
		err := e.h.Kill(ctx, w.id)
		cancel()
		if err != nil {
			if len(e.r.CleanupErrors) < 10 {
				e.r.CleanupErrors = append(e.r.CleanupErrors, fmt.Sprintf("kill %s: %v", w.id, err))
			}
			continue
		}
		e.r.Killed++
	}
}

// progressLoop calls cfg.Progress once a second until the returned stop.
func (e *engine) progressLoop() (stop func()) {
	if e.cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			p := Progress{Step: int(e.stepNo.Load()), Steps: len(e.cfg.Steps), Duration: e.cfg.Duration}
			p.Phase, _ = e.phase.Load().(string)
			if t0 := e.stepT0.Load(); t0 != 0 {
				p.Elapsed = time.Since(time.Unix(0, t0))
			}
			if p.Step > 0 {
				p.Workers = e.cfg.Steps[p.Step-1]
			}
			p.Appends, p.Errors, p.P99 = e.cur.Load().counts()
			e.cfg.Progress(p)
		}
	}()
	return func() { close(done); wg.Wait() }
}
