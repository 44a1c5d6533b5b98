package queen

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/cohesix/cohesix/generated"
)

// workerStream is a run of commands that touch workers every way the
// authority does: spawns across chunk boundaries, appends by the queen
// and by workers (ops), ring wraps, ticks, a budget running out, kills
// in the middle and at the end, and spawns after a kill.
func workerStream() []Cmd {
	spawn := CtlWrite{Who: queenWho, Line: []byte(`{"spawn":"heartbeat","ticks":3}`)}
	var cmds []Cmd
	for range chunkWorkers + 6 {
		cmds = append(cmds, spawn)
	}
	cmds = append(cmds, CtlWrite{Who: queenWho, Line: []byte(`{"spawn":"heartbeat","ticks":9,"budget":{"ops":2}}`)})
	last := fmt.Sprintf("worker-%d", chunkWorkers+7)
	for i := range 3 {
		cmds = append(cmds,
			TelemetryAppend{Who: queenWho, Worker: "worker-3", Data: []byte("queen record")},
			TelemetryAppend{Who: Who{Role: "worker-heartbeat", Subject: last}, Worker: last, Data: fmt.Appendf(nil, "own %d", i)},
			TelemetryAppend{Who: queenWho, Worker: fmt.Sprintf("worker-%d", chunkWorkers+1), Data: []byte("next chunk")},
			Tick{}, LogAppend{Lines: []string{"line"}}, QueenSeen{})
	}
	cmds = append(cmds,
		CtlWrite{Who: queenWho, Line: []byte(`{"kill":"worker-10"}`)},
		TelemetryAppend{Who: queenWho, Worker: "worker-11", Data: []byte("after kill")},
		CtlWrite{Who: queenWho, Line: []byte(`{"kill":"` + last + `"}`)},
		spawn, Tick{}, Tick{}, Tick{})
	return cmds
}

// stateWorkers is a deep copy of the state's workers in spawn order.
func stateWorkers(s *State) []Worker {
	var ws []Worker
	for _, id := range s.order {
		ws = append(ws, deepWorker(*s.workers[id]))
	}
	return ws
}

func deepWorker(w Worker) Worker {
	w.Ring.Data = slices.Clone(w.Ring.Data)
	return w
}

func deepWorkers(ws []Worker) []Worker {
	for i := range ws {
		ws[i] = deepWorker(ws[i])
	}
	return ws
}

// TestSnapshotWorkersFollowState checks that every snapshot shows the
// workers exactly as the state holds them after the command: a mutator
// that forgot to touch its worker would publish a stale copy.
func TestSnapshotWorkersFollowState(t *testing.T) {
	cfg := testConfig()
	cfg.RingBytesPerWorker = 40
	cfg.MaxWorkers = max(cfg.MaxWorkers, 2*chunkWorkers)
	s := onlineState(t, cfg)
	for i, c := range workerStream() {
		now := bootMs + uint64(i)
		s.Apply(c, now)
		sn := s.snapshot(uint64(i+1), now)
		got, want := sn.Workers(), stateWorkers(s)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("after command %d (%T): snapshot workers differ from the state\n got %+v\nwant %+v", i, c, got, want)
		}
		if n := countFunc(slices.Values(want), func(w Worker) bool { return w.Running }); sn.Leases() != n {
			t.Errorf("after command %d: Leases = %d; want %d", i, sn.Leases(), n)
		}
	}
}

// TestSnapshotUnchangedByLaterCommands keeps every snapshot of a stream
// and checks at the end that none changed: worker fields and ring bytes.
func TestSnapshotUnchangedByLaterCommands(t *testing.T) {
	cfg := testConfig()
	cfg.RingBytesPerWorker = 40
	cfg.MaxWorkers = max(cfg.MaxWorkers, 2*chunkWorkers)
	s := onlineState(t, cfg)
	type kept struct {
		sn    *Snapshot
		want  []Worker
		first Worker
	}
	var snaps []kept
	for i, c := range workerStream() {
		now := bootMs + uint64(i)
		s.Apply(c, now)
		sn := s.snapshot(uint64(i+1), now)
		k := kept{sn: sn, want: deepWorkers(sn.Workers())}
		if w, ok := sn.Worker("worker-3"); ok {
			k.first = deepWorker(w)
		}
		snaps = append(snaps, k)
	}
	for i, k := range snaps {
		if got := k.sn.Workers(); !reflect.DeepEqual(got, k.want) {
			t.Errorf("snapshot %d changed after later commands:\n got %+v\nwant %+v", i, got, k.want)
		}
		if w, _ := k.sn.Worker("worker-3"); !reflect.DeepEqual(w, k.first) {
			t.Errorf("snapshot %d worker-3 = %+v; want %+v", i, w, k.first)
		}
	}
}

