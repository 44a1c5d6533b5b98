package broker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// waitStats polls until ok holds. It asserts nothing about time: the
// tests' deadline is go test's.
func waitStats(t *testing.T, b *Broker, ok func(Stats) bool) {
	t.Helper()
	for !ok(b.Stats()) {
		time.Sleep(time.Millisecond)
	}
}

// occupy starts one call per worker whose fn holds its worker until
// release is called, and returns once all of them run: every call made
// afterwards waits in its queue.
func occupy(t *testing.T, b *Broker) (release func(), results <-chan error) {
	t.Helper()
	gate := make(chan struct{})
	errs := make(chan error, b.cfg.Workers)
	for i := range b.cfg.Workers {
		go func() {
			errs <- b.Do(context.Background(), Control, fmt.Sprintf("occupier-%d", i), func(context.Context) error {
				<-gate
				return nil
			})
		}()
	}
	waitStats(t, b, func(s Stats) bool { return s.InFlight == b.cfg.Workers })
	var once sync.Once
	return func() { once.Do(func() { close(gate) }) }, errs
}

// recorder notes the order in which calls run.
type recorder struct {
	mu    sync.Mutex
	order []string
}

func (r *recorder) fn(name string) func(context.Context) error {
	return func(context.Context) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.order = append(r.order, name)
		return nil
	}
}

func (r *recorder) got() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.order, " ")
}

// queue starts a Do of class/key running rec's fn(name) and waits until
// it is queued, so calls queue in the order the test makes them.
func queue(t *testing.T, wg *sync.WaitGroup, b *Broker, class Class, key, name string, rec *recorder) {
	t.Helper()
	before := b.Stats().Class(class).Admitted
	wg.Go(func() {
		if err := b.Do(context.Background(), class, key, rec.fn(name)); err != nil {
			t.Errorf("Do(%s) = %v; want nil", name, err)
		}
	})
	waitStats(t, b, func(s Stats) bool { return s.Class(class).Admitted == before+1 })
}

func TestDoReturnsFnResult(t *testing.T) {
	b := New(Config{})
	defer b.Close()
	ran := false
	if err := b.Do(context.Background(), Control, "k", func(context.Context) error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("Do = %v, ran %v; want nil, true", err, ran)
	}
	want := errors.New("upstream")
	if err := b.Do(context.Background(), Telemetry, "k", func(context.Context) error { return want }); !errors.Is(err, want) {
		t.Fatalf("Do = %v; want %v", err, want)
	}
	if err := b.Do(context.Background(), Class(7), "k", func(context.Context) error { return nil }); !errors.Is(err, ErrClass) {
		t.Fatalf("Do(class 7) = %v; want ErrClass", err)
	}
	s := b.Stats()
	if s.Control.Admitted != 1 || s.Control.Completed != 1 || s.Telemetry.Completed != 1 || s.Telemetry.Failed != 1 {
		t.Fatalf("Stats = %+v; want one control completed, one telemetry completed and failed", s)
	}
}

func TestConfigDefaultsFromManifest(t *testing.T) {
	b := New(Config{Workers: 1})
	defer b.Close()
	got, want := b.Config(), DefaultConfig()
	want.Workers = 1
	if got != want {
		t.Fatalf("New(Config{Workers: 1}).Config() = %+v; want %+v", got, want)
	}
}

// Control calls are served ahead of queued telemetry, but only
// ControlWeight in a row while telemetry waits: telemetry is not starved.
func TestControlAheadOfTelemetryWeighted(t *testing.T) {
	b := New(Config{Workers: 1, ControlWeight: 2})
	defer b.Close()
	release, _ := occupy(t, b)
	var rec recorder
	var wg sync.WaitGroup
	for i := range 4 {
		queue(t, &wg, b, Telemetry, "t", fmt.Sprintf("T%d", i), &rec)
	}
	for i := range 5 {
		queue(t, &wg, b, Control, "c", fmt.Sprintf("C%d", i), &rec)
	}
	release()
	wg.Wait()
	// Telemetry queued first, yet control goes first, two per telemetry call.
	const want = "C0 C1 T0 C2 C3 T1 C4 T2 T3"
	if got := rec.got(); got != want {
		t.Fatalf("order = %q; want %q", got, want)
	}
}

