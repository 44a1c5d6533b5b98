// Package cpugov sizes the Go scheduler (GOMAXPROCS) to the hosted hive's
// CPU use (DECISIONS P90). A hive that serves 1,000 workers' heartbeats
// uses a fifth of a core, spread as a thousand short requests a second.
// With every core as a scheduler processor, each request wakes a second
// thread (the runtime hands a readied goroutine to an idle processor, then
// parks the thread again), and those wake-ups were about half the hive's
// CPU in a perf profile. On one processor the same requests run on one
// thread. When the hive gets busy it gets every core back.
//
// The rule, one sample every Config.Sample: the hive's CPU time over the
// sample, in cores, is compared with the processors it ran on. On Idle
// processors, busier than Up (permille of those processors) switches to
// Max at once; on Max, Down samples in a row below DownPermille (of Idle
// processors) switch back to Idle. A switch is a stop-the-world of
// microseconds, at most one per Down samples.
package cpugov

import (
	"context"
	"syscall"
	"time"

	"github.com/cohesix/cohesix/generated"
)

// Config is the manifest's event_pump.procs_* keys plus the machine's
// processor count.
type Config struct {
	Idle         int           // processors while quiet; 0 leaves the runtime's choice
	Max          int           // processors when busy (the runtime's default, every core)
	UpPermille   int           // busier than this on Idle processors: switch to Max
	DownPermille int           // less busy than this, Down samples in a row: back to Idle
	Down         int           // samples below DownPermille before the switch back
	Sample       time.Duration // how often CPU use is read
}

// Enabled reports whether the governor has anything to switch.
func (c Config) Enabled() bool { return c.Idle > 0 && c.Max > c.Idle && c.Sample > 0 }

// Governor decides the processor count from CPU samples. It is not safe
// for concurrent use; Run owns it.
type Governor struct {
	cfg   Config
	procs int // the count in force
	low   int // consecutive samples under DownPermille
}

// New starts at Idle processors (the caller applies Procs first).
func New(cfg Config) *Governor { return &Governor{cfg: cfg, procs: cfg.Idle} }

// Procs is the processor count in force.
func (g *Governor) Procs() int { return g.procs }

// Step takes one sample: cpu is the CPU time the process used over wall.
// It returns the new processor count and whether it changed.
func (g *Governor) Step(cpu, wall time.Duration) (int, bool) {
	if wall <= 0 {
		return g.procs, false
	}
	permille := int(1000 * cpu / wall) // cores × 1000
	if g.procs == g.cfg.Idle {
		if permille > g.cfg.UpPermille*g.cfg.Idle {
			g.procs, g.low = g.cfg.Max, 0
			return g.procs, true
		}
		return g.procs, false
	}
	if permille >= g.cfg.DownPermille*g.cfg.Idle {
		g.low = 0
		return g.procs, false
	}
	if g.low++; g.low < g.cfg.Down {
		return g.procs, false
	}
	g.procs, g.low = g.cfg.Idle, 0
	return g.procs, true
}

// Switch is one change of the processor count, for the caller's log.
type Switch struct {
	From, To int
	Cores    float64 // CPU use over the sample that decided it
}

// Run applies the governor until ctx ends: setProcs is
// runtime.GOMAXPROCS, cpuTime the process's CPU time so far
// (getrusage), onSwitch (may be nil) hears each change. It restores Max
// before returning.
func Run(ctx context.Context, cfg Config, setProcs func(int) int, cpuTime func() time.Duration, onSwitch func(Switch)) {
	if !cfg.Enabled() {
		return
	}
	g := New(cfg)
	setProcs(g.Procs())
	defer setProcs(cfg.Max)
	t := time.NewTicker(cfg.Sample)
	defer t.Stop()
	lastCPU, lastWall := cpuTime(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			cpu := cpuTime()
			from := g.Procs()
			if to, changed := g.Step(cpu-lastCPU, now.Sub(lastWall)); changed {
				setProcs(to)
				if onSwitch != nil {
					onSwitch(Switch{From: from, To: to, Cores: float64(cpu-lastCPU) / float64(now.Sub(lastWall))})
				}
			}
			lastCPU, lastWall = cpu, now
		}
	}
}

// ProcessCPU is the CPU time (user + system) this process has used.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// FromManifest is the compiled profile's governor for a machine whose
// runtime default is maxProcs processors; envSet (GOMAXPROCS in the
// environment) leaves the operator's choice alone.
func FromManifest(maxProcs int, envSet bool) Config {
	if envSet {
		return Config{}
	}
	return Config{
		Idle:         generated.EventPumpProcsIdle,
		Max:          maxProcs,
		UpPermille:   generated.EventPumpProcsUpPermille,
		DownPermille: generated.EventPumpProcsDownPermille,
		Down:         generated.EventPumpProcsDownSamples,
		Sample:       time.Duration(generated.EventPumpProcsSampleMs) * time.Millisecond,
	}
}
