package queen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cohesix/cohesix/internal/errs"
)

// memStore is a Store in memory that counts writes (each one stands for
// one fsync) and can hold or fail them.
type memStore struct {
	mu      sync.Mutex
	records [][]byte
	writes  int
	fail    error
	hold    chan struct{} // if set, the first write waits for it
}

func (m *memStore) Append(records ...[]byte) error {
	if m.hold != nil {
		<-m.hold
		m.hold = nil // only the queen goroutine writes
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writes++
	if m.fail != nil {
		return m.fail
	}
	m.records = append(m.records, records...)
	return nil
}

// logged returns the log lines the store holds.
func (m *memStore) logged() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, l := range LogLines(m.records) {
		out = append(out, l.Line)
	}
	return out
}

// durableQueen starts a queen writing to st, restored from records.
func durableQueen(t *testing.T, cfg Config, st Store, records [][]byte) *Queen {
	t.Helper()
	q := New(cfg, newFakeClock(bootMs), 256)
	q.UseStore(st, records, "")
	runQueen(t, q, nil)
	if _, err := q.Do(context.Background(), LogAppend{}); err != nil { // restore and boot applied
		t.Fatal(err)
	}
	return q
}

// TestLogLinesRestoreInOrder: every log line (audit lines and user
// appends) reaches the store, and a queen restored from those records
// shows the newest ring's worth of them in order, continues their
// numbering and never reuses a worker id.
func TestLogLinesRestoreInOrder(t *testing.T) {
	cfg := testConfig()
	cfg.LogRingLines = 8
	st := &memStore{}
	q := durableQueen(t, cfg, st, nil)
	ctx := context.Background()
	var want []string
	for i := range 20 {
		line := fmt.Sprintf("user line %d", i)
		if _, err := q.Do(ctx, LogAppend{Lines: []string{line}}); err != nil {
			t.Fatal(err)
		}
		want = append(want, line)
	}
	r, err := q.Do(ctx, CtlWrite{Who: queenWho, Line: []byte(`{"spawn":"heartbeat","ticks":1}`)})
	if err != nil || r.Worker != "worker-1" {
		t.Fatalf("spawn = %+v, %v; want worker-1", r, err)
	}
	if _, err := q.Do(ctx, CtlWrite{Who: queenWho, Line: []byte(`{"kill":"worker-1"}`)}); err != nil {
		t.Fatal(err)
	}
	before := q.Snapshot()
	stored := st.logged()
	if !slices.Equal(stored[len(stored)-len(before.Log):], before.Log) {
		t.Fatalf("store holds %q;\nthe ring is %q", stored, before.Log)
	}
	for _, l := range want {
		if !slices.Contains(stored, l) {
			t.Errorf("acknowledged %q is not in the store", l)
		}
	}

	again := &memStore{}
	q2 := durableQueen(t, cfg, again, st.records)
	after := q2.Snapshot()
	// The ring: the newest lines of the old run, then this boot's lines.
	old := slices.IndexFunc(after.Log, func(l string) bool { return l == before.Log[len(before.Log)-1] })
	if old < 0 || !slices.Equal(after.Log[:old+1], before.Log[len(before.Log)-old-1:]) {
		t.Fatalf("restored ring %q;\ndoes not end the old ring %q in order", after.Log, before.Log)
	}
	if after.LogTotal <= before.LogTotal {
		t.Errorf("LogTotal after restore %d; want past %d", after.LogTotal, before.LogTotal)
	}
	r, err = q2.Do(ctx, CtlWrite{Who: queenWho, Line: []byte(`{"spawn":"heartbeat","ticks":1}`)})
	if err != nil || r.Worker != "worker-2" {
		t.Fatalf("spawn after restore = %+v, %v; want worker-2 (worker-1 was used)", r, err)
	}
	lines := LogLines(again.records)
	for i := 1; i < len(lines); i++ {
		if lines[i].N != lines[i-1].N+1 || lines[i].N <= before.LogTotal {
			t.Fatalf("line numbers after restore %d then %d; want consecutive past %d", lines[i-1].N, lines[i].N, before.LogTotal)
		}
	}
}

