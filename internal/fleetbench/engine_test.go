package fleetbench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hugelgupf/p9/linux"

	"github.com/cohesix/cohesix/internal/nineclient"
)

// fakeHive keeps each worker's telemetry stream in memory, with one hive
// tick line after every append, and refuses spawns beyond max.
type fakeHive struct {
	mu      sync.Mutex
	max     int
	next    int
	rings   map[string][]byte
	ticks   map[string]uint64
	killed  []string
	probes  int
	busyCat bool
	busyN   int // refuse every busyN-th append EBUSY (0: never)
	appends int
}

func newFake(max int) *fakeHive {
	return &fakeHive{max: max, next: 1, rings: map[string][]byte{}, ticks: map[string]uint64{}}
}

func (f *fakeHive) tick(id string) {
	f.ticks[id]++
	f.rings[id] = append(f.rings[id], ticks(f.ticks[id], f.ticks[id], 100)...)
}

func (f *fakeHive) Schema() string { return "legacy-plaintext" }

func (f *fakeHive) Spawn(_ context.Context, b Budget) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.rings) >= f.max {
		return linux.EDQUOT
	}
	if b.Ticks == 0 || b.Ops == 0 || b.TTLs == 0 {
		return fmt.Errorf("spawn with an empty budget %+v", b)
	}
	id := fmt.Sprintf("worker-%d", f.next)
	f.next++
	f.rings[id] = nil
	f.tick(id)
	return nil
}

func (f *fakeHive) Workers(context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for id := range f.rings {
		ids = append(ids, id)
	}
	slices.Sort(ids) // not spawn order: the engine must sort by number
	return ids, nil
}

type fakeSession struct {
	f  *fakeHive
	id string
}

func (s fakeSession) Append(rec []byte) error {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if _, ok := s.f.rings[s.id]; !ok {
		return linux.ENOENT
	}
	if s.f.appends++; s.f.busyN > 0 && s.f.appends%s.f.busyN == 0 {
		return linux.EBUSY
	}
	s.f.rings[s.id] = append(s.f.rings[s.id], rec...)
	s.f.tick(s.id)
	return nil
}

func (s fakeSession) Close() error { return nil }

func (f *fakeHive) Attach(_ context.Context, id string, _ Mode) (Session, error) {
	return fakeSession{f, id}, nil
}

func (f *fakeHive) Probe(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.probes++
	if f.busyCat {
		return fmt.Errorf("console: ERR CAT reason=busy: %w", linux.EBUSY)
	}
	return nil
}

func (f *fakeHive) TelemetrySize(id string) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return uint64(len(f.rings[id])), nil
}

func (f *fakeHive) TelemetryRead(id string, off uint64) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.rings[id]
	if off > uint64(len(r)) {
		return nil, errors.New("offset past the end")
	}
	return slices.Clone(r[off:]), nil
}

func (f *fakeHive) Kill(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.rings[id]; !ok {
		return linux.ENOENT
	}
	delete(f.rings, id)
	f.killed = append(f.killed, id)
	return nil
}

func fastConfig(steps ...int) Config {
	c := validConfig()
	c.Steps, c.Duration, c.Interval, c.ProbeInterval = steps, 300*time.Millisecond, 50*time.Millisecond, 20*time.Millisecond
	return c
}

func TestRunCountsAndCleansUp(t *testing.T) {
	f := newFake(64)
	r, err := Run(context.Background(), f, fastConfig(2, 5, 11))
	if err != nil {
		t.Fatalf("Run = %v; want nil", err)
	}
	if len(r.Steps) != 3 || r.Steps[2].Workers != 11 {
		t.Errorf("steps = %+v; want 3 steps ending at 11 workers", r.Steps)
	}
	if r.Errors.Total() != 0 {
		t.Errorf("errors = %+v; want none", r.Errors)
	}
	s := r.Server
	if s == nil || s.Checked != 11 || s.Received != s.Acked || s.Mismatched != 0 || s.Received == 0 {
		t.Errorf("server = %+v; want 11 workers checked, received == acked > 0", s)
	}
	if r.Killed != 11 || len(f.rings) != 0 || len(r.Workers) != 11 || r.Workers[10] != "worker-11" {
		t.Errorf("killed %d, left %d, workers %v; want all 11 killed, worker-1..worker-11", r.Killed, len(f.rings), r.Workers)
	}
}