// Within a class, a flood from one key does not delay another key beyond
// its turn: keys alternate, each key's own calls in order.
func TestFairAcrossKeys(t *testing.T) {
	b := New(Config{Workers: 1, ControlQueue: 16})
	defer b.Close()
	release, _ := occupy(t, b)
	var rec recorder
	var wg sync.WaitGroup
	for i := range 8 {
		queue(t, &wg, b, Control, "ticket-A", fmt.Sprintf("A%d", i), &rec)
	}
	queue(t, &wg, b, Control, "ticket-B", "B0", &rec)
	queue(t, &wg, b, Control, "ticket-B", "B1", &rec)
	queue(t, &wg, b, Control, "ticket-C", "C0", &rec)
	release()
	wg.Wait()
	const want = "A0 B0 C0 A1 B1 A2 A3 A4 A5 A6 A7"
	if got := rec.got(); got != want {
		t.Fatalf("order = %q; want %q", got, want)
	}
}

// A full class refuses at once with ErrOverflow; the other class is not
// affected; the queue never holds more than its bound.
func TestOverflowRefusesAtOnce(t *testing.T) {
	b := New(Config{Workers: 1, ControlQueue: 3, TelemetryQueue: 2})
	defer b.Close()
	release, _ := occupy(t, b)
	var rec recorder
	var wg sync.WaitGroup
	for i := range 3 {
		queue(t, &wg, b, Control, "k", fmt.Sprintf("C%d", i), &rec)
	}
	for range 5 {
		if err := b.Do(context.Background(), Control, "k", rec.fn("never")); !errors.Is(err, ErrOverflow) {
			t.Fatalf("Do on a full queue = %v; want ErrOverflow", err)
		}
	}
	queue(t, &wg, b, Telemetry, "k", "T0", &rec)
	release()
	wg.Wait()
	s := b.Stats()
	if s.Control.Overflow != 5 || s.Control.MaxDepth != 3 || s.Telemetry.Overflow != 0 {
		t.Fatalf("Stats = %+v; want control overflow 5, max depth 3, telemetry overflow 0", s)
	}
	if strings.Contains(rec.got(), "never") {
		t.Fatalf("order = %q; a refused call ran", rec.got())
	}
}

// Under concurrent load of both classes the observed depth never passes
// either bound, and every call is either admitted or refused.
func TestDepthNeverExceedsBound(t *testing.T) {
	const callers = 400
	b := New(Config{Workers: 2, ControlQueue: 5, TelemetryQueue: 7})
	defer b.Close()
	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[error]int{}
	for i := range callers {
		class := Class(i % numClasses)
		wg.Go(func() {
			err := b.Do(context.Background(), class, fmt.Sprintf("k%d", i%3), func(context.Context) error {
				s := b.Stats()
				if s.Control.Depth > s.Control.Capacity || s.Telemetry.Depth > s.Telemetry.Capacity || s.InFlight > s.Workers {
					t.Errorf("Stats = %+v; a bound is exceeded", s)
				}
				return nil
			})
			mu.Lock()
			outcomes[err]++
			mu.Unlock()
		})
	}
	wg.Wait()
	s := b.Stats()
	if s.Control.MaxDepth > 5 || s.Telemetry.MaxDepth > 7 {
		t.Fatalf("max depth control %d telemetry %d; want ≤ 5 and ≤ 7", s.Control.MaxDepth, s.Telemetry.MaxDepth)
	}
	admitted := s.Control.Admitted + s.Telemetry.Admitted
	overflow := s.Control.Overflow + s.Telemetry.Overflow
	if admitted+overflow != callers || uint64(outcomes[nil]) != admitted || uint64(outcomes[ErrOverflow]) != overflow {
		t.Fatalf("admitted %d + overflow %d, outcomes %v; want %d calls, each admitted and run or refused", admitted, overflow, outcomes, callers)
	}
}

// Telemetry never holds every worker: during a flood of slow telemetry
// calls a control call still finds a worker and completes while the
// telemetry calls are held.
func TestTelemetryLeavesAWorkerForControl(t *testing.T) {
	b := New(Config{Workers: 3, TelemetryQueue: 8})
	defer b.Close()
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			_ = b.Do(context.Background(), Telemetry, "flood", func(context.Context) error { <-gate; return nil })
		})
	}
	waitStats(t, b, func(s Stats) bool { return s.Telemetry.InFlight >= 2 && s.Telemetry.Depth+s.Telemetry.InFlight == 6 })
	// This returns only if a worker is free while both telemetry calls hold theirs.
	if err := b.Do(context.Background(), Control, "operator", func(context.Context) error { return nil }); err != nil {
		t.Fatalf("control Do during the flood = %v; want nil", err)
	}
	if s := b.Stats().Telemetry; s.InFlight != 2 || s.Completed != 0 {
		t.Fatalf("telemetry = %+v; want 2 in flight (of 3 workers) and none completed before control", s)
	}
	close(gate)
	wg.Wait()
}