// TestCompactRecordsKeepsNewestLog: compaction keeps every governance
// record, the last worker counter and the newest keepLog lines; merging
// the archive with the compacted generation gives every line once.
func TestCompactRecordsKeepsNewestLog(t *testing.T) {
	s := NewState(testConfig(), bootMs)
	s.durable = true
	s.persist(record{K: "journal", Line: `{"seq":1}`})
	var all []LogLine
	for i := range 10 {
		s.audit(fmt.Sprintf("line %d", i))
		all = append(all, LogLine{N: s.logTotal, Line: fmt.Sprintf("line %d", i)})
		s.newWorkerID()
	}
	s.persist(record{K: "lifecycle", State: "ONLINE"})
	archive := s.takePersist()
	kept := CompactRecords(archive, 3)
	if got := LogLines(kept); !slices.Equal(got, all[7:]) {
		t.Fatalf("kept log %v; want the newest three %v", got, all[7:])
	}
	gov := 0
	for _, b := range kept {
		if !IsLogRecord(b) {
			gov++
		}
	}
	if gov != 3 {
		t.Fatalf("kept %d non-log records; want journal, lifecycle and one worker counter", gov)
	}
	r := NewState(testConfig(), bootMs)
	r.restore(Restore{Records: kept}, bootMs)
	if r.nextWorker != 11 {
		t.Errorf("next worker after compaction %d; want 11", r.nextWorker)
	}
	if got := MergeLog(LogLines(archive), LogLines(kept)); !slices.Equal(got, all) {
		t.Errorf("archive+live = %v; want %v", got, all)
	}
}

// heldBatch queues clients LogAppends ("client <i>") behind a held store
// write, then calls release (to let the write go, or to fail it first)
// and returns each client's error once all have their results. check, if
// set, runs in each client right after its result.
func heldBatch(t *testing.T, clients int, release func(*memStore), check func(st *memStore, line string, err error) error) (*Queen, *memStore, []error) {
	t.Helper()
	cfg := testConfig()
	cfg.FsyncBatchMax = 64
	st := &memStore{hold: make(chan struct{})}
	q := New(cfg, newFakeClock(bootMs), 256)
	q.UseStore(st, nil, "")
	runQueen(t, q, nil)
	// The restore write is held: every client queues behind it.
	var queued, done sync.WaitGroup
	queued.Add(clients)
	done.Add(clients)
	errc := make(chan error, clients)
	for i := range clients {
		go func() {
			defer done.Done()
			line := fmt.Sprintf("client %d", i)
			_, err := q.DoQueued(context.Background(), LogAppend{Lines: []string{line}}, queued.Done)
			if check != nil {
				err = check(st, line, err)
			}
			errc <- err
		}()
	}
	queued.Wait()
	release(st)
	done.Wait()
	close(errc)
	var errs []error
	for err := range errc {
		errs = append(errs, err)
	}
	return q, st, errs
}

// clientLines are the "client <i>" lines of lines, in their order.
func clientLines(lines []string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, "client ") {
			out = append(out, l)
		}
	}
	return out
}

// TestGroupCommit: requests waiting in the inbox while a write is in
// progress are applied and written together with one store write (fewer
// writes than commands), in inbox order, and no one gets its result
// before its line is in the store.
func TestGroupCommit(t *testing.T) {
	const clients = 32
	q, st, errs := heldBatch(t, clients, func(st *memStore) { close(st.hold) }, func(st *memStore, line string, err error) error {
		if err == nil && !slices.Contains(st.logged(), line) {
			return fmt.Errorf("%s acknowledged before it was written", line)
		}
		return err
	})
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	st.mu.Lock()
	writes := st.writes
	st.mu.Unlock()
	// restore + boot, then the clients in at most clients/FsyncBatchMax+1 batches.
	if writes >= clients {
		t.Errorf("%d store writes for %d commands; want group commit", writes, clients)
	}
	// Inbox order is apply order is log order.
	order, ring := clientLines(st.logged()), clientLines(q.Snapshot().Log)
	if !slices.Equal(order, ring) || len(order) != clients {
		t.Errorf("store order %q; ring order %q", order, ring)
	}
}

