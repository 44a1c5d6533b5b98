package store

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/cohesix/cohesix/internal/blockdev"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/spool"
)

// IngestSpoolName is the telemetry ingest spool's file name inside the
// state dir, beside the governance spool (DECISIONS D9).
const IngestSpoolName = "ingest.spool"

// ingestRec is one spool record: a segment created through ctl ("seg") or
// a record appended to one ("rec"), after evicting the segments listed.
// Compaction also writes "dev" (a device and its next segment number, so
// ids are never reused after a restart) and "dat" (a run of a segment's
// bytes; N on the "seg" before it restores the record count).
type ingestRec struct {
	Kind    string   `json:"k"`
	Device  string   `json:"d"`
	Segment string   `json:"s,omitempty"`
	Mime    string   `json:"m,omitempty"`
	Data    []byte   `json:"r,omitempty"`
	Evicted []string `json:"e,omitempty"`
	N       uint64   `json:"n,omitempty"`
}

// compactChunk bounds a "dat" record well inside spool.MaxRecord after
// base64 and the JSON envelope.
const compactChunk = spool.MaxRecord / 2

// IngestStore keeps telemetry ingest segments in an append-only,
// checksummed spool (internal/spool): every accepted outcome is written
// and fsynced before the writer is answered, and replayed at the next
// start. It mirrors the live segments so it can compact the spool (at
// start, and when the spool outgrows compactAt) without the evicted data.
// Record is called under the namespace's ingest lock; mu guards the rest.
type IngestStore struct {
	mu        sync.Mutex
	sp        *spool.Spool          // guarded by mu
	devices   []*queen.IngestDevice // guarded by mu; creation order
	compactAt int64
}

// OpenIngestStore opens dir's ingest spool, replays it into the devices
// it describes (a torn tail is cut off and described in torn) and
// rewrites it compacted. compactAt bounds the spool's size before it is
// compacted again at run time.
func OpenIngestStore(dir string, compactAt int64) (st *IngestStore, devices []queen.IngestDevice, torn string, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, "", fmt.Errorf("state dir %s: %w", dir, err)
	}
	sp, recs, t, err := spool.Open(filepath.Join(dir, IngestSpoolName))
	if err != nil {
		return nil, nil, "", err
	}
	return openIngest(sp, recs, t, compactAt)
}

// OpenIngestDevice is OpenIngestStore on a device region (a disk and no
// state dir: seL4). The spool is compacted before it passes half a half's
// room, whatever compactAt says: persistence.ingest_bytes is sized so
// that what ingest holds live fits under it.
func OpenIngestDevice(d blockdev.Device, compactAt int64) (st *IngestStore, devices []queen.IngestDevice, torn string, err error) {
	sp, recs, t, err := spool.OpenDevice(d)
	if err != nil {
		return nil, nil, "", fmt.Errorf("ingest spool device: %w", err)
	}
	return openIngest(sp, recs, t, min(compactAt, sp.Capacity()/2))
}

func openIngest(sp *spool.Spool, recs [][]byte, t *spool.Torn, compactAt int64) (st *IngestStore, devices []queen.IngestDevice, torn string, err error) {
	if t != nil {
		torn = fmt.Sprintf("ingest spool torn tail truncated offset=%d dropped_bytes=%d reason=%s", t.Offset, t.Dropped, t.Reason)
	}
	st = &IngestStore{sp: sp, compactAt: compactAt}
	for i, b := range recs {
		var r ingestRec
		if err := json.Unmarshal(b, &r); err != nil {
			sp.Close()
			return nil, nil, "", fmt.Errorf("ingest spool record %d: %w", i, err)
		}
		st.apply(r)
	}
	if err := st.compact(); err != nil {
		sp.Close()
		return nil, nil, "", err
	}
	for _, d := range st.devices {
		c := *d
		c.Segments = slices.Clone(d.Segments)
		for i := range c.Segments {
			c.Segments[i].Data = slices.Clone(c.Segments[i].Data)
		}
		devices = append(devices, c)
	}
	return st, devices, torn, nil
}

// Record implements queen.IngestStore.
func (st *IngestStore) Record(o queen.IngestOutcome) error {
	r := ingestRec{Kind: "seg", Device: o.Device, Segment: o.Segment, Mime: o.Mime, Evicted: o.Evicted}
	if o.Record != nil {
		r = ingestRec{Kind: "rec", Device: o.Device, Segment: o.Segment, Data: o.Record, Evicted: o.Evicted}
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := st.sp.Append(b); err != nil {
		return err
	}
	st.apply(r)
	if st.sp.Size() > st.compactAt {
		return st.compact()
	}
	return nil
}

// Close closes the spool.
func (st *IngestStore) Close() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.sp.Close()
}

func (st *IngestStore) device(id string) *queen.IngestDevice {
	for _, d := range st.devices {
		if d.ID == id {
			return d
		}
	}
	d := &queen.IngestDevice{ID: id, Next: 1}
	st.devices = append(st.devices, d)
	return d
}

// apply replays one record onto the mirror exactly as the queen applied
// it: evictions first, then the new segment or the appended record.
func (st *IngestStore) apply(r ingestRec) {
	d := st.device(r.Device)
	for _, e := range r.Evicted {
		if i := slices.IndexFunc(d.Segments, func(g queen.Segment) bool { return g.ID == e }); i >= 0 {
			d.Total -= len(d.Segments[i].Data)
			d.Segments = slices.Delete(d.Segments, i, i+1)
		}
	}
	switch r.Kind {
	case "dev":
		d.Next = max(d.Next, r.N)
	case "seg":
		d.Segments = append(d.Segments, queen.Segment{ID: r.Segment, Mime: r.Mime, Records: int(r.N)})
		if n, err := strconv.ParseUint(strings.TrimPrefix(r.Segment, "seg-"), 10, 64); err == nil && n >= d.Next {
			d.Next = n + 1 // ids are never reused, even after eviction
		}
	case "rec", "dat":
		if i := slices.IndexFunc(d.Segments, func(g queen.Segment) bool { return g.ID == r.Segment }); i >= 0 {
			g := &d.Segments[i]
			g.Data = append(g.Data, r.Data...)
			if r.Kind == "rec" {
				g.Records++
			}
			d.Total += len(r.Data)
		}
	}
	// latest is the newest live segment: creation sets it, eviction moves
	// it to the newest remaining (spec gpu-telemetry §5.4).
	d.Latest = ""
	if n := len(d.Segments); n > 0 {
		d.Latest = d.Segments[n-1].ID
	}
}

// compact rewrites the spool as the live segments alone (spool.Rewrite:
// a file is written, synced and renamed over the old one; a device spool
// writes its other half).
func (st *IngestStore) compact() error {
	var recs [][]byte
	add := func(r ingestRec) {
		b, _ := json.Marshal(r)
		recs = append(recs, b)
	}
	for _, d := range st.devices {
		add(ingestRec{Kind: "dev", Device: d.ID, N: d.Next})
		for _, g := range d.Segments {
			add(ingestRec{Kind: "seg", Device: d.ID, Segment: g.ID, Mime: g.Mime, N: uint64(g.Records)})
			for b := g.Data; len(b) > 0; {
				n := min(len(b), compactChunk)
				add(ingestRec{Kind: "dat", Device: d.ID, Segment: g.ID, Data: b[:n]})
				b = b[n:]
			}
		}
	}
	if err := st.sp.Rewrite("", recs); err != nil {
		return fmt.Errorf("compact ingest spool: %w", err)
	}
	return nil
}
