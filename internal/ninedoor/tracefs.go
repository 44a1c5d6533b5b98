package ninedoor

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/cohesix/cohesix/internal/queen"
)

// TraceFS (M7e, spec namespace §11): /trace/ctl sets the filter,
// /trace/events is the filtered event ring as JSONL, /kmesg the kmesg
// category. Both event files are tailable on the console. The queen owns
// the ring and the filter; these nodes only render snapshots.

// traceFile renders events that pass keep from the latest snapshot.
type traceFile struct {
	ReadOnly
	NotDir
	ns   *Namespace
	keep func(queen.TraceFilter, queen.TraceEvent) bool
}

func (f traceFile) render() []byte {
	tv := f.ns.q.Snapshot().Trace
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, e := range tv.Events {
		if f.keep(tv.Filter, e) {
			_ = enc.Encode(e) // one line per event
		}
	}
	return b.Bytes()
}

func (f traceFile) Stat() (Stat, error) {
	return Stat{Kind: KindReadOnly, Size: uint64(len(f.render()))}, nil
}

func (f traceFile) ReadAt(p []byte, off int64) (int, error) { return readBytes(f.render(), p, off) }

// Tail implements Tailer: the console may tail the event files.
func (traceFile) Tail(Caller) {}

// traceCtl is /trace/ctl: a read shows the filter, each written line sets it.
type traceCtl struct {
	NotDir
	ns *Namespace
}

func (f traceCtl) render() []byte {
	b, _ := json.Marshal(struct {
		Set queen.TraceFilter `json:"set"`
	}{f.ns.q.Snapshot().Trace.Filter})
	return append(b, '\n')
}

func (f traceCtl) Stat() (Stat, error) {
	return Stat{Kind: KindAppend, Size: uint64(len(f.render()))}, nil
}

func (f traceCtl) ReadAt(p []byte, off int64) (int, error) { return readBytes(f.render(), p, off) }

func (f traceCtl) Append(c Caller, p []byte, _ int64) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if _, err := f.ns.submit(queen.TraceCtl{Who: queen.WhoOf(c), Line: []byte(line)}); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (ns *Namespace) traceDir() Node {
	return Static{DirOps: DirOps{Path: "/trace"}, Entries: []Entry{
		{Name: "ctl", Node: traceCtl{ns: ns}},
		{Name: "events", Node: traceFile{ReadOnly: ReadOnly{Path: "/trace/events"}, ns: ns, keep: queen.TraceFilter.Shows}},
	}}
}

func (ns *Namespace) kmesgFile() Node {
	return traceFile{ReadOnly: ReadOnly{Path: "/kmesg"}, ns: ns, keep: func(_ queen.TraceFilter, e queen.TraceEvent) bool { return e.Cat == "kmesg" }}
}