// TestGroupCommitFailureRefusesBatch: when the write fails, every command
// of the batch is refused with ErrBusy, none acknowledged.
func TestGroupCommitFailureRefusesBatch(t *testing.T) {
	q, _, errList := heldBatch(t, 8, func(st *memStore) {
		st.mu.Lock()
		st.fail = errors.New("disk full")
		st.mu.Unlock()
		close(st.hold)
	}, nil)
	for _, err := range errList {
		if !errors.Is(err, errs.ErrBusy) {
			t.Errorf("a command of a failed batch got %v; want ErrBusy", err)
		}
	}
	if !slices.ContainsFunc(q.Snapshot().Log, func(l string) bool {
		return strings.HasPrefix(l, "spool write failed") && strings.HasSuffix(l, `err="disk full"`)
	}) {
		t.Errorf("no spool write failed line in %q", q.Snapshot().Log)
	}
}

// FuzzRestoreRecords: any spool record restores without panicking, keeps
// the ring within queen.log_ring_lines, never moves the worker counter
// or the line count backwards and never lists a worker whose id the
// counter could issue again; LogLines reads only log records.
func FuzzRestoreRecords(f *testing.F) {
	f.Add([]byte(`{"k":"log","n":7,"l":"spawn worker=worker-1"}`))
	f.Add([]byte(`{"k":"worker","n":12}`))
	f.Add([]byte(`{"k":"log","n":18446744073709551615,"l":""}`))
	f.Add([]byte(`{"k":"log"`))
	f.Add([]byte(`{"k":"spawn","id":"worker-3","since":5,"role":"worker-heartbeat","budget":{"ticks":9}}`))
	f.Add([]byte(`{"k":"spawn","id":"worker-18446744073709551615","role":"worker-gpu","budget":{}}`))
	f.Add([]byte(`{"k":"exit","id":"worker-3","reason":"ticks","ticks":9}`))
	f.Add([]byte(`{"k":"kill","id":"worker-3","reason":"restart"}`))
	f.Add([]byte(`{"k":"budget","budget":{"ops":1}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg := testConfig()
		cfg.LogRingLines = 2
		s := NewState(cfg, bootMs)
		recs := [][]byte{b, b, b}
		s.gov.restoring = true // the records alone, without this boot's lines
		for _, rec := range recs {
			var r record
			if json.Unmarshal(rec, &r) == nil {
				s.restoreRecord(r)
			}
		}
		if len(s.log) > cfg.LogRingLines || s.nextWorker < 1 {
			t.Fatalf("restore(%q): ring %d lines, next worker %d", b, len(s.log), s.nextWorker)
		}
		for _, id := range s.order {
			if n, ok := workerNum(id); !ok || n >= s.nextWorker || s.workers[id] == nil {
				t.Fatalf("restore(%q): worker %s in a table of %d, next worker %d", b, id, len(s.workers), s.nextWorker)
			}
		}
		for _, l := range LogLines(recs) {
			if s.logTotal < l.N {
				t.Fatalf("restore(%q): line count %d below a restored line %d", b, s.logTotal, l.N)
			}
		}
	})
}

// TestRestoreDoesNotRepeatTruncation: replaying a journal that once
// overflowed its ring shows the truncation audit line once, the durable
// one, not again for the replay.
func TestRestoreDoesNotRepeatTruncation(t *testing.T) {
	cfg := testConfig()
	cfg.Gov.JournalMaxBytes = 64
	s := NewState(cfg, bootMs)
	s.durable = true
	for i := range 4 {
		s.ringLine(&s.gov.audit.journal, "journal", fmt.Appendf(nil, `{"seq":%d,"pad":"xxxxxxxxxx"}`, i+1), cfg.Gov.JournalMaxBytes)
	}
	r := NewState(cfg, bootMs)
	r.restore(Restore{Records: s.takePersist()}, bootMs)
	var want, got int
	for _, l := range s.log {
		if strings.HasPrefix(l, "audit journal truncation") {
			want++
		}
	}
	for _, l := range r.log {
		if strings.HasPrefix(l, "audit journal truncation") {
			got++
		}
	}
	if want == 0 || got != want {
		t.Errorf("%d truncation lines after restore; want the %d written", got, want)
	}
}
