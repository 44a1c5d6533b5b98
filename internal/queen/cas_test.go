package queen

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/cohesix/cohesix/internal/errs"
)

func casConfig() Config {
	cfg := Default()
	cfg.CAS.Enable, cfg.CAS.ModelsEnable = true, true
	cfg.CAS.MaxUpdates, cfg.CAS.MaxModels, cfg.CAS.QuarantineMax = 2, 2, 2
	return cfg
}

// TestCASDecisionsSurviveRestart: accepted epochs (and so the rollback
// floor), readiness, the trusted keyset and committed models come back
// from the store; a replayed older epoch is still refused after a restart.
func TestCASDecisionsSurviveRestart(t *testing.T) {
	st := &memStore{}
	q := durableQueen(t, casConfig(), st, nil)
	do := func(q *Queen, c Cmd) Result {
		t.Helper()
		r, err := q.Do(context.Background(), c)
		if err != nil {
			t.Fatalf("%T: %v", c, err)
		}
		return r
	}
	do(q, CASAccept{Update: CASUpdate{Epoch: "7", Kind: "base", PayloadSHA256: "aa", Chunks: 1}})
	do(q, CASReady{Epoch: "7"})
	do(q, CASKeyset{Version: 3, Encoded: []byte{1, 2, 3}})
	do(q, CASModelCommit{Model: CASModel{Digest: "bb", Bytes: 9}})
	want := q.Snapshot().CAS

	again := durableQueen(t, casConfig(), st, st.records)
	got := again.Snapshot().CAS
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("restored view = %+v; want %+v", got, want)
	}
	if _, err := again.Do(context.Background(), CASAccept{Update: CASUpdate{Epoch: "007", Kind: "base"}}); !errors.Is(err, errs.ErrPermission) {
		t.Fatalf("epoch 007 after restart = %v; want a rollback refusal", err)
	}
	if _, err := again.Do(context.Background(), CASKeyset{Version: 3}); !errors.Is(err, errs.ErrPermission) {
		t.Fatalf("keyset version 3 again = %v; want a rollback refusal", err)
	}
}

// TestCASEvictsOldestKeepingDeltaBases: past max_updates the oldest epoch
// goes, unless a kept delta names it as its base.
func TestCASEvictsOldestKeepingDeltaBases(t *testing.T) {
	q := durableQueen(t, casConfig(), &memStore{}, nil)
	accept := func(u CASUpdate) *CASResult {
		t.Helper()
		r, err := q.Do(context.Background(), CASAccept{Update: u})
		if err != nil {
			t.Fatal(err)
		}
		return r.CAS
	}
	accept(CASUpdate{Epoch: "1", Kind: "base", PayloadSHA256: "p1"})
	accept(CASUpdate{Epoch: "2", Kind: "delta", DeltaEpoch: "1", DeltaSHA256: "p1"})
	res := accept(CASUpdate{Epoch: "3", Kind: "base"})
	if len(res.EvictedEpochs) != 1 || res.EvictedEpochs[0] != "2" {
		t.Fatalf("evicted %v; want [2] (epoch 1 is the base of kept delta 2 until 2 goes)", res.EvictedEpochs)
	}
	if _, ok := q.Snapshot().CAS.Update("1"); !ok {
		t.Fatal("the delta base was evicted before its delta")
	}
}
