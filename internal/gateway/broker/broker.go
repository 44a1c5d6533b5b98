// Package broker is hive-gateway's bounded, fair scheduler of upstream calls
// (milestones 25b, 25f; DECISIONS P47). Every call the gateway makes to the
// hive goes through Broker.Do in one of two classes: Control (ls, cat, tail,
// echo, meta) is served ahead of Telemetry (pushes, pulls, SSE follow polls),
// but only up to Config.ControlWeight control calls per telemetry call while
// both wait, so telemetry is never starved. Within a class, calls are served
// round robin across keys (the ticket hash), each key's calls in order, so one
// flooding ticket cannot starve another. Queues are bounded: a full class
// refuses at once with ErrOverflow (HTTP 429) instead of making the caller
// wait, and every call has a deadline covering its queue wait and its run
// (ErrDeadline, HTTP 504).
package broker

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cohesix/cohesix/generated"
)

// Class is the priority class of a call.
type Class int

const (
	// Control is operator traffic: ls, cat, tail, echo, meta. Served first.
	Control Class = iota
	// Telemetry is bulk traffic: telemetry push and pull, SSE follow polls.
	Telemetry
)

// numClasses sizes the per-class arrays.
const numClasses = 2

// String is the class's name in metrics labels and JSON.
func (c Class) String() string {
	switch c {
	case Control:
		return "control"
	case Telemetry:
		return "telemetry"
	}
	return "unknown"
}

// Errors Do returns instead of fn's result. The gateway maps them to HTTP.
var (
	// ErrOverflow: the class's queue is full; the call was not queued (429).
	ErrOverflow = errors.New("broker: queue full")
	// ErrDeadline: the deadline passed before fn returned (504).
	ErrDeadline = errors.New("broker: deadline passed")
	// ErrClosed: the broker is closed; the call did not run.
	ErrClosed = errors.New("broker: closed")
	// ErrClass: Do was given a class that is neither Control nor Telemetry.
	ErrClass = errors.New("broker: unknown class")
	// errPanicked marks a call whose fn panicked (counted as failed).
	errPanicked = errors.New("broker: call panicked")
)

// Config bounds a Broker. A zero or negative field takes its manifest
// default (DefaultConfig), so Config{} is the manifest's broker.
type Config struct {
	ControlQueue   int           // most control calls waiting at once
	TelemetryQueue int           // most telemetry calls waiting at once
	Workers        int           // calls running at once
	ControlWeight  int           // control calls served per telemetry call while both wait
	Deadline       time.Duration // from admission to fn's return
}

// DefaultConfig is the manifest's [gateway.broker] section.
func DefaultConfig() Config {
	return Config{
		ControlQueue:   generated.GatewayBrokerControlQueue,
		TelemetryQueue: generated.GatewayBrokerTelemetryQueue,
		Workers:        generated.GatewayBrokerWorkers,
		ControlWeight:  generated.GatewayBrokerControlWeight,
		Deadline:       time.Duration(generated.GatewayBrokerDeadlineMs) * time.Millisecond,
	}
}

// withDefaults fills every unset field from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	pick := func(v, def int) int {
		if v > 0 {
			return v
		}
		return def
	}
	c.ControlQueue = pick(c.ControlQueue, d.ControlQueue)
	c.TelemetryQueue = pick(c.TelemetryQueue, d.TelemetryQueue)
	c.Workers = pick(c.Workers, d.Workers)
	c.ControlWeight = pick(c.ControlWeight, d.ControlWeight)
	if c.Deadline <= 0 {
		c.Deadline = d.Deadline
	}
	return c
}

// call states, guarded by Broker.mu.
const (
	stateQueued = iota
	stateRunning
	stateAbandoned // left its queue unrun: its Do gave up, or Close refused it
)

// call is one Do waiting for or holding a worker.
type call struct {
	class    Class
	key      string
	ctx      context.Context // carries the deadline; cancelled when Do returns
	fn       func(context.Context) error
	state    int           // guarded by Broker.mu
	err      error         // fn's result; written before done closes
	panicked any           // fn's panic value, if it panicked; written before done closes
	done     chan struct{} // closed by the worker after fn returns
}

