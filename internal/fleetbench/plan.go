package fleetbench

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/nineclient"
)

// Mode is how a worker appends its heartbeats.
type Mode string

const (
	// ModeReopen walks, opens, writes and clunks the telemetry file for
	// every heartbeat, as nineclient.Append does.
	ModeReopen Mode = "reopen"
	// ModeKeepOpen opens the telemetry file once and sends one Twrite
	// per heartbeat.
	ModeKeepOpen Mode = "keep-open"
)

// ParseMode accepts "reopen" and "keep-open".
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeReopen, ModeKeepOpen:
		return m, nil
	}
	return "", fmt.Errorf("--mode %q: want reopen or keep-open", s)
}

// Config is one run.
type Config struct {
	Mode          Mode
	Steps         []int         // workers per step, ascending; one step outside ramp mode
	Duration      time.Duration // measured time per step
	Seed          int64         // heartbeat phases and padding
	Knee          time.Duration // append p99 above which a step is the knee
	Interval      time.Duration // heartbeat period of each worker
	ProbeInterval time.Duration // operator console probe period
	OpTimeout     time.Duration // an operation slower than this is a timeout
	RecordBytes   int           // bytes per heartbeat, newline included
	Concurrency   int           // spawns and attaches in flight at once
	Keep          bool          // leave the workers running at the end
	HivePID       int           // the hive's process for CPU and RSS; 0: not local
	// Retry resends a heartbeat the hive refused (a reply: EBUSY,
	// EAGAIN); MaxAttempts below 2 resends nothing.
	Retry nineclient.Retry
	// RefusalHint is appended to the message of a refused spawn (what
	// to do next), given the error; nil adds nothing.
	RefusalHint func(err error) string
	// Progress, if set, is called about once a second while load runs.
	Progress func(Progress)
}

// Progress is the state of a run for a progress line.
type Progress struct {
	Step, Steps int
	Workers     int
	Phase       string // "spawn", "attach", "load", "verify", "cleanup"
	Elapsed     time.Duration
	Duration    time.Duration
	Appends     int
	Errors      Errors
	P99         time.Duration
}

// MinRecordBytes is the smallest heartbeat the record layout fits with
// the longest worker id and sequence number.
var MinRecordBytes = len(recordHead("", 0)) + generated.ConsoleWorkerIdMax + len(strconv.FormatUint(^uint64(0), 10)) + len(recordTail)

// Validate checks a configuration before any load.
func (c Config) Validate() error {
	if _, err := ParseMode(string(c.Mode)); err != nil {
		return err
	}
	switch {
	case len(c.Steps) == 0:
		return errors.New("no worker count: give --workers N or --workers-min/--workers-max")
	case c.Steps[0] < 1:
		return fmt.Errorf("--workers %d: want at least 1", c.Steps[0])
	case c.Duration <= 0:
		return fmt.Errorf("--duration %v: want a positive duration", c.Duration)
	case c.Interval <= 0:
		return fmt.Errorf("--interval %v: want a positive duration", c.Interval)
	case c.Duration < c.Interval:
		return fmt.Errorf("--duration %v is shorter than one heartbeat interval (%v)", c.Duration, c.Interval)
	case c.ProbeInterval <= 0:
		return fmt.Errorf("--probe-interval %v: want a positive duration", c.ProbeInterval)
	case c.OpTimeout <= 0:
		return fmt.Errorf("--op-timeout %v: want a positive duration", c.OpTimeout)
	case c.Knee <= 0:
		return fmt.Errorf("--p99-knee %v: want a positive duration", c.Knee)
	case c.RecordBytes < MinRecordBytes || c.RecordBytes > generated.Secure9pMsize-64:
		return fmt.Errorf("--record-bytes %d: want %d to %d (one Twrite)", c.RecordBytes, MinRecordBytes, generated.Secure9pMsize-64)
	case c.Concurrency < 1:
		return fmt.Errorf("--concurrency %d: want at least 1", c.Concurrency)
	}
	for i := 1; i < len(c.Steps); i++ {
		if c.Steps[i] <= c.Steps[i-1] {
			return fmt.Errorf("steps must grow: %d after %d", c.Steps[i], c.Steps[i-1])
		}
	}
	return nil
}

// maxSteps bounds a ramp: more steps than this is a typo, not a plan.
const maxSteps = 1000

// RampSteps returns the worker counts from lo to hi: lo, then each count
// grown by step ("x2" multiplies, "+100" or "100" adds), and hi last.
func RampSteps(lo, hi int, step string) ([]int, error) {
	if lo < 1 || hi < lo {
		return nil, fmt.Errorf("--workers-min %d --workers-max %d: want 1 <= min <= max", lo, hi)
	}
	next, err := parseStep(step)
	if err != nil {
		return nil, err
	}
	steps := []int{lo}
	for n := lo; n < hi; {
		n = min(next(n), hi)
		steps = append(steps, n)
		if len(steps) > maxSteps {
			return nil, fmt.Errorf("--step %s makes more than %d steps from %d to %d", step, maxSteps, lo, hi)
		}
	}
	return steps, nil
}

// parseStep turns "xF" (F > 1) or "+N"/"N" (N >= 1) into a growth rule
// that always grows by at least one worker.
func parseStep(s string) (func(int) int, error) {
	if f, ok := strings.CutPrefix(s, "x"); ok {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || !(v > 1) || v > 1e6 {
			return nil, fmt.Errorf("--step %q: a factor is x followed by a number above 1 (x2)", s)
		}
		return func(n int) int { return max(n+1, int(float64(n)*v)) }, nil
	}
	v, err := strconv.Atoi(strings.TrimPrefix(s, "+"))
	if err != nil || v < 1 {
		return nil, fmt.Errorf("--step %q: want a count of workers to add (+100) or a factor (x2)", s)
	}
	return func(n int) int { return n + v }, nil
}