// A call whose deadline passes while fn runs returns ErrDeadline, and fn's
// context is cancelled.
func TestDeadlineWhileRunning(t *testing.T) {
	b := New(Config{Workers: 1, Deadline: time.Millisecond})
	defer b.Close()
	fnErr := make(chan error, 1)
	err := b.Do(context.Background(), Control, "k", func(ctx context.Context) error {
		<-ctx.Done()
		fnErr <- ctx.Err()
		return ctx.Err()
	})
	if !errors.Is(err, ErrDeadline) {
		t.Fatalf("Do = %v; want ErrDeadline", err)
	}
	if got := <-fnErr; !errors.Is(got, context.DeadlineExceeded) {
		t.Fatalf("fn's ctx.Err() = %v; want DeadlineExceeded", got)
	}
	waitStats(t, b, func(s Stats) bool { return s.InFlight == 0 })
	if s := b.Stats().Control; s.Deadline != 1 || s.Completed != 0 {
		t.Fatalf("Stats = %+v; want deadline 1, completed 0", s)
	}
}

// A call whose deadline (here the caller's, sooner than the broker's)
// passes while it waits returns ErrDeadline, leaves the queue at once and
// never runs.
func TestDeadlineWhileQueued(t *testing.T) {
	b := New(Config{Workers: 1})
	defer b.Close()
	release, _ := occupy(t, b)
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	ran := false
	if err := b.Do(ctx, Telemetry, "k", func(context.Context) error { ran = true; return nil }); !errors.Is(err, ErrDeadline) {
		t.Fatalf("Do = %v; want ErrDeadline", err)
	}
	s := b.Stats().Telemetry
	if s.Deadline != 1 || s.Depth != 0 || ran {
		t.Fatalf("Stats = %+v, ran %v; want deadline 1, depth 0, not run", s, ran)
	}
}

// A caller that goes away gets its own error back, counted apart from
// deadlines; a caller already gone queues nothing.
func TestCallerCancelled(t *testing.T) {
	b := New(Config{Workers: 1})
	defer b.Close()
	release, _ := occupy(t, b)
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 1)
	go func() { errs <- b.Do(ctx, Control, "k", func(context.Context) error { return nil }) }()
	waitStats(t, b, func(s Stats) bool { return s.Control.Depth == 1 })
	cancel()
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Fatalf("Do after cancel = %v; want context.Canceled", err)
	}
	if err := b.Do(ctx, Control, "k", func(context.Context) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Do with a cancelled ctx = %v; want context.Canceled", err)
	}
	s := b.Stats().Control
	if s.Cancelled != 1 || s.Deadline != 0 || s.Depth != 0 {
		t.Fatalf("Stats = %+v; want cancelled 1, deadline 0, depth 0", s)
	}
}

// Close refuses queued and new calls with ErrClosed, lets running calls
// finish, and returns once they have.
func TestClose(t *testing.T) {
	b := New(Config{Workers: 1})
	release, running := occupy(t, b)
	queued := make(chan error, 2)
	for range 2 {
		go func() {
			queued <- b.Do(context.Background(), Telemetry, "k", func(context.Context) error { return nil })
		}()
	}
	waitStats(t, b, func(s Stats) bool { return s.Telemetry.Depth == 2 })
	closed := make(chan struct{})
	go func() { b.Close(); close(closed) }()
	for range 2 {
		if err := <-queued; !errors.Is(err, ErrClosed) {
			t.Fatalf("queued Do at Close = %v; want ErrClosed", err)
		}
	}
	if err := b.Do(context.Background(), Control, "k", func(context.Context) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Do after Close = %v; want ErrClosed", err)
	}
	select {
	case <-closed:
		t.Fatal("Close returned while a call was running")
	default:
	}
	release()
	if err := <-running; err != nil {
		t.Fatalf("running Do across Close = %v; want nil", err)
	}
	<-closed
	b.Close() // twice is harmless
	s := b.Stats()
	if s.Telemetry.Closed != 2 || s.Control.Closed != 1 || s.Control.Completed != 1 {
		t.Fatalf("Stats = %+v; want telemetry closed 2, control closed 1 and completed 1", s)
	}
}

