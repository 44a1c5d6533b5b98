// Package tracefs is TraceFS (M7e, spec namespace §11): /trace/ctl sets
// the filter, /trace/events is the filtered event ring as JSONL, /kmesg
// the kmesg category. Both event files are tailable on the console. The
// queen owns the ring and the filter; these nodes only render snapshots.
package tracefs

import (
	"bytes"
	"encoding/json"

	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/prov"
	"github.com/cohesix/cohesix/internal/queen"
)

// Config is what the constructors need: the queen whose trace view the
// files render and to which filter lines go.
type Config struct {
	Queen prov.Queen
}

// Trace returns the /trace provider.
func Trace(cfg Config) ns.Provider {
	q := cfg.Queen
	return ns.Plain(ns.Static{DirOps: ns.DirOps{Path: "/trace"}, Entries: []ns.Entry{
		{Name: "ctl", Node: prov.LineCtl(q, func() []byte { return renderFilter(q.Snapshot().Trace.Filter) },
			func(w queen.Who, l []byte, _ int64) queen.Cmd { return queen.TraceCtl{Who: w, Line: l} })},
		{Name: "events", Node: events("/trace/events", q, queen.TraceFilter.Shows)},
	}})
}

// Kmesg returns the /kmesg provider: one file, the kmesg category.
func Kmesg(cfg Config) ns.Provider {
	return ns.Plain(events("/kmesg", cfg.Queen, func(_ queen.TraceFilter, e queen.TraceEvent) bool { return e.Cat == "kmesg" }))
}

// renderFilter is what a read of /trace/ctl shows: the filter in force.
func renderFilter(f queen.TraceFilter) []byte {
	b, _ := json.Marshal(struct {
		Set queen.TraceFilter `json:"set"`
	}{f})
	return append(b, '\n')
}

// events is a read-only file of the events that pass keep in the latest
// snapshot, one JSON line each.
func events(path string, q prov.Queen, keep func(queen.TraceFilter, queen.TraceEvent) bool) ns.Node {
	return eventFile{ns.Content{ReadOnly: ns.ReadOnly{Path: path}, Render: func() []byte {
		tv := q.Snapshot().Trace
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		for _, e := range tv.Events {
			if keep(tv.Filter, e) {
				_ = enc.Encode(e) // one line per event
			}
		}
		return b.Bytes()
	}}}
}

// eventFile is a rendered file the console may tail.
type eventFile struct{ ns.Content }

// Tail implements ns.Tailer.
func (eventFile) Tail(ns.Caller) {}

var _ ns.Tailer = eventFile{}
