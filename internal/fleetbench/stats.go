package fleetbench

import (
	"context"
	"errors"
	"math"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/hugelgupf/p9/linux"
)

// Class is the kind of a failed operation, as the summary counts it.
type Class int

const (
	ClassEBUSY   Class = iota // the hive answered EBUSY (its inbox was full)
	ClassTimeout              // no answer within the operation timeout
	ClassOther                // any other refusal or a broken connection
	numClasses
)

func (c Class) String() string { return [...]string{"ebusy", "timeout", "other"}[c] }

// errTimeout marks an operation that took longer than the timeout; the
// engine wraps a late success or failure in it.
var errTimeout = errors.New("operation timed out")

// Classify sorts an operation's error into its class.
func Classify(err error) Class {
	switch {
	case errors.Is(err, linux.EBUSY):
		return ClassEBUSY
	case errors.Is(err, errTimeout), errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, linux.ETIMEDOUT):
		return ClassTimeout
	}
	return ClassOther
}

// Errors counts failures by class.
type Errors struct {
	EBUSY   int `json:"ebusy"`
	Timeout int `json:"timeout"`
	Other   int `json:"other"`
}

// Total is the sum over the classes.
func (e Errors) Total() int { return e.EBUSY + e.Timeout + e.Other }

func (e *Errors) add(c Class) {
	switch c {
	case ClassEBUSY:
		e.EBUSY++
	case ClassTimeout:
		e.Timeout++
	default:
		e.Other++
	}
}

// Plus returns the class-wise sum of e and o.
func (e Errors) Plus(o Errors) Errors {
	return Errors{EBUSY: e.EBUSY + o.EBUSY, Timeout: e.Timeout + o.Timeout, Other: e.Other + o.Other}
}

// Percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest sample at or above p percent of them.
// It is 0 for no samples.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Dist is a latency distribution's summary.
type Dist struct {
	N   int
	P50 time.Duration
	P99 time.Duration
	Max time.Duration
}

// Summarize sorts samples in place and summarises them.
func Summarize(samples []time.Duration) Dist {
	slices.Sort(samples)
	d := Dist{N: len(samples), P50: Percentile(samples, 50), P99: Percentile(samples, 99)}
	if len(samples) > 0 {
		d.Max = samples[len(samples)-1]
	}
	return d
}

// MinP99Samples is the fewest samples whose nearest-rank p99 is not
// simply their maximum.
const MinP99Samples = 100

// Knee returns the index of the first step whose append p99 is above
// threshold, or -1 when none is. Steps with fewer than MinP99Samples
// successful appends are not judged: their p99 is their slowest append.
func Knee(p99s []time.Duration, counts []int, threshold time.Duration) int {
	for i, p := range p99s {
		if counts[i] >= MinP99Samples && p > threshold {
			return i
		}
	}
	return -1
}

// collector gathers one phase's samples; safe for concurrent use.
type collector struct {
	mu       sync.Mutex
	appends  []time.Duration // successful appends
	errs     Errors
	skipped  int // heartbeats not sent because the one before was still in flight
	retries  int // resends after a refusal
	probes   []time.Duration
	probeErr Errors
}

func (c *collector) append(d time.Duration, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.errs.add(Classify(err))
		return
	}
	c.appends = append(c.appends, d)
}

func (c *collector) skip() {
	c.mu.Lock()
	c.skipped++
	c.mu.Unlock()
}

func (c *collector) retry() {
	c.mu.Lock()
	c.retries++
	c.mu.Unlock()
}

func (c *collector) probe(d time.Duration, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.probeErr.add(Classify(err))
		return
	}
	c.probes = append(c.probes, d)
}

// counts returns the live counters for the progress line.
func (c *collector) counts() (ok int, errs Errors, p99 time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// The last 1,000 samples are enough for a progress line's p99.
	tail := slices.Clone(c.appends[max(0, len(c.appends)-1000):])
	return len(c.appends), c.errs, Summarize(tail).P99
}
