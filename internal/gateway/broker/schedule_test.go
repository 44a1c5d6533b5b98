package broker

import (
	"fmt"
	"testing"
)

// FuzzSchedule drives the scheduling rule (pick, push, remove) with no
// goroutines: any sequence of arrivals, give-ups, dispatches and returns
// keeps each key's calls in order, never serves more than ControlWeight
// control calls in a row while telemetry could go, never serves telemetry
// while control waits below that weight, never serves a key twice while
// another key of its class waits for its turn (round robin), keeps depth
// within the bound, and never lets telemetry hold every worker.
func FuzzSchedule(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, uint8(2))
	f.Add([]byte{0, 0, 0, 0, 16, 16, 1, 255, 255, 255, 255, 255}, uint8(1))
	f.Add([]byte{0, 32, 0, 32, 0, 32, 200, 201, 202, 203, 204}, uint8(3))
	f.Add([]byte{16, 17, 18, 200, 200, 200, 101, 200, 0, 200}, uint8(0)) // a telemetry flood, then control

	f.Fuzz(func(t *testing.T, ops []byte, weight uint8) {
		s := newSchedule(t, int(weight%4)+1)
		defer s.drain()
		for _, op := range ops {
			switch {
			case op >= 200: // a worker takes the next call
				s.dispatch()
			case op >= 150: // a waiting caller gives up
				s.giveUp(int(op))
			case op >= 100: // a running call of class op&1 returns
				if q := &s.b.classes[op&1]; q.running > 0 {
					q.running--
				}
			default: // a call arrives: class from bit 4, key from bits 0-1
				s.arrive(Class(op>>4&1), fmt.Sprintf("k%d", op&3))
			}
		}
	})
}

// schedule is a Broker without workers plus the model the fuzz checks.
type schedule struct {
	t       *testing.T
	b       *Broker
	seq     int
	waiting []*call                                // every queued call, for giveUp
	next    map[string]int                         // class/key → the seq of the last call served
	sent    map[*call]int                          // call → its arrival seq
	passed  [numClasses]map[string]map[string]bool // waiting key → keys served since it joined or was served
	run     int                                    // control calls in a row while telemetry waited
}

func newSchedule(t *testing.T, weight int) *schedule {
	b := &Broker{cfg: Config{ControlQueue: 5, TelemetryQueue: 3, Workers: 3, ControlWeight: weight}.withDefaults()}
	b.classes[Control].init(b.cfg.ControlQueue)
	b.classes[Telemetry].init(b.cfg.TelemetryQueue)
	s := &schedule{t: t, b: b, next: map[string]int{}, sent: map[*call]int{}}
	for i := range s.passed {
		s.passed[i] = map[string]map[string]bool{}
	}
	return s
}

func (s *schedule) arrive(class Class, key string) {
	q := &s.b.classes[class]
	if q.depth >= q.capacity {
		return // Do would answer ErrOverflow
	}
	if _, ok := q.byKey[key]; !ok {
		s.passed[class][key] = map[string]bool{} // joins the ring: its wait starts
	}
	c := &call{class: class, key: key}
	s.seq++
	s.sent[c] = s.seq
	q.push(c)
	s.waiting = append(s.waiting, c)
	if q.depth > q.capacity {
		s.t.Fatalf("depth %d over capacity %d", q.depth, q.capacity)
	}
}

func (s *schedule) giveUp(i int) {
	if len(s.waiting) == 0 {
		return
	}
	i %= len(s.waiting)
	c := s.waiting[i]
	s.b.classes[c.class].remove(c)
	if _, ok := s.b.classes[c.class].byKey[c.key]; !ok {
		delete(s.passed[c.class], c.key) // left the ring
	}
	s.waiting = append(s.waiting[:i], s.waiting[i+1:]...)
}

// drain completes and dispatches until nothing waits.
func (s *schedule) drain() {
	for {
		for i := range s.b.classes {
			s.b.classes[i].running = 0
		}
		if !s.dispatch() {
			return
		}
	}
}

func (s *schedule) dispatch() bool {
	ctl, tel := s.b.classes[Control].depth, s.b.classes[Telemetry].depth
	telReady := tel > 0 && s.b.classes[Telemetry].running < s.b.telemetrySlots()
	c := s.b.pick()
	if c == nil {
		if ctl > 0 || telReady {
			s.t.Fatalf("pick() = nil with %d control and %d telemetry (ready %v) waiting", ctl, tel, telReady)
		}
		return false
	}
	s.b.classes[c.class].running++
	if r := s.b.classes[Telemetry].running; r > s.b.telemetrySlots() {
		s.t.Fatalf("%d telemetry calls running; want ≤ %d of %d workers", r, s.b.telemetrySlots(), s.b.cfg.Workers)
	}
	s.checkClass(c, ctl, telReady)
	id := c.class.String() + "/" + c.key
	if s.sent[c] <= s.next[id] {
		s.t.Fatalf("%s served call %d after call %d: out of order", id, s.sent[c], s.next[id])
	}
	s.next[id] = s.sent[c]
	s.checkTurn(c)
	for i, w := range s.waiting {
		if w == c {
			s.waiting = append(s.waiting[:i], s.waiting[i+1:]...)
			break
		}
	}
	return true
}

// checkClass holds the weighted rule against what waited before pick.
func (s *schedule) checkClass(c *call, ctl int, telReady bool) {
	w := s.b.cfg.ControlWeight
	switch {
	case c.class == Telemetry && !telReady:
		s.t.Fatal("telemetry served while it had no free slot")
	case c.class == Control && telReady:
		s.run++
		if s.run > w {
			s.t.Fatalf("%d control calls in a row while telemetry waited; weight %d", s.run, w)
		}
	case c.class == Control:
		s.run = 0
	case ctl > 0 && s.run < w:
		s.t.Fatalf("telemetry served while control waited after only %d of %d", s.run, w)
	default:
		s.run = 0
	}
}

// checkTurn holds round robin: since a key joined the ring or was last
// served, every other key is served at most once before it.
func (s *schedule) checkTurn(c *call) {
	for y, served := range s.passed[c.class] {
		if y == c.key {
			continue
		}
		if served[c.key] {
			s.t.Fatalf("key %s served twice while key %s waited for its turn", c.key, y)
		}
		served[c.key] = true
	}
	s.passed[c.class][c.key] = map[string]bool{}
	if _, ok := s.b.classes[c.class].byKey[c.key]; !ok {
		delete(s.passed[c.class], c.key) // served its last call: left the ring
	}
}
