package queen

import (
	"iter"
	"slices"

	"github.com/cohesix/cohesix/generated"
)

// Snapshots share the worker table instead of copying it (issue 15): a
// command that changes one worker publishes a copy of that worker, of the
// chunk that holds it and of the chunk index, and shares every other
// chunk with the previous snapshot. The state keeps mutating its own
// Worker values; published ones are copies nobody writes.

// chunkWorkers is how many workers one chunk of a published list holds.
const chunkWorkers = 64

// workerList is an immutable list of published workers in spawn order.
// Every chunk but the last holds chunkWorkers workers.
type workerList struct {
	n      int
	chunks [][]*Worker
}

// all yields the workers in spawn order.
func (l workerList) all() iter.Seq[*Worker] {
	return func(yield func(*Worker) bool) {
		for _, c := range l.chunks {
			for _, w := range c {
				if !yield(w) {
					return
				}
			}
		}
	}
}

// set puts w at position pos of a list being built, copying the chunk
// first unless owned says this build already did.
func (l *workerList) set(pos int, w *Worker, owned map[int]bool) {
	ci, k := pos/chunkWorkers, pos%chunkWorkers
	for ci >= len(l.chunks) {
		l.chunks = append(l.chunks, nil)
	}
	c := l.chunks[ci]
	if !owned[ci] {
		c = append(make([]*Worker, 0, chunkWorkers), c...)
		owned[ci] = true
	}
	if k >= len(c) {
		c = c[:k+1]
	}
	c[k] = w
	l.chunks[ci] = c
}

// workerTable is the State's bookkeeping for publishing workers.
type workerTable struct {
	pub     workerList      // the list the last snapshot published
	pos     map[string]int  // a worker's position in State.order
	changed map[string]bool // workers added or changed since pub
	reorder bool            // a worker left the order: rebuild pub whole
	owned   map[int]bool    // scratch for publishWorkers
	gone    []string        // workers removed since pub
	removed removals        // published: the last workers that left
}

// removals are the last workers that left the table, each with the
// snapshot Seq that first lacked it, oldest first, at most
// ui_providers.proc_ui.page_workers of them (a change feed longer than a
// page is a full read anyway). floor is the newest Seq dropped from the
// list: a reader behind it cannot learn every removal and reads whole.
type removals struct {
	ids   []string
	seqs  []uint64
	floor uint64
}

// add records ids leaving at seq; it returns a new value (snapshots share
// the old one).
func (r removals) add(ids []string, seq uint64) removals {
	n := removals{ids: append(slices.Clip(r.ids), ids...), seqs: slices.Clip(r.seqs), floor: r.floor}
	for range ids {
		n.seqs = append(n.seqs, seq)
	}
	if over := len(n.ids) - generated.UiProvidersProcUiPageWorkers; over > 0 {
		n.floor = n.seqs[over-1]
		n.ids, n.seqs = slices.Clone(n.ids[over:]), slices.Clone(n.seqs[over:])
	}
	return n
}

// ChangedSince is the change feed of /proc/ui/since/<gen>: the workers
// published after gen (spawn order) and the ids that left after it. ok is
// false when the snapshot cannot tell (gen is ahead of it, or older than
// the removals it keeps): the reader then reads every worker.
func (sn *Snapshot) ChangedSince(gen uint64) (changed []Worker, removed []string, ok bool) {
	if gen > sn.Seq || gen < sn.removed.floor {
		return nil, nil, false
	}
	for w := range sn.workers.all() {
		if w.Gen > gen {
			changed = append(changed, *w)
		}
	}
	for i, id := range sn.removed.ids {
		if sn.removed.seqs[i] > gen {
			removed = append(removed, id)
		}
	}
	return changed, removed, true
}

// published is the copy of w a snapshot holds: appendRing writes only
// past the end of every published ring, so the data is shared, clipped so
// that a reader's append copies.
func published(w *Worker) *Worker {
	c := *w
	c.Ring.Data = slices.Clip(c.Ring.Data)
	return &c
}

// addWorker appends w to the table in spawn order.
func (s *State) addWorker(w *Worker) {
	if s.wt.pos == nil {
		s.wt.pos = map[string]int{}
	}
	s.wt.pos[w.ID] = len(s.order)
	s.workers[w.ID] = w
	s.order = append(s.order, w.ID)
	s.touch(w)
}

// removeWorker takes id out of the table (kill, restart).
func (s *State) removeWorker(id string) {
	if _, ok := s.workers[id]; ok {
		s.wt.gone = append(s.wt.gone, id)
	}
	delete(s.workers, id)
	s.order = slices.DeleteFunc(s.order, func(x string) bool { return x == id })
	s.wt.reorder = true
}

// touch marks w changed: the next snapshot publishes a fresh copy of it.
// Every write to a worker's fields is followed by touch.
func (s *State) touch(w *Worker) {
	if s.wt.changed == nil {
		s.wt.changed = map[string]bool{}
	}
	s.wt.changed[w.ID] = true
}

// publishWorkers returns the worker list for snapshot seq: the last one
// with the changed workers replaced, or all rebuilt after a removal. The
// changed workers are stamped Gen = seq, the removed ones recorded.
func (s *State) publishWorkers(seq uint64) workerList {
	t := &s.wt
	for id := range t.changed {
		if w := s.workers[id]; w != nil {
			w.Gen = seq
		}
	}
	if len(t.gone) > 0 {
		t.removed = t.removed.add(t.gone, seq)
		t.gone = t.gone[:0]
	}
	switch {
	case t.reorder:
		s.rebuildWorkers()
	case len(t.changed) > 0:
		l := workerList{n: len(s.order), chunks: slices.Clone(t.pub.chunks)}
		if t.owned == nil {
			t.owned = map[int]bool{}
		}
		for id := range t.changed {
			l.set(t.pos[id], published(s.workers[id]), t.owned)
		}
		clear(t.owned)
		t.pub = l
	}
	if len(t.changed) > chunkWorkers {
		t.changed = nil // a cleared map keeps its size, and ranging over it costs that
	} else {
		clear(t.changed)
	}
	return t.pub
}

// rebuildWorkers publishes every worker afresh and renumbers positions.
func (s *State) rebuildWorkers() {
	t := &s.wt
	t.pub, t.pos, t.reorder = workerList{n: len(s.order)}, make(map[string]int, len(s.order)), false
	owned := map[int]bool{}
	for i, id := range s.order {
		t.pos[id] = i
		t.pub.set(i, published(s.workers[id]), owned)
	}
}

// Workers returns the workers in spawn order; the slice is the caller's.
func (sn *Snapshot) Workers() []Worker {
	var ws []Worker
	if sn.workers.n > 0 {
		ws = make([]Worker, 0, sn.workers.n)
	}
	for w := range sn.workers.all() {
		ws = append(ws, *w)
	}
	return ws
}

// Worker returns the worker with id.
func (sn *Snapshot) Worker(id string) (Worker, bool) {
	for w := range sn.workers.all() {
		if w.ID == id {
			return *w, true
		}
	}
	return Worker{}, false
}

// Leases is the number of live workers in the snapshot.
func (sn *Snapshot) Leases() int {
	return countFunc(sn.workers.all(), func(w *Worker) bool { return w.Running })
}