// A heartbeat the hive refused EBUSY is resent (the refusal is a reply:
// nothing was stored), so every heartbeat is stored once and the hive's
// count equals the harness's.
func TestRunResendsRefusals(t *testing.T) {
	f := newFake(64)
	f.busyN = 3
	cfg := fastConfig(4)
	cfg.Retry = nineclient.Retry{MaxAttempts: 3, Backoff: time.Millisecond, Ceiling: 2 * time.Millisecond}
	r, err := Run(context.Background(), f, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := r.Steps[0]
	if s.Retries == 0 || r.Errors.Total() != 0 {
		t.Fatalf("retries %d, errors %+v; want refusals resent and none left", s.Retries, r.Errors)
	}
	if r.Server.Received != r.Server.Acked || r.Server.Mismatched != 0 {
		t.Errorf("server %+v; want the hive's count equal to the acknowledged", r.Server)
	}
	// Without resends the same refusals are errors the harness sees.
	f = newFake(64)
	f.busyN = 3
	r, _ = Run(context.Background(), f, fastConfig(4))
	if r.Errors.EBUSY == 0 || r.Steps[0].Retries != 0 || r.Server.Received != r.Server.Acked {
		t.Errorf("no retry: errors %+v retries %d server %+v; want EBUSY counted, nothing silently lost", r.Errors, r.Steps[0].Retries, r.Server)
	}
}

func TestRunReportsRefusal(t *testing.T) {
	f := newFake(4)
	cfg := fastConfig(3, 6)
	cfg.RefusalHint = func(err error) string {
		if errors.Is(err, linux.EDQUOT) {
			return "queen.max_workers is 4"
		}
		return ""
	}
	r, err := Run(context.Background(), f, cfg)
	if err == nil || !strings.Contains(err.Error(), "hive refused spawn 5: ") || !strings.Contains(r.Refused, "(queen.max_workers is 4)") {
		t.Fatalf("Run = %v (refused %q); want the refusal of spawn 5 with its hint", err, r.Refused)
	}
	if len(r.Steps) != 1 || r.Steps[0].Workers != 3 {
		t.Errorf("steps = %+v; want the first step measured", r.Steps)
	}
	// The worker spawned before the refusal is cleaned up too.
	if r.Killed != 4 || len(f.rings) != 0 {
		t.Errorf("killed %d, left %v; want the 4 spawned workers killed", r.Killed, f.rings)
	}
}

func TestRunKeep(t *testing.T) {
	f := newFake(8)
	cfg := fastConfig(2)
	cfg.Keep = true
	r, err := Run(context.Background(), f, cfg)
	if err != nil || !r.Kept || r.Killed != 0 || len(f.rings) != 2 {
		t.Errorf("Run(--keep) = %v, kept %v killed %d left %d; want 2 workers left running", err, r.Kept, r.Killed, len(f.rings))
	}
}

func TestRunLeavesOthersWorkers(t *testing.T) {
	f := newFake(8)
	f.Spawn(context.Background(), Budget{1, 1, 1}) // someone else's worker-1
	r, err := Run(context.Background(), f, fastConfig(2))
	if err != nil || !slices.Equal(r.Workers, []string{"worker-2", "worker-3"}) || !slices.Equal(f.killed, []string{"worker-2", "worker-3"}) {
		t.Errorf("Run = %v, workers %v, killed %v; want worker-2 and worker-3 only", err, r.Workers, f.killed)
	}
}

func TestRunInterrupted(t *testing.T) {
	f := newFake(8)
	cfg := fastConfig(2, 4)
	cfg.Duration = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	cfg.Progress = func(p Progress) {
		if p.Phase == "load" {
			cancel()
		}
	}
	r, err := Run(ctx, f, cfg)
	if err != nil || !r.Interrupted || len(r.Steps) != 1 || !r.Steps[0].Interrupted || r.Killed != 2 {
		t.Errorf("Run(interrupted) = %v, report %+v; want one interrupted step, its 2 workers killed, no error", err, r)
	}
}

func TestRunConsoleBusyIsEBUSY(t *testing.T) {
	f := newFake(8)
	f.busyCat = true
	r, err := Run(context.Background(), f, fastConfig(1))
	if err != nil || r.Steps[0].ProbeErrors.EBUSY == 0 || r.Steps[0].ProbeErrors.Other != 0 {
		t.Errorf("Run = %v, console errors %+v; want busy probes counted as ebusy", err, r.Steps[0].ProbeErrors)
	}
}