// Broker schedules calls; see the package doc. Its methods are safe for
// concurrent use.
type Broker struct {
	cfg   Config
	mu    sync.Mutex
	ready *sync.Cond // signalled when a call is queued or the broker closes

	// Guarded by mu.
	classes    [numClasses]classQueue
	controlRun int // control calls served in a row while telemetry waited
	closed     bool
	service    serviceTime

	workers sync.WaitGroup
}

// New starts a Broker with cfg's Workers goroutines. Close stops them.
func New(cfg Config) *Broker {
	b := &Broker{cfg: cfg.withDefaults()}
	b.ready = sync.NewCond(&b.mu)
	b.classes[Control].init(b.cfg.ControlQueue)
	b.classes[Telemetry].init(b.cfg.TelemetryQueue)
	b.workers.Add(b.cfg.Workers)
	for range b.cfg.Workers {
		go b.work()
	}
	return b
}

// Config returns the broker's effective bounds (defaults filled in).
func (b *Broker) Config() Config { return b.cfg }

// Do runs fn on a worker once class's turn comes and returns fn's error.
// It never blocks to queue: a full class queue returns ErrOverflow at once.
// The deadline is ctx's or Config.Deadline from now, whichever is sooner,
// and covers the wait in the queue and fn: when it passes first, fn's
// context is cancelled and Do returns ErrDeadline without waiting for fn.
// When ctx is cancelled first (the HTTP client went away), Do returns
// ctx's error. So fn may still be running after Do returns an error; it
// must hand its results to the caller only through what the caller reads
// after a nil error (never write to an http.ResponseWriter from fn).
func (b *Broker) Do(ctx context.Context, class Class, key string, fn func(context.Context) error) error {
	if class != Control && class != Telemetry {
		return ErrClass
	}
	if err := ctx.Err(); err != nil {
		return err // the caller is gone already: queue nothing, count nothing
	}
	callCtx, cancel := context.WithTimeout(ctx, b.cfg.Deadline)
	defer cancel()
	c := &call{class: class, key: key, ctx: callCtx, fn: fn, done: make(chan struct{})}
	if err := b.admit(c); err != nil {
		return err
	}
	select {
	case <-c.done:
		err := b.finish(c, ctx, callCtx)
		if c.panicked != nil {
			// fn's panic belongs to the caller's goroutine, where net/http
			// recovers it for this request alone; on a worker it would end
			// the gateway.
			panic(c.panicked)
		}
		return err
	case <-callCtx.Done():
		return b.abandon(c, ctx)
	}
}

// admit queues c, or refuses it when the broker is closed or c's class is full.
func (b *Broker) admit(c *call) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := &b.classes[c.class]
	if b.closed {
		q.stats.Closed++
		return ErrClosed
	}
	if q.depth >= q.capacity {
		q.stats.Overflow++
		return ErrOverflow
	}
	q.push(c)
	q.stats.Admitted++
	b.ready.Signal()
	return nil
}

// finish reports a call whose fn returned, or that Close refused.
func (b *Broker) finish(c *call, ctx, callCtx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := &b.classes[c.class]
	switch {
	case c.err == nil:
		q.stats.Completed++ // a success is a success, even at the wire
		return nil
	case c.state == stateAbandoned:
		return ErrClosed // Close refused it while queued, and counted it
	case callCtx.Err() != nil:
		return q.late(ctx) // fn gave up only because its context ended
	}
	q.stats.Completed++
	q.stats.Failed++
	return c.err
}

// abandon reports a call whose deadline passed or whose caller went away
// before fn returned. A call still queued leaves its queue at once, so it
// holds no place in the bound and no worker ever runs it.
func (b *Broker) abandon(c *call, ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := &b.classes[c.class]
	switch c.state {
	case stateQueued:
		q.remove(c)
		c.state = stateAbandoned
	case stateAbandoned:
		return ErrClosed // Close refused it first, and counted it
	}
	return q.late(ctx)
}

