package workerfs_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/ns/nstest"
	"github.com/cohesix/cohesix/internal/prov/provtest"
	"github.com/cohesix/cohesix/internal/prov/workerfs"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/ticket"
)

// busyQueen has three heartbeat workers whose 64-byte rings have wrapped.
func busyQueen(t *testing.T) *provtest.Queen {
	t.Helper()
	q := provtest.NewQueen(t, func(c *queen.Config) { c.RingBytesPerWorker = 64 })
	who := queen.WhoOf(provtest.QueenCaller)
	for range 3 {
		q.Must(queen.CtlWrite{Who: who, Line: []byte(`{"spawn":"heartbeat","ticks":100}`)})
	}
	for range 10 {
		q.Must(queen.Tick{})
	}
	return q
}

func staleRead(path string, base uint64) nstest.Case {
	return nstest.ReadError(path, 0, fmt.Sprintf("append-only offset 0 is stale; oldest available %d", base))
}

func TestWorkersConform(t *testing.T) {
	q := busyQueen(t)
	w1, _ := q.Snapshot().Worker("worker-1")
	if w1.Ring.Base == 0 {
		t.Fatal("worker-1 ring base = 0; want a wrapped ring")
	}
	nstest.TestProvider(t, workerfs.Workers(workerfs.Config{Queen: q}),
		nstest.Lists("", "worker-1", "worker-2", "worker-3"),
		staleRead("worker-1/telemetry", w1.Ring.Base),
		nstest.WalkError("", "worker-9", "not found"),
		nstest.AppendError("worker-1", "cannot write directory /worker/worker-1"),
	)
}

func TestShardsConform(t *testing.T) {
	q := busyQueen(t)
	w1, _ := q.Snapshot().Worker("worker-1")
	for _, bits := range []int{0, 2, 8} {
		t.Run(fmt.Sprint("bits ", bits), func(t *testing.T) {
			label := workerfs.ShardLabel("worker-1", bits)
			nstest.TestProvider(t, workerfs.Shards(workerfs.Config{Queen: q, ShardBits: bits}),
				staleRead(label+"/worker/worker-1/telemetry", w1.Ring.Base),
				nstest.WalkError("", "AB", "not found"),
				nstest.WalkError("", fmt.Sprintf("%02x", 1<<bits), "not found"),
			)
		})
	}
}

// A shard lists only the workers whose id hashes to it.
func TestShardKeepsItsWorkers(t *testing.T) {
	q := busyQueen(t)
	p := workerfs.Shards(workerfs.Config{Queen: q, ShardBits: 8})
	for _, id := range []string{"worker-1", "worker-2", "worker-3"} {
		names, err := provtest.Walk(t, p, workerfs.ShardLabel(id, 8)+"/worker").List()
		if err != nil || len(names) != 1 || names[0] != id {
			t.Errorf("ls shard %s/worker = %q, %v; want [%s]", workerfs.ShardLabel(id, 8), names, err, id)
		}
	}
}

func TestShardLabel(t *testing.T) {
	for _, tt := range []struct {
		bits     int
		id, want string
	}{
		{8, "worker-1", "13"}, {8, "worker-2", "1c"}, {4, "worker-1", "01"}, {1, "worker-1", "00"}, {0, "worker-1", "00"},
	} {
		if got := workerfs.ShardLabel(tt.id, tt.bits); got != tt.want {
			t.Errorf("ShardLabel(%s, %d) = %s; want %s", tt.id, tt.bits, got, tt.want)
		}
	}
}

// A worker's append lands in its ring; once the worker is killed its file
// answers that it was revoked.
func TestTelemetryAppendAndRevoke(t *testing.T) {
	q := busyQueen(t)
	p := workerfs.Workers(workerfs.Config{Queen: q})
	provtest.Append(t, p, provtest.As(ticket.RoleWorkerHeartbeat, "worker-2"), "worker-2/telemetry", "temp=41\n")
	if b := provtest.Read(t, p, "worker-2/telemetry"); !strings.HasSuffix(b, "temp=41\n") {
		t.Fatalf("read telemetry = %q; want it to end in temp=41", b)
	}
	f := provtest.Walk(t, p, "worker-2/telemetry")
	q.Must(queen.CtlWrite{Who: queen.WhoOf(provtest.QueenCaller), Line: []byte(`{"kill":"worker-2"}`)})
	_, err := f.Stat()
	if !errors.Is(err, errs.ErrClosed) || err.Error() != "worker worker-2 revoked" {
		t.Errorf("Stat after kill = %v; want ErrClosed worker worker-2 revoked", err)
	}
}
