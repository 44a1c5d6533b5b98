package queen

import (
	"iter"
	"slices"
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
}

// published is the copy of w a snapshot holds: the rings' data is never
// written in place (appendRing copies), so it is shared.
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

// publishWorkers returns the worker list for a new snapshot: the last one
// with the changed workers replaced, or all rebuilt after a removal.
func (s *State) publishWorkers() workerList {
	t := &s.wt
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