// work is one worker: it takes the next call by the scheduling rule, runs
// it, and repeats until Close.
func (b *Broker) work() {
	defer b.workers.Done()
	for {
		c := b.next()
		if c == nil {
			return
		}
		start := time.Now()
		panicked, err := run(c)
		elapsed := time.Since(start)
		b.mu.Lock()
		c.err, c.panicked = err, panicked
		b.classes[c.class].running--
		b.service.observe(elapsed)
		b.mu.Unlock()
		close(c.done)
	}
}

// run calls c's fn, recovering a panic so the worker lives on; Do
// re-panics with it in the caller's goroutine.
func run(c *call) (panicked any, err error) {
	defer func() {
		if r := recover(); r != nil {
			panicked, err = r, errPanicked
		}
	}()
	return nil, c.fn(c.ctx)
}

// next blocks until a call is due and marks it running, or returns nil
// once the broker is closed.
func (b *Broker) next() *call {
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		if b.closed {
			return nil
		}
		if c := b.pick(); c != nil {
			c.state = stateRunning
			b.classes[c.class].running++
			return c
		}
		b.ready.Wait()
	}
}

// pick applies the scheduling rule (DECISIONS P47): control first, but at
// most ControlWeight control calls in a row while telemetry waits; within
// a class, round robin over keys. Telemetry never holds every worker (see
// telemetrySlots). Called with mu held.
func (b *Broker) pick() *call {
	ctl, tel := &b.classes[Control], &b.classes[Telemetry]
	telReady := tel.depth > 0 && tel.running < b.telemetrySlots()
	switch {
	case ctl.depth > 0 && (!telReady || b.controlRun < b.cfg.ControlWeight):
		if telReady {
			b.controlRun++
		} else {
			b.controlRun = 0 // no telemetry call could go instead: nothing to weigh
		}
		return ctl.pop()
	case telReady:
		b.controlRun = 0
		return tel.pop()
	}
	return nil
}

// telemetrySlots is how many telemetry calls may run at once: all workers
// but one, so a control call that arrives during a telemetry flood finds a
// worker free or freed by the next control call, never only slow pushes
// ahead of it (the control p99 under a flood). A single worker
// cannot be split.
func (b *Broker) telemetrySlots() int { return max(b.cfg.Workers-1, 1) }

// Close refuses new calls and every queued call with ErrClosed, lets the
// calls already running finish (their deadlines bound the wait), and
// returns once every worker has stopped. Closing twice is harmless.
func (b *Broker) Close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		for i := range b.classes {
			b.classes[i].refuseAll()
		}
		b.ready.Broadcast()
	}
	b.mu.Unlock()
	b.workers.Wait()
}

// RetryAfter is the wait to advise a refused client (the Retry-After of a
// 429): the time the current backlog takes to drain at the recent mean
// service time, rounded up to whole seconds (the header's unit), at least
// one second and at most the deadline.
func (b *Broker) RetryAfter() time.Duration {
	b.mu.Lock()
	backlog := 0
	for _, q := range b.classes {
		backlog += q.depth + q.running
	}
	mean := b.service.mean()
	b.mu.Unlock()
	wait := mean * time.Duration(backlog) / time.Duration(b.cfg.Workers)
	wait = ((wait + time.Second - 1) / time.Second) * time.Second
	return min(max(wait, time.Second), max(b.cfg.Deadline.Truncate(time.Second), time.Second))
}

// serviceTime is a moving mean of fn's run time, for RetryAfter.
type serviceTime struct {
	meanNs float64
	seen   bool
}

// serviceWeight is how much one new sample moves the mean: recent load
// matters more than load from minutes ago.
const serviceWeight = 0.125

func (s *serviceTime) observe(d time.Duration) {
	if !s.seen {
		s.meanNs, s.seen = float64(d), true
		return
	}
	s.meanNs += serviceWeight * (float64(d) - s.meanNs)
}

func (s *serviceTime) mean() time.Duration { return time.Duration(s.meanNs) }
