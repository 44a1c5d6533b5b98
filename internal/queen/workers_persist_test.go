package queen

import (
	"slices"
	"strings"
	"testing"

	"github.com/cohesix/cohesix/internal/gpu"
)

// durableState is a state at boot whose persisted records go to recs.
type durableState struct {
	*State
	recs [][]byte
}

func newDurableState(t *testing.T, cfg Config, records [][]byte) *durableState {
	t.Helper()
	d := &durableState{State: NewState(cfg, bootMs)}
	d.durable = true
	if r := d.restore(Restore{Records: records}, bootMs); r.Err != nil {
		t.Fatalf("restore = %v", r.Err)
	}
	d.Apply(BootComplete{}, bootMs)
	d.recs = d.takePersist()
	return d
}

// do applies c and keeps the records it persisted, as the queen's commit.
func (d *durableState) do(c Cmd, nowMs uint64) Result {
	r := d.Apply(c, nowMs)
	d.recs = append(d.recs, d.takePersist()...)
	return r
}

func (d *durableState) ctl(t *testing.T, line string) string {
	t.Helper()
	r := d.do(CtlWrite{Who: queenWho, Line: []byte(line)}, bootMs)
	if r.Err != nil {
		t.Fatalf("ctl %s = %v", line, r.Err)
	}
	return r.Worker
}

// table is the worker table without the rings and live counters, which
// are not durable.
func table(s *State) []Worker {
	var out []Worker
	for _, id := range s.order {
		w := *s.workers[id]
		w.Ring = Ring{}
		if w.Running {
			w.Ticks, w.Ops = 0, 0
		}
		out = append(out, w)
	}
	return out
}

func sameTable(t *testing.T, got, want []Worker) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("restored table %+v;\nwant %+v", got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Role != w.Role || budgetString(g.Budget) != budgetString(w.Budget) || g.SpawnedMs != w.SpawnedMs ||
			g.Running != w.Running || g.ExitReason != w.ExitReason || g.Ticks != w.Ticks || g.Ops != w.Ops {
			t.Fatalf("restored worker %+v;\nwant %+v", g, w)
		}
	}
}

// spawnExhaustKill makes worker-1 finished (ticks), worker-2 live with
// ops consumed, worker-3 killed, worker-4 live.
func spawnExhaustKill(t *testing.T, d *durableState) {
	t.Helper()
	d.ctl(t, `{"spawn":"heartbeat","ticks":2}`)
	d.ctl(t, `{"spawn":"heartbeat","ticks":1000,"budget":{"ops":50,"ttl_s":3600}}`)
	d.ctl(t, `{"spawn":"heartbeat","ticks":1000}`)
	d.ctl(t, `{"spawn":"heartbeat","ticks":1000}`)
	for i := range 3 {
		d.do(Tick{}, bootMs+uint64(i+1)*100)
	}
	w2 := Who{Role: "worker-heartbeat", Subject: "worker-2"}
	if r := d.do(TelemetryAppend{Who: w2, Worker: "worker-2", Data: []byte("x\n")}, bootMs); r.Err != nil {
		t.Fatal(r.Err)
	}
	d.ctl(t, `{"kill":"worker-3"}`)
	if w := d.workers["worker-1"]; w.Running || w.ExitReason != "ticks" || w.Ticks != 2 {
		t.Fatalf("worker-1 = %+v; want finished after 2 ticks", w)
	}
}

// TestWorkerTableRestore: after a restart the table lists the same
// workers with the same roles, budgets, spawn times and ends; a finished
// worker stays finished with its counters, a killed one stays gone and
// its ticket refused, a live one beats again from its persisted counters
// (zero) into an empty ring, and ids are never reused.
func TestWorkerTableRestore(t *testing.T) {
	d := newDurableState(t, testConfig(), nil)
	spawnExhaustKill(t, d)
	want := table(d.State)

	r := newDurableState(t, testConfig(), d.recs)
	sameTable(t, table(r.State), want)
	if w := r.workers["worker-2"]; !w.Running || w.Ticks != 0 || w.Ops != 0 || len(w.Ring.Data) != 0 {
		t.Fatalf("restored live worker-2 = %+v; want running, counters 0, empty ring", w)
	}
	if !r.killed("worker-heartbeat", "worker-3") || r.killed("worker-heartbeat", "worker-2") {
		t.Errorf("killed(worker-3)=%v killed(worker-2)=%v; want true, false", r.killed("worker-heartbeat", "worker-3"), r.killed("worker-heartbeat", "worker-2"))
	}
	r.do(Tick{}, bootMs+1000)
	if w := r.workers["worker-2"]; w.Ticks != 1 || !strings.Contains(string(w.Ring.Data), `"tick":1`) {
		t.Errorf("worker-2 after a tick = %+v; want it beating again", w)
	}
	if w := r.workers["worker-1"]; w.Running || w.Ticks != 2 {
		t.Errorf("finished worker-1 after a tick = %+v; want it still finished", w)
	}
	if id := r.ctl(t, `{"spawn":"heartbeat","ticks":1}`); id != "worker-5" {
		t.Errorf("spawn after restore = %s; want worker-5", id)
	}
	// A second restart sees the first one's records too.
	again := newDurableState(t, testConfig(), append(slices.Clone(d.recs), r.recs...))
	if got := len(again.order); got != 4 || again.order[3] != "worker-5" {
		t.Errorf("table after two restarts = %v; want worker-1,2,4,5", again.order)
	}
}

