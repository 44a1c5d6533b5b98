package queen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/cohesix/cohesix/internal/auditline"
	"github.com/cohesix/cohesix/internal/errs"
)

// TraceFS state (M7e, spec namespace §11): a bounded ring of events with
// monotonic sequence numbers, and the filter /trace/ctl sets. Every audit
// line is an event; the boot banner arrives as kmesg events. The ring keeps
// queen.log_ring_lines events of at most queen.log_line_max_bytes of
// message each, like the log it mirrors, so a gap in seq means the oldest
// events were overwritten, nothing else.

// TraceLevels are the trace levels, most severe first; a filter at level L
// shows events at L and above.
var TraceLevels = []string{"error", "warn", "info", "debug", "trace"}

// TraceCats are the event categories.
var TraceCats = []string{"boot", "kmesg", "console", "ninep", "queen", "lifecycle", "ticket", "policy", "telemetry"}

// TraceEvent is one /trace/events record. It carries no wall time, so a
// recorded session replays byte for byte.
type TraceEvent struct {
	Seq   uint64 `json:"seq"`
	Level string `json:"level"`
	Cat   string `json:"cat"`
	Msg   string `json:"msg"`
}

// TraceFilter is the /trace/ctl setting.
type TraceFilter struct {
	Level string   `json:"level"`
	Cats  []string `json:"cats"`
}

// TraceView is the trace share of a Snapshot.
type TraceView struct {
	Events []TraceEvent // oldest first
	Filter TraceFilter
}

// Shows reports whether the filter passes e.
func (f TraceFilter) Shows(e TraceEvent) bool {
	return slices.Index(TraceLevels, e.Level) <= slices.Index(TraceLevels, f.Level) && slices.Contains(f.Cats, e.Cat)
}

type traceState struct {
	events []TraceEvent
	seq    uint64
	filter TraceFilter
}

// DefaultTraceFilter is the boot filter: info and above, every category.
func DefaultTraceFilter() TraceFilter {
	return TraceFilter{Level: "info", Cats: slices.Clone(TraceCats)}
}

// TraceEmit adds events of one category and level (the boot banner as
// kmesg, for instance).
type TraceEmit struct {
	Cat, Level string
	Lines      []string
}

// TraceCtl is one line written to /trace/ctl.
type TraceCtl struct {
	Who  Who
	Line []byte
}

func (TraceEmit) isCmd()                            {}
func (c TraceEmit) apply(s *State, _ uint64) Result { return s.traceEmit(c) }
func (TraceCtl) isCmd()                             {}
func (c TraceCtl) apply(s *State, _ uint64) Result  { return s.as(c.Who).traceCtl(c) }

// ParseTraceCtl parses one /trace/ctl line: exactly
// {"set":{"level":"<level>","cats":["<cat>",...]}} with a known level and
// one or more known categories (an empty list is refused; duplicates are
// dropped, the order kept).
func ParseTraceCtl(line []byte) (TraceFilter, error) {
	bad := func(why string) (TraceFilter, error) {
		return TraceFilter{}, errs.New(errs.ErrInvalid, "invalid trace ctl: %s", why)
	}
	line = bytes.TrimSpace(line)
	if err := checkStrictKeys(line); err != nil {
		return bad("malformed json")
	}
	var req struct {
		Set *struct {
			Level *string  `json:"level"`
			Cats  []string `json:"cats"`
		} `json:"set"`
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || dec.More() {
		return bad("malformed json")
	}
	switch {
	case req.Set == nil:
		return bad("set required")
	case req.Set.Level == nil || !slices.Contains(TraceLevels, *req.Set.Level):
		return bad("unknown level")
	case len(req.Set.Cats) == 0:
		return bad("empty cats")
	}
	f := TraceFilter{Level: *req.Set.Level}
	for _, c := range req.Set.Cats {
		if !slices.Contains(TraceCats, c) {
			return bad("unknown category " + c)
		}
		if !slices.Contains(f.Cats, c) {
			f.Cats = append(f.Cats, c)
		}
	}
	return f, nil
}

// traceCat classifies an audit line by its leading words.
func traceCat(line string) (cat, level string) {
	level = "info"
	if strings.Contains(line, "outcome=deny") || strings.Contains(line, " denied") || strings.Contains(line, "refused") {
		level = "warn"
	}
	switch {
	case strings.HasPrefix(line, "nine-door:"):
		return "ninep", level
	case strings.HasPrefix(line, "console"):
		return "console", level
	case strings.HasPrefix(line, "lifecycle"):
		return "lifecycle", level
	case strings.HasPrefix(line, "ui-ticket"):
		return "ticket", level
	case strings.HasPrefix(line, "policy"), strings.HasPrefix(line, "action"), strings.HasPrefix(line, "approval"):
		return "policy", level
	case strings.HasPrefix(line, "telemetry"), strings.HasPrefix(line, "ingest"):
		return "telemetry", level
	case strings.HasPrefix(line, "spool"):
		return "kmesg", level
	}
	return "queen", level
}

func (s *State) traceEvent(cat, level, msg string) {
	if s.tr.filter.Level == "" {
		s.tr.filter = DefaultTraceFilter()
	}
	s.tr.seq++
	// The trace ring is the log's other sink: one event is one line
	// (State.audit and TraceEmit have escaped msg).
	s.tr.events = append(s.tr.events, TraceEvent{Seq: s.tr.seq, Level: level, Cat: cat, Msg: msg})
	// Dropping the oldest by reslicing, not copying: snapshots hold
	// clipped views of the same array, and append only writes past the
	// end of every view; it reallocates once the array's tail is used up,
	// so a full ring costs O(1) per event, not a copy of the ring.
	if over := len(s.tr.events) - max(s.cfg.LogRingLines, 1); over > 0 {
		s.tr.events = s.tr.events[over:]
	}
}

func (s *State) traceEmit(c TraceEmit) Result {
	lvl := c.Level
	if !slices.Contains(TraceLevels, lvl) {
		lvl = "info"
	}
	for _, l := range c.Lines {
		if len(l) > s.cfg.LogLineMaxBytes {
			l = l[:s.cfg.LogLineMaxBytes] // as audit lines are (queen.log_line_max_bytes)
		}
		s.traceEvent(c.Cat, lvl, auditline.Line(l))
	}
	return Result{}
}

func (s *State) traceCtl(c TraceCtl) Result {
	f, err := ParseTraceCtl(c.Line)
	if err != nil {
		s.audit(fmt.Sprintf("trace ctl refused role=%s reason=invalid-payload", c.Who.Role))
		return Result{Err: err}
	}
	s.tr.filter = f
	s.audit(fmt.Sprintf("trace ctl set level=%s cats=%s", f.Level, strings.Join(f.Cats, ",")))
	return Result{}
}

func (s *State) traceView() TraceView {
	f := s.tr.filter
	if f.Level == "" {
		f = DefaultTraceFilter()
	}
	return TraceView{Events: slices.Clip(s.tr.events), Filter: f}
}