// TestSnapshotSharesUnchangedWorkers is issue 15's cost rule: a command
// that changes one worker copies that worker and its chunk; every other
// chunk and worker is shared with the previous snapshot.
func TestSnapshotSharesUnchangedWorkers(t *testing.T) {
	cfg := testConfig()
	cfg.MaxWorkers = max(cfg.MaxWorkers, 3*chunkWorkers)
	s := onlineState(t, cfg)
	for range 3 * chunkWorkers {
		mustSpawn(t, s, `{"spawn":"heartbeat","ticks":3}`, bootMs)
	}
	before := s.snapshot(1, bootMs)
	changed := chunkWorkers + 5 // position of worker-70, in the second chunk
	s.Apply(TelemetryAppend{Who: queenWho, Worker: fmt.Sprintf("worker-%d", changed+1), Data: []byte("x")}, bootMs)
	after := s.snapshot(2, bootMs)
	for ci := range after.workers.chunks {
		sameChunk := &after.workers.chunks[ci][0] == &before.workers.chunks[ci][0]
		if sameChunk != (ci != changed/chunkWorkers) {
			t.Errorf("chunk %d shared = %v; want only chunk %d copied", ci, sameChunk, changed/chunkWorkers)
		}
		for k, w := range after.workers.chunks[ci] {
			pos := ci*chunkWorkers + k
			if shared := w == before.workers.chunks[ci][k]; shared != (pos != changed) {
				t.Errorf("worker at %d shared = %v; want only position %d copied", pos, shared, changed)
			}
		}
	}
	if idle := s.snapshot(3, bootMs); !reflect.DeepEqual(idle.workers, after.workers) || &idle.workers.chunks[0] != &after.workers.chunks[0] {
		t.Errorf("a command that changed no worker republished the list")
	}
}

// TestChangedSince: for every pair of snapshots of a stream that spawns,
// changes, wraps, exhausts and kills workers, the older snapshot's
// workers with the newer one's ChangedSince(older.Seq) applied (removals,
// then changed workers replaced in place or appended) are exactly the
// newer snapshot's workers: a reader of /proc/ui/since misses nothing.
func TestChangedSince(t *testing.T) {
	cfg := testConfig()
	cfg.RingBytesPerWorker = 40
	cfg.MaxWorkers = max(cfg.MaxWorkers, 2*chunkWorkers)
	s := onlineState(t, cfg)
	var snaps []*Snapshot
	for i, c := range workerStream() {
		now := bootMs + uint64(i)
		s.Apply(c, now)
		snaps = append(snaps, s.snapshot(uint64(i+1), now))
	}
	for i, old := range snaps {
		for _, cur := range snaps[i:] {
			changed, removed, ok := cur.ChangedSince(old.Seq)
			if !ok {
				t.Fatalf("ChangedSince(%d) at seq %d: not ok", old.Seq, cur.Seq)
			}
			got := old.Workers()
			got = slices.DeleteFunc(got, func(w Worker) bool { return slices.Contains(removed, w.ID) })
			for _, w := range changed {
				if k := slices.IndexFunc(got, func(x Worker) bool { return x.ID == w.ID }); k >= 0 {
					got[k] = w
				} else {
					got = append(got, w)
				}
			}
			if want := cur.Workers(); !reflect.DeepEqual(got, want) {
				t.Fatalf("seq %d from %d: rebuilt workers differ\n got %+v\nwant %+v", cur.Seq, old.Seq, got, want)
			}
		}
	}
	last := snaps[len(snaps)-1]
	if _, _, ok := last.ChangedSince(last.Seq + 1); ok {
		t.Error("a gen ahead of the snapshot was answered")
	}
	if changed, removed, _ := last.ChangedSince(last.Seq); len(changed)+len(removed) != 0 {
		t.Errorf("nothing changed since the snapshot itself, got %d changed %d removed", len(changed), len(removed))
	}
}

// TestChangedSinceFloor: past page_workers removals the oldest are
// dropped, and a reader behind them is told to read whole.
func TestChangedSinceFloor(t *testing.T) {
	var r removals
	for i := range generated.UiProvidersProcUiPageWorkers + 3 {
		r = r.add([]string{fmt.Sprintf("worker-%d", i)}, uint64(i+1))
	}
	sn := &Snapshot{Seq: uint64(generated.UiProvidersProcUiPageWorkers + 3), removed: r}
	if _, _, ok := sn.ChangedSince(2); ok {
		t.Error("a reader behind the dropped removals was answered")
	}
	if _, removed, ok := sn.ChangedSince(3); !ok || len(removed) != generated.UiProvidersProcUiPageWorkers {
		t.Errorf("ChangedSince(3) = %d removed, ok %v", len(removed), ok)
	}
}
