package workerfs_test

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/prov/provtest"
	"github.com/cohesix/cohesix/internal/prov/workerfs"
	"github.com/cohesix/cohesix/internal/queen"
)

// TestShardGolden (M14 acceptance 6): the id → shard mapping is stable
// across runs and platforms: ShardLabel equals, for worker-1 ..
// worker-1024 and shard_bits 8, 4 and 1, the table testdata/shard_golden.txt
// that an independent SHA-256 (Python's hashlib) wrote. The 1,024 ids
// spread over 252 of the 256 shards at 8 bits (about 256·e^-4 ≈ 5 stay
// empty by chance), at most 10 in one, so a fleet's /proc/9p/sessions
// shows a spread, not one hot shard.
func TestShardGolden(t *testing.T) {
	f, err := os.Open("testdata/shard_golden.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]int{}
	rows := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		fld := strings.Fields(line)
		if len(fld) != 4 {
			t.Fatalf("golden row %q: want id and three labels", line)
		}
		rows++
		for i, bits := range []int{8, 4, 1} {
			if got := workerfs.ShardLabel(fld[0], bits); got != fld[1+i] {
				t.Errorf("ShardLabel(%s, %d) = %s; the golden table says %s", fld[0], bits, got, fld[1+i])
			}
		}
		seen[fld[1]]++
	}
	if rows != 1024 {
		t.Fatalf("golden table has %d rows; want 1024", rows)
	}
	most := 0
	for _, n := range seen {
		most = max(most, n)
	}
	if len(seen) != 252 || most > 10 {
		t.Errorf("worker-1..1024 reach %d of 256 shards, at most %d in one; want 252, at most 10", len(seen), most)
	}
}

// fleetQueen has n heartbeat workers.
func fleetQueen(b *testing.B, n int) *provtest.Queen {
	q := provtest.NewQueen(b, func(c *queen.Config) { c.MaxWorkers = max(c.MaxWorkers, n) })
	who := queen.WhoOf(provtest.QueenCaller)
	for range n {
		q.Must(queen.CtlWrite{Who: who, Line: []byte(`{"spawn":"heartbeat","ticks":1000000}`)})
	}
	return q
}

// walkStat walks comps from root and stats the node.
func walkStat(root ns.Node, comps []string) error {
	n := root
	var err error
	for _, c := range comps {
		if n, err = n.Walk(c); err != nil {
			return err
		}
	}
	_, err = n.Stat()
	return err
}

// BenchmarkShardLookup measures, with 1,024 workers and every core busy
// (RunParallel), the walk and stat of a worker's telemetry file by the
// canonical shard path and by the legacy /worker alias, and the listing
// of one shard against the listing of /worker: the question of issue 15
// item 4 is whether per-shard locking would help. The lookups take no
// lock (the queen's snapshot is immutable), so ns/op at -cpu 1 and 2 is
// what a lock could only add to. docs/BENCHMARKS.md, Sharding.
func BenchmarkShardLookup(b *testing.B) {
	const workers = 1024 // limit-literal-ok: the fleet size the issue asks for
	q := fleetQueen(b, workers)
	cfg := workerfs.Config{Queen: q, ShardBits: 8}
	shards, legacy := workerfs.Shards(cfg).Root(), workerfs.Workers(cfg).Root()
	ids := make([]string, workers)
	for i := range ids {
		ids[i] = "worker-" + strconv.Itoa(i+1)
	}
	b.Run("walk-shard", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				id := ids[i%workers]
				if err := walkStat(shards, []string{workerfs.ShardLabel(id, 8), "worker", id, "telemetry"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("walk-legacy", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				id := ids[i%workers]
				if err := walkStat(legacy, []string{id, "telemetry"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("ls-shard", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				d, err := shards.Walk(workerfs.ShardLabel(ids[i%workers], 8))
				if err == nil {
					d, err = d.Walk("worker")
				}
				if err == nil {
					_, err = d.List()
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("ls-legacy", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := legacy.List(); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
