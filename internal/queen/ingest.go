package queen

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/ns"
)

// IngestConfig bounds telemetry ingest (spec gpu-telemetry §5.4). Ingest is
// disabled when the three quotas are zero.
type IngestConfig struct {
	MaxSegments     int
	MaxSegmentBytes int
	MaxTotalBytes   int
	MaxRecordBytes  int
	MaxDevices      int
	DeviceMaxBytes  int
	Policy          string // "refuse" or "evict-oldest"
}

// DefaultIngest reads the ingest quotas from the generated tables.
func DefaultIngest() IngestConfig {
	return IngestConfig{
		MaxSegments:     generated.TelemetryIngestMaxSegmentsPerDevice,
		MaxSegmentBytes: generated.TelemetryIngestMaxBytesPerSegment,
		MaxTotalBytes:   generated.TelemetryIngestMaxTotalBytesPerDevice,
		MaxRecordBytes:  generated.TelemetryIngestMaxRecordBytes,
		MaxDevices:      generated.ClientPoliciesCohTelemetryMaxDevices,
		DeviceMaxBytes:  generated.Secure9pWalkComponentMaxBytes,
		Policy:          generated.TelemetryIngestEvictionPolicy,
	}
}

// Enabled reports whether the manifest turns ingest on.
func (c IngestConfig) Enabled() bool {
	return c.MaxSegments > 0 && c.MaxSegmentBytes > 0 && c.MaxTotalBytes > 0
}

// IngestMimes is the mime vocabulary a segment may declare (spec
// gpu-telemetry §6, the cohsh extension allowlist).
var IngestMimes = []string{"text/plain", "application/json", "application/x-ndjson", "text/csv"}

// Segment is one OS-named ingest segment. Data only grows while the
// segment exists, so snapshots share its prefix without copying.
type Segment struct {
	ID      string
	Mime    string
	Records int
	Data    []byte
}

// IngestDevice is one device under /queen/telemetry.
type IngestDevice struct {
	ID       string
	Segments []Segment // creation order, oldest first
	Latest   string    // "" when no segment exists
	Next     uint64    // next segment number, never reused
	Total    int       // bytes held over all segments
}

// Segment returns the live segment called id.
func (d *IngestDevice) Segment(id string) (Segment, bool) {
	for _, s := range d.Segments {
		if s.ID == id {
			return s, true
		}
	}
	return Segment{}, false
}

// IngestView is the immutable ingest state in a Snapshot: devices in
// creation order.
type IngestView struct {
	Devices []IngestDevice
	Jobs    []LoraJob // /queen/export/lora_jobs, creation order
}

// Device returns the device called id.
func (v *IngestView) Device(id string) (IngestDevice, bool) {
	if v == nil {
		return IngestDevice{}, false
	}
	return byID(v.Devices, id, func(d IngestDevice) string { return d.ID })
}

// IngestOutcome tells the namespace what an ingest command changed, so a
// persistent store can follow (DECISIONS D9).
type IngestOutcome struct {
	Device  string
	Segment string   // created or appended segment
	Mime    string   // for a created segment
	Record  []byte   // the appended record, newline-terminated
	Evicted []string // segments dropped by evict-oldest, oldest first
}

// IngestCtl is one line written to /queen/telemetry/<dev>/ctl.
type IngestCtl struct {
	Who    Who
	Device string
	Line   []byte
}

// IngestAppend appends one record to a segment. Off is the writer's offset
// (-1 when the transport has none); any other value must equal the end.
type IngestAppend struct {
	Who     Who
	Device  string
	Segment string
	Data    []byte
	Off     int64
}

// IngestRestore installs devices read back from a persistent store at
// boot, before any client is served.
type IngestRestore struct {
	Devices []IngestDevice
}

func (IngestCtl) isCmd()                                {}
func (c IngestCtl) apply(s *State, _ uint64) Result     { return s.as(c.Who).ingestCtl(c) }
func (IngestAppend) isCmd()                             {}
func (c IngestAppend) apply(s *State, _ uint64) Result  { return s.as(c.Who).ingestAppend(c) }
func (IngestRestore) isCmd()                            {}
func (c IngestRestore) apply(s *State, _ uint64) Result { return s.ingestRestore(c) }

// ingestState is the authority's ingest bookkeeping.
type ingestState struct {
	devices []*IngestDevice
	jobs    []LoraJob
	view    *IngestView
}

func (in *ingestState) device(id string) *IngestDevice {
	for _, d := range in.devices {
		if d.ID == id {
			return d
		}
	}
	return nil
}

// publish rebuilds the immutable view after a change.
func (in *ingestState) publish() {
	v := &IngestView{Jobs: slices.Clone(in.jobs)}
	for _, d := range in.devices {
		c := *d
		c.Segments = slices.Clone(d.Segments)
		for i := range c.Segments {
			c.Segments[i].Data = slices.Clip(c.Segments[i].Data)
		}
		v.Devices = append(v.Devices, c)
	}
	in.view = v
}

