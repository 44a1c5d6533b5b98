package swarmui

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/cohesix/cohesix/generated"
)

// SparkMax is the most telemetry rates a worker's sparkline carries.
const SparkMax = 32 // limit-literal-ok: the contract's sparkline length (docs/SWARMUI.md)

// sparkEvery is the sparkline's sampling period: one rate (telemetry
// bytes per second) a second, so a busy hive sends one diff per worker per
// second, not one per push.
const sparkEvery = time.Second

// Worker is W of the contract.
type Worker struct {
	ID        string    `json:"id" cbor:"1,keyasint"`
	Role      string    `json:"role" cbor:"2,keyasint"`
	State     string    `json:"state" cbor:"3,keyasint"`
	Pressure  float64   `json:"pressure" cbor:"4,keyasint"`
	Reachable bool      `json:"reachable" cbor:"5,keyasint"`
	Cut       bool      `json:"cut" cbor:"6,keyasint"`
	Spark     []float64 `json:"spark" cbor:"7,keyasint"`
}

// Queen is the queen's part of a hive frame.
type Queen struct {
	Lifecycle string `json:"lifecycle" cbor:"1,keyasint"`
	Reachable bool   `json:"reachable" cbor:"2,keyasint"`
	Workers   int    `json:"workers" cbor:"3,keyasint"`
	Gen       uint64 `json:"gen" cbor:"4,keyasint"`
}

// rawWorker is one /proc/ui/workers line.
type rawWorker struct {
	id, role, state string
	ticks, ops      uint64
	budgetTicks     uint64 // 0: none
	budgetOps       uint64
	end             uint64 // telemetry_end
}

// parseUIGen parses /proc/ui/gen.
func parseUIGen(b []byte) (gen uint64, pages int, q Queen, err error) {
	f := fields(strings.TrimSpace(string(b)))
	if gen, err = strconv.ParseUint(f["gen"], 10, 64); err != nil {
		return 0, 0, q, fmt.Errorf("/proc/ui/gen: no gen in %q", clip(string(b)))
	}
	if pages, err = strconv.Atoi(f["pages"]); err != nil || pages < 0 {
		return 0, 0, q, fmt.Errorf("/proc/ui/gen: no pages in %q", clip(string(b)))
	}
	n, _ := strconv.Atoi(f["workers"])
	return gen, pages, Queen{Lifecycle: f["lifecycle"], Reachable: f["reachable"] == "yes", Workers: n, Gen: gen}, nil
}

// parseUIPage parses a /proc/ui/workers page; lines it cannot read are
// skipped (a page is capped, so its last line may be cut). It runs for
// every worker on every poll, so it scans fields in place rather than
// building a map per line.
func parseUIPage(b []byte) []rawWorker {
	var out []rawWorker
	for ln := range strings.SplitSeq(string(b), "\n") {
		id, rest, ok := strings.Cut(ln, " ")
		if !ok || id == "" {
			continue
		}
		w := rawWorker{id: id}
		haveEnd := false
		for kv := range strings.FieldsSeq(rest) {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "role":
				w.role = v
			case "state":
				w.state = v
			case "ticks":
				w.ticks, _ = strconv.ParseUint(v, 10, 64)
			case "ops":
				w.ops, _ = strconv.ParseUint(v, 10, 64)
			case "budget_ticks":
				w.budgetTicks, _ = strconv.ParseUint(v, 10, 64)
			case "budget_ops":
				w.budgetOps, _ = strconv.ParseUint(v, 10, 64)
			case "telemetry_end":
				var err error
				w.end, err = strconv.ParseUint(v, 10, 64)
				haveEnd = err == nil
			}
		}
		if haveEnd { // else a cut line
			out = append(out, w)
		}
	}
	return out
}

