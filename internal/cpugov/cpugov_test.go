package cpugov

import (
	"context"
	"sync"
	"testing"
	"time"
)

var fleetLike = Config{Idle: 1, Max: 4, UpPermille: 700, DownPermille: 350, Down: 3, Sample: time.Millisecond}

// cores is a sample of c cores busy over one second.
func cores(c float64) (time.Duration, time.Duration) {
	return time.Duration(c * float64(time.Second)), time.Second
}

func TestStepSwitchesUpAtOnceAndDownAfterQuietSamples(t *testing.T) {
	g := New(fleetLike)
	steps := []struct {
		busy    float64
		want    int
		changed bool
	}{
		{0.20, 1, false}, // a quiet hive stays on one processor
		{0.70, 1, false}, // at the threshold: not over it
		{0.71, 4, true},  // busier: every core at once
		{0.30, 4, false}, // one quiet sample is not enough
		{0.50, 4, false}, // a busy one resets the count
		{0.30, 4, false},
		{0.30, 4, false},
		{0.30, 1, true}, // the third quiet sample in a row
		{0.90, 4, true},
	}
	for i, s := range steps {
		got, changed := g.Step(cores(s.busy))
		if got != s.want || changed != s.changed {
			t.Fatalf("step %d (%.2f cores) = %d, %t; want %d, %t", i, s.busy, got, changed, s.want, s.changed)
		}
	}
	if got, changed := g.Step(0, 0); got != 4 || changed {
		t.Errorf("an empty sample = %d, %t; want no change", got, changed)
	}
}

func TestStepScalesThresholdsWithIdleProcessors(t *testing.T) {
	g := New(Config{Idle: 2, Max: 8, UpPermille: 700, DownPermille: 350, Down: 1, Sample: time.Millisecond})
	if got, _ := g.Step(cores(1.3)); got != 2 {
		t.Fatalf("1.3 cores on 2 idle processors switched to %d; want 2 (threshold 1.4)", got)
	}
	if got, _ := g.Step(cores(1.5)); got != 8 {
		t.Fatalf("1.5 cores = %d processors; want 8", got)
	}
	if got, _ := g.Step(cores(0.69)); got != 2 {
		t.Errorf("0.69 cores on 8 = %d processors; want back to 2 (threshold 0.7)", got)
	}
}

func TestEnabled(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want bool
	}{
		{fleetLike, true},
		{Config{Idle: 0, Max: 4, Sample: time.Second}, false}, // procs_idle = 0: the runtime's choice
		{Config{Idle: 2, Max: 2, Sample: time.Second}, false}, // nothing to switch on a 2-core machine with 2 idle
		{FromManifest(4, true), false},                        // GOMAXPROCS in the environment wins
		{Config{Idle: 1, Max: 2, Sample: 0}, false},
	} {
		if got := c.cfg.Enabled(); got != c.want {
			t.Errorf("%+v Enabled = %t; want %t", c.cfg, got, c.want)
		}
	}
}

// Run applies the decisions to the runtime's processor count and
// restores every core when it stops.
func TestRunAppliesAndRestores(t *testing.T) {
	var mu sync.Mutex
	var set []int
	var cpu time.Duration
	busy := true
	setProcs := func(n int) int {
		mu.Lock()
		defer mu.Unlock()
		set = append(set, n)
		return 0
	}
	// Busy: a full core per tick of wall time (over the threshold); then none.
	start := time.Now()
	cpuTime := func() time.Duration {
		mu.Lock()
		defer mu.Unlock()
		if busy {
			cpu = time.Since(start)
		}
		return cpu
	}
	switched := make(chan Switch, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		Run(ctx, fleetLike, setProcs, cpuTime, func(s Switch) { switched <- s })
		close(done)
	}()
	up := <-switched
	if up.From != 1 || up.To != 4 || up.Cores < 0.7 {
		t.Fatalf("first switch = %+v; want 1 -> 4 over 0.7 cores", up)
	}
	mu.Lock()
	busy = false
	mu.Unlock()
	if down := <-switched; down.From != 4 || down.To != 1 {
		t.Fatalf("second switch = %+v; want 4 -> 1", down)
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(set) < 3 || set[0] != 1 || set[len(set)-1] != 4 {
		t.Errorf("GOMAXPROCS calls = %v; want 1 first (start quiet) and 4 last (restored)", set)
	}
}
