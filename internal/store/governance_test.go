package store

import (
	"testing"

	"github.com/cohesix/cohesix/internal/queen"
)

// TestReadLogRaceDetection: a live spool that starts past a gap after the
// archive is a compaction that happened between the two reads; a
// continuing or overlapping one is not.
func TestReadLogRaceDetection(t *testing.T) {
	gen := func(from, to uint64) []queen.LogLine {
		var g []queen.LogLine
		for n := from; n <= to; n++ {
			g = append(g, queen.LogLine{N: n})
		}
		return g
	}
	for _, c := range []struct {
		archive, live []queen.LogLine
		want          bool
	}{
		{gen(1, 10), gen(5, 20), false}, // a compacted live repeats the archive's newest lines
		{gen(1, 10), gen(11, 20), false},
		{nil, gen(40, 50), false}, // no archive yet
		{gen(1, 10), gen(30, 40), true},
	} {
		if got := raced(c.archive, c.live); got != c.want {
			t.Errorf("raced(%v, %v) = %t; want %t", c.archive, c.live, got, c.want)
		}
	}
}