// ValidDeviceID checks a device id: non-empty, bounded, one path component,
// JSON-safe (spec gpu-telemetry §6).
func ValidDeviceID(id string, maxBytes int) bool {
	if !ns.ValidName(id, maxBytes) {
		return false
	}
	for _, r := range id {
		if r == '/' || r == '"' || r == '\\' || r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// IngestRequest is the strict schema of a telemetry ctl line: either
// {"new":"segment","mime":"<mime>"} or, to snapshot the device's segments
// as a LoRA export job, {"export":"lora-job","job":"<id>","base_model":"<ref>"}.
type IngestRequest struct {
	New       *string `json:"new"`
	Mime      *string `json:"mime"`
	Export    *string `json:"export"`
	Job       *string `json:"job"`
	BaseModel *string `json:"base_model"`
}

// ParseIngestCtl decodes one telemetry ctl line strictly.
func ParseIngestCtl(line []byte) (IngestRequest, error) {
	var r IngestRequest
	bad := errs.New(errs.ErrInvalid, "invalid payload")
	if strictJSON(line, &r) != nil {
		return r, bad
	}
	switch {
	case r.New != nil:
		if *r.New != "segment" || r.Mime == nil || !slices.Contains(IngestMimes, *r.Mime) || r.Export != nil || r.Job != nil || r.BaseModel != nil {
			return r, bad
		}
	case r.Export != nil:
		if *r.Export != "lora-job" || r.Mime != nil || r.Job == nil || r.BaseModel == nil || !ValidDeviceID(*r.Job, generated.Secure9pWalkComponentMaxBytes) || *r.BaseModel == "" || strings.ContainsAny(*r.BaseModel, "\n\r") {
			return r, bad
		}
	default:
		return r, bad
	}
	return r, nil
}

func (s *State) ingestGate(who Who, device, action string) error {
	if !s.cfg.Ingest.Enabled() {
		return errs.New(errs.ErrNotFound, "telemetry ingest is disabled")
	}
	if who.Role != "queen" {
		s.audit(fmt.Sprintf("telemetry ingest outcome=deny role=%s device=%s action=%s reason=not-queen", who.Role, device, action))
		return errs.New(errs.ErrPermission, "EPERM")
	}
	if !ValidDeviceID(device, s.cfg.Ingest.DeviceMaxBytes) {
		return errs.New(errs.ErrInvalid, "invalid path")
	}
	return s.gate("telemetry-ingest")
}

func (s *State) ingestCtl(c IngestCtl) Result {
	if err := s.ingestGate(c.Who, c.Device, "new-segment"); err != nil {
		return Result{Err: err}
	}
	req, err := ParseIngestCtl(c.Line)
	if err != nil {
		s.audit(fmt.Sprintf("telemetry ingest outcome=deny device=%s reason=invalid-payload bytes=%d", c.Device, len(c.Line)))
		return Result{Err: err}
	}
	if req.Export != nil {
		return s.loraExport(c.Device, *req.Job, *req.BaseModel)
	}
	mime := *req.Mime
	cfg := s.cfg.Ingest
	d := s.ingest.device(c.Device)
	if d == nil {
		if len(s.ingest.devices) >= cfg.MaxDevices {
			s.audit(fmt.Sprintf("telemetry quota reject device=%s reason=devices max=%d", c.Device, cfg.MaxDevices))
			return Result{Err: errs.New(errs.ErrQuota, "telemetry device quota exceeded")}
		}
		d = &IngestDevice{ID: c.Device, Next: 1}
		s.ingest.devices = append(s.ingest.devices, d)
	}
	out := &IngestOutcome{Device: d.ID, Mime: mime}
	for len(d.Segments) >= cfg.MaxSegments {
		if cfg.Policy != "evict-oldest" {
			s.audit(fmt.Sprintf("telemetry quota reject device=%s reason=segments segments=%d max=%d", d.ID, len(d.Segments), cfg.MaxSegments))
			s.ingest.publish()
			return Result{Err: errs.New(errs.ErrQuota, "telemetry segment quota exceeded")}
		}
		out.Evicted = append(out.Evicted, s.evictOldest(d))
	}
	id := fmt.Sprintf("seg-%06d", d.Next)
	d.Next++
	d.Segments = append(d.Segments, Segment{ID: id, Mime: mime})
	d.Latest = id
	out.Segment = id
	s.audit(fmt.Sprintf("telemetry ingest segment device=%s seg_id=%s mime=%s", d.ID, id, mime))
	s.ingest.publish()
	return Result{Ingest: out}
}

// evictOldest drops d's oldest segment and returns its id.
func (s *State) evictOldest(d *IngestDevice) string {
	old := d.Segments[0]
	d.Segments = slices.Delete(slices.Clone(d.Segments), 0, 1)
	d.Total -= len(old.Data)
	if d.Latest == old.ID {
		d.Latest = ""
		if n := len(d.Segments); n > 0 {
			d.Latest = d.Segments[n-1].ID
		}
	}
	s.audit(fmt.Sprintf("telemetry ingest evict device=%s seg_id=%s bytes=%d", d.ID, old.ID, len(old.Data)))
	return old.ID
}

func (s *State) ingestAppend(c IngestAppend) Result {
	if err := s.ingestGate(c.Who, c.Device, "append"); err != nil {
		return Result{Err: err}
	}
	cfg := s.cfg.Ingest
	d := s.ingest.device(c.Device)
	if d == nil {
		return Result{Err: errs.New(errs.ErrNotFound, "telemetry device %s not found", c.Device)}
	}
	idx := slices.IndexFunc(d.Segments, func(g Segment) bool { return g.ID == c.Segment })
	if idx < 0 {
		return Result{Err: errs.New(errs.ErrNotFound, "telemetry segment %s not found", c.Segment)}
	}
	seg := d.Segments[idx]
	if c.Off >= 0 && c.Off != int64(len(seg.Data)) {
		s.audit(fmt.Sprintf("telemetry ingest outcome=deny device=%s seg_id=%s reason=offset off=%d end=%d", d.ID, seg.ID, c.Off, len(seg.Data)))
		return Result{Err: errs.New(errs.ErrInvalid, "append-only offset %d; end is %d", c.Off, len(seg.Data))}
	}
	rec := c.Data
	if len(rec) == 0 || rec[len(rec)-1] != '\n' {
		rec = append(slices.Clone(rec), '\n')
	}
	if len(rec) > cfg.MaxRecordBytes {
		s.audit(fmt.Sprintf("telemetry quota reject device=%s seg_id=%s reason=record bytes=%d max=%d", d.ID, seg.ID, len(rec), cfg.MaxRecordBytes))
		return Result{Err: errs.New(errs.ErrQuota, "telemetry record exceeds %d bytes", cfg.MaxRecordBytes)}
	}
	if len(seg.Data)+len(rec) > cfg.MaxSegmentBytes {
		s.audit(fmt.Sprintf("telemetry quota reject device=%s seg_id=%s reason=segment-bytes bytes=%d max=%d", d.ID, seg.ID, len(seg.Data)+len(rec), cfg.MaxSegmentBytes))
		return Result{Err: errs.New(errs.ErrQuota, "telemetry segment size quota exceeded")}
	}
	out := &IngestOutcome{Device: d.ID, Segment: seg.ID, Record: rec}
	if d.Total+len(rec) > cfg.MaxTotalBytes {
		// Evictable bytes: every segment older than the one being written
		// and every newer one, never the target itself.
		free := d.Total - len(seg.Data)
		if cfg.Policy != "evict-oldest" || d.Total-free+len(rec) > cfg.MaxTotalBytes {
			s.audit(fmt.Sprintf("telemetry quota reject device=%s seg_id=%s reason=total-bytes bytes=%d max=%d", d.ID, seg.ID, d.Total+len(rec), cfg.MaxTotalBytes))
			return Result{Err: errs.New(errs.ErrQuota, "telemetry total byte quota exceeded")}
		}
		for d.Total+len(rec) > cfg.MaxTotalBytes {
			victim := 0
			if d.Segments[0].ID == seg.ID {
				victim = 1
			}
			old := d.Segments[victim]
			d.Segments = slices.Delete(slices.Clone(d.Segments), victim, victim+1)
			d.Total -= len(old.Data)
			if d.Latest == old.ID {
				d.Latest = d.Segments[len(d.Segments)-1].ID
			}
			s.audit(fmt.Sprintf("telemetry ingest evict device=%s seg_id=%s bytes=%d", d.ID, old.ID, len(old.Data)))
			out.Evicted = append(out.Evicted, old.ID)
		}
		idx = slices.IndexFunc(d.Segments, func(g Segment) bool { return g.ID == c.Segment })
	}
	g := &d.Segments[idx]
	g.Data = append(g.Data, rec...)
	g.Records++
	d.Total += len(rec)
	s.ingest.publish()
	return Result{Ingest: out, Offset: uint64(len(g.Data)), Written: len(c.Data)}
}

func (s *State) ingestRestore(c IngestRestore) Result {
	s.ingest.devices = nil
	for _, d := range c.Devices {
		d := d
		d.Segments = slices.Clone(d.Segments)
		d.Total = 0
		for _, g := range d.Segments {
			d.Total += len(g.Data)
		}
		s.ingest.devices = append(s.ingest.devices, &d)
	}
	s.audit(fmt.Sprintf("telemetry ingest restored devices=%d", len(c.Devices)))
	s.ingest.publish()
	return Result{}
}