// A panicking fn panics in its caller's goroutine (where net/http
// recovers it) and leaves its worker serving.
func TestPanicReachesCaller(t *testing.T) {
	b := New(Config{Workers: 1})
	defer b.Close()
	got := func() (r any) {
		defer func() { r = recover() }()
		_ = b.Do(context.Background(), Control, "k", func(context.Context) error { panic("upstream bug") })
		return nil
	}()
	if got != "upstream bug" {
		t.Fatalf("recovered %v; want the fn's panic value", got)
	}
	if err := b.Do(context.Background(), Control, "k", func(context.Context) error { return nil }); err != nil {
		t.Fatalf("Do after a panic = %v; want nil (the worker lives on)", err)
	}
	if s := b.Stats().Control; s.Failed != 1 || s.Completed != 2 {
		t.Fatalf("Stats = %+v; want failed 1, completed 2", s)
	}
}

func TestRetryAfterBounds(t *testing.T) {
	b := New(Config{Workers: 1, Deadline: 3 * time.Second})
	defer b.Close()
	if got := b.RetryAfter(); got != time.Second {
		t.Fatalf("RetryAfter() idle = %v; want 1s", got)
	}
	b.mu.Lock()
	b.service.observe(time.Hour) // one very slow call, with a backlog behind it
	b.classes[Control].running++
	b.mu.Unlock()
	if got := b.RetryAfter(); got != 3*time.Second {
		t.Fatalf("RetryAfter() after a slow call = %v; want the deadline, 3s", got)
	}
	b.mu.Lock()
	b.classes[Control].running--
	b.mu.Unlock()
}

func TestCollector(t *testing.T) {
	b := New(Config{Workers: 1, ControlQueue: 1})
	defer b.Close()
	release, _ := occupy(t, b)
	var rec recorder
	var wg sync.WaitGroup
	queue(t, &wg, b, Control, "k", "C0", &rec)
	if err := b.Do(context.Background(), Control, "k", rec.fn("never")); !errors.Is(err, ErrOverflow) {
		t.Fatalf("Do = %v; want ErrOverflow", err)
	}
	release()
	wg.Wait()
	waitStats(t, b, func(s Stats) bool { return s.InFlight == 0 })
	const want = `
# HELP cohesix_gateway_broker_admitted_total Calls queued by the broker.
# TYPE cohesix_gateway_broker_admitted_total counter
cohesix_gateway_broker_admitted_total{class="control"} 2
cohesix_gateway_broker_admitted_total{class="telemetry"} 0
# HELP cohesix_gateway_broker_overflow_total Calls refused because the class queue was full (HTTP 429).
# TYPE cohesix_gateway_broker_overflow_total counter
cohesix_gateway_broker_overflow_total{class="control"} 1
cohesix_gateway_broker_overflow_total{class="telemetry"} 0
# HELP cohesix_gateway_broker_queue_max_depth Most calls ever waiting in the class queue at once.
# TYPE cohesix_gateway_broker_queue_max_depth gauge
cohesix_gateway_broker_queue_max_depth{class="control"} 1
cohesix_gateway_broker_queue_max_depth{class="telemetry"} 0
# HELP cohesix_gateway_broker_in_flight Upstream calls running now.
# TYPE cohesix_gateway_broker_in_flight gauge
cohesix_gateway_broker_in_flight 0
`
	if err := testutil.CollectAndCompare(b.Collector(), strings.NewReader(want),
		"cohesix_gateway_broker_admitted_total", "cohesix_gateway_broker_overflow_total",
		"cohesix_gateway_broker_queue_max_depth", "cohesix_gateway_broker_in_flight"); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.CollectAndLint(b.Collector()); err != nil || len(n) != 0 {
		t.Fatalf("CollectAndLint = %v, %v; want no problems", n, err)
	}
}

func BenchmarkDoParallel(b *testing.B) {
	br := New(Config{})
	defer br.Close()
	noop := func(context.Context) error { return nil }
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			class := Class(i % numClasses)
			i++
			if err := br.Do(context.Background(), class, "k", noop); err != nil && !errors.Is(err, ErrOverflow) {
				b.Fatal(err)
			}
		}
	})
}