// TestWorkerTableRestoreTTL: a live worker's TTL runs from its persisted
// spawn time, so a restart does not extend it.
func TestWorkerTableRestoreTTL(t *testing.T) {
	d := newDurableState(t, testConfig(), nil)
	d.ctl(t, `{"spawn":"heartbeat","ticks":1000,"budget":{"ttl_s":5}}`)
	r := newDurableState(t, testConfig(), d.recs)
	r.do(Tick{}, bootMs+5000)
	if w := r.workers["worker-1"]; w.Running || w.ExitReason != "ttl" {
		t.Fatalf("worker-1 past its ttl after restore = %+v; want ended reason=ttl", w)
	}
}

// TestCompactRecordsKeepsWorkerTable: compaction keeps the records of the
// listed workers (live and finished) and drops those of killed ones; the
// table restored from the compacted spool is the same and ids stay used.
func TestCompactRecordsKeepsWorkerTable(t *testing.T) {
	d := newDurableState(t, testConfig(), nil)
	spawnExhaustKill(t, d)
	kept := CompactRecords(d.recs, 0)
	for _, b := range kept {
		if workerRecordID(b) == "worker-3" {
			t.Errorf("compaction kept %s of killed worker-3", b)
		}
	}
	r := newDurableState(t, testConfig(), kept)
	sameTable(t, table(r.State), table(d.State))
	if r.nextWorker != 5 || !r.killed("worker-heartbeat", "worker-3") {
		t.Errorf("after compaction next worker %d, worker-3 killed=%v; want 5, true", r.nextWorker, r.killed("worker-heartbeat", "worker-3"))
	}
}

// TestRestoreEndsGPUWorkers: a GPU worker live at the crash ends at
// restart (its lease lived in /gpu, which is not durable): it is audited,
// leaves the table, its ticket is refused, and a later restart does not
// end it again.
func TestRestoreEndsGPUWorkers(t *testing.T) {
	d := newDurableState(t, testConfig(), nil)
	d.gpu.init()
	d.installSnapshot(gpu.Snapshot{Nodes: []gpu.Node{{ID: "GPU-0", Info: []byte(`{"memory_mb":8192}`)}}, Active: "m"})
	d.ctl(t, `{"spawn":"heartbeat","ticks":1000}`)
	d.ctl(t, `{"spawn":"gpu","lease":{"gpu_id":"GPU-0","mem_mb":1024,"streams":1,"ttl_s":600}}`)

	r := newDurableState(t, testConfig(), d.recs)
	if got := r.order; !slices.Equal(got, []string{"worker-1"}) {
		t.Fatalf("table after restart %v; want worker-1 only", got)
	}
	if !hasLine(r.log, "worker worker-2 ended reason=restart role=worker-gpu revoked=true") {
		t.Errorf("log = %q; want the gpu worker's end", r.log)
	}
	if !r.killed("worker-gpu", "worker-2") {
		t.Error("worker-2's ticket is not refused after restart")
	}
	again := newDurableState(t, testConfig(), append(slices.Clone(d.recs), r.recs...))
	if n := strings.Count(strings.Join(again.log, "\n"), "ended reason=restart"); n != 1 {
		t.Errorf("second restart: %d end lines in the log; want the first restart's one", n)
	}
}

// TestDefaultBudgetRestore: the `{"budget":...}` default a later spawn
// takes survives a restart and compaction (the last one only).
func TestDefaultBudgetRestore(t *testing.T) {
	d := newDurableState(t, testConfig(), nil)
	d.ctl(t, `{"budget":{"ops":7}}`)
	d.ctl(t, `{"budget":{"ops":9,"ttl_s":60}}`)
	kept := CompactRecords(d.recs, 0)
	n := 0
	for _, b := range kept {
		if strings.HasPrefix(string(b), `{"k":"budget",`) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("compaction kept %d default budgets; want the last one", n)
	}
	for _, recs := range [][][]byte{d.recs, kept} {
		r := newDurableState(t, testConfig(), recs)
		r.ctl(t, `{"spawn":"heartbeat","ticks":5}`)
		if got := budgetString(r.workers["worker-1"].Budget); got != "ticks=5 ops=9 ttl_s=60" {
			t.Errorf("spawn after restore has budget %q; want the default ops=9 ttl_s=60", got)
		}
	}
}
