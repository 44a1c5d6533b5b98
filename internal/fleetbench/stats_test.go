package fleetbench

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hugelgupf/p9/linux"
)

func msD(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, c := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 99, 0},
		{"one", msD(7), 50, 7 * time.Millisecond},
		{"one p99", msD(7), 99, 7 * time.Millisecond},
		{"two p50", msD(1, 9), 50, 1 * time.Millisecond},
		{"two p99", msD(1, 9), 99, 9 * time.Millisecond},
		{"hundred p50", hundred, 50, 50 * time.Millisecond},
		{"hundred p99", hundred, 99, 99 * time.Millisecond},
		{"hundred p100", hundred, 100, 100 * time.Millisecond},
		{"ten p99 is the max", msD(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Percentile(c.sorted, c.p); got != c.want {
				t.Errorf("Percentile(%v, %v) = %v; want %v", c.sorted, c.p, got, c.want)
			}
		})
	}
}

func TestSummarizeSorts(t *testing.T) {
	d := Summarize(msD(5, 1, 3, 2, 4))
	if d.N != 5 || d.P50 != 3*time.Millisecond || d.P99 != 5*time.Millisecond || d.Max != 5*time.Millisecond {
		t.Errorf("Summarize(5 1 3 2 4) = %+v; want N 5, p50 3ms, p99 5ms, max 5ms", d)
	}
}

func TestKnee(t *testing.T) {
	th := 5 * time.Millisecond
	for _, c := range []struct {
		name   string
		p99s   []time.Duration
		counts []int
		want   int
	}{
		{"none", msD(1, 2, 5), []int{100, 200, 400}, -1},
		{"at the threshold is not past it", msD(5, 5), []int{100, 200}, -1},
		{"second", msD(1, 6, 9), []int{100, 200, 400}, 1},
		{"first of several", msD(1, 6, 2, 9), []int{100, 200, 400, 800}, 1},
		{"first step", msD(8), []int{100}, 0},
		{"a step with no appends has no p99", msD(9, 7), []int{0, 400}, 1},
		{"a p99 of 99 samples is their max, not judged", msD(9, 7), []int{99, 198}, 1},
		{"no steps", nil, nil, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Knee(c.p99s, c.counts, th); got != c.want {
				t.Errorf("Knee(%v, %v, %v) = %d; want %d", c.p99s, c.counts, th, got, c.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		err  error
		want Class
	}{
		{linux.EBUSY, ClassEBUSY},
		{fmt.Errorf("console: ERR CAT reason=busy: %w", linux.EBUSY), ClassEBUSY},
		{fmt.Errorf("%w: 6s", errTimeout), ClassTimeout},
		{linux.ETIMEDOUT, ClassTimeout},
		{linux.EDQUOT, ClassOther},
		{errors.New("connection reset"), ClassOther},
	} {
		if got := Classify(c.err); got != c.want {
			t.Errorf("Classify(%v) = %v; want %v", c.err, got, c.want)
		}
	}
}

func TestCollectorCounts(t *testing.T) {
	var c collector
	c.append(time.Millisecond, nil)
	c.append(0, linux.EBUSY)
	c.append(0, fmt.Errorf("%w", errTimeout))
	c.append(0, linux.EIO)
	c.skip()
	ok, errs, _ := c.counts()
	if ok != 1 || errs != (Errors{EBUSY: 1, Timeout: 1, Other: 1}) || c.skipped != 1 {
		t.Errorf("collector = ok %d errs %+v skipped %d; want 1, one of each class, 1", ok, errs, c.skipped)
	}
}