func fields(s string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Fields(s) {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

func clip(s string) string {
	if len(s) > generated.SwarmuiHiveLineCapBytes {
		return s[:generated.SwarmuiHiveLineCapBytes]
	}
	return s
}

// pressureStep is the pressure's resolution. The page draws it as an
// aura's size and alpha, where a hundredth is below a pixel; finer, every
// ticking worker's W would change on every poll (a budget of 100,000
// ticks moves by 2e-5 a poll) and a 1,000-worker hive would send all
// 1,000 workers five times a second for nothing visible.
const pressureStep = 100 // limit-literal-ok: hundredths, a presentation choice

// pressure is the used share of the tightest budget, 0 without one, in
// hundredths.
func (w rawWorker) pressure() float64 {
	p := 0.0
	if w.budgetTicks > 0 {
		p = max(p, float64(w.ticks)/float64(w.budgetTicks))
	}
	if w.budgetOps > 0 {
		p = max(p, float64(w.ops)/float64(w.budgetOps))
	}
	return math.Min(math.Round(p*pressureStep)/pressureStep, 1)
}

func lifecycleWord(state string) string {
	if state == "running" {
		return "ACTIVE"
	}
	return strings.ToUpper(state)
}

// tracked is what the projector keeps per worker between polls.
type tracked struct {
	w       Worker
	lastEnd uint64
	lastAt  time.Time
	missed  int // consecutive polls without the worker
}

// projector turns successive hive reads into full states and diffs. A
// worker is removed only after two polls without it: pages are read one
// by one and a removal can shift a worker across a page boundary between
// two reads, which must not flicker it away.
type projector struct {
	seq     uint64
	queen   Queen
	order   []string
	workers map[string]*tracked
}

func newProjector() *projector { return &projector{workers: map[string]*tracked{}} }

// diff is the contract's diff event.
type diff struct {
	Seq    uint64   `json:"seq"`
	Upsert []Worker `json:"upsert"`
	Remove []string `json:"remove"`
}

// frame is the contract's hive event (and a replay frame).
type Frame struct {
	Seq     uint64   `json:"seq" cbor:"1,keyasint"`
	TMs     int64    `json:"t_ms" cbor:"2,keyasint"`
	Queen   Queen    `json:"queen" cbor:"3,keyasint"`
	Workers []Worker `json:"workers" cbor:"4,keyasint"`
}

// apply folds one poll into the projection and returns the diff since the
// previous poll (empty when nothing visible changed).
func (p *projector) apply(q Queen, raws []rawWorker, now time.Time) diff {
	p.queen = q
	seen := make(map[string]bool, len(raws))
	var d diff
	for _, r := range raws {
		if seen[r.id] {
			continue
		}
		seen[r.id] = true
		t, ok := p.workers[r.id]
		if !ok {
			t = &tracked{lastEnd: r.end, lastAt: now, w: Worker{ID: r.id, Spark: []float64{}}}
			p.workers[r.id] = t
			p.order = append(p.order, r.id)
		}
		t.missed = 0
		nw := Worker{ID: r.id, Role: r.role, State: lifecycleWord(r.state), Pressure: r.pressure(),
			Reachable: q.Reachable, Cut: !q.Reachable, Spark: t.w.Spark}
		if dt := now.Sub(t.lastAt); ok && dt >= sparkEvery && r.end >= t.lastEnd {
			rate := math.Round(float64(r.end-t.lastEnd)/dt.Seconds()*10) / 10
			// An idle worker's flat line is not news: no diff for it.
			if rate > 0 || len(t.w.Spark) == 0 || t.w.Spark[len(t.w.Spark)-1] > 0 {
				nw.Spark = append(append([]float64{}, lastN(t.w.Spark, SparkMax-1)...), rate)
			}
			t.lastEnd, t.lastAt = r.end, now
		}
		if !ok || !sameWorker(t.w, nw) {
			t.w = nw
			d.Upsert = append(d.Upsert, nw)
		}
	}
	kept := p.order[:0]
	for _, id := range p.order {
		if t := p.workers[id]; !seen[id] {
			if t.missed++; t.missed >= 2 {
				delete(p.workers, id)
				d.Remove = append(d.Remove, id)
				continue
			}
		}
		kept = append(kept, id)
	}
	p.order = kept
	if len(d.Upsert)+len(d.Remove) > 0 {
		p.seq++
	}
	d.Seq = p.seq
	return d
}

func lastN(xs []float64, n int) []float64 {
	if len(xs) > n {
		return xs[len(xs)-n:]
	}
	return xs
}

func sameWorker(a, b Worker) bool {
	if a.Role != b.Role || a.State != b.State || a.Pressure != b.Pressure || a.Reachable != b.Reachable || a.Cut != b.Cut || len(a.Spark) != len(b.Spark) {
		return false
	}
	for i := range a.Spark {
		if a.Spark[i] != b.Spark[i] {
			return false
		}
	}
	return true
}

// full is the current state as a hive frame.
func (p *projector) full(now time.Time) Frame {
	f := Frame{Seq: p.seq, TMs: now.UnixMilli(), Queen: p.queen, Workers: make([]Worker, 0, len(p.order))}
	for _, id := range p.order {
		f.Workers = append(f.Workers, p.workers[id].w)
	}
	return f
}
