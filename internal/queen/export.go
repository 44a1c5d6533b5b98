package queen

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/fxamacker/cbor/v2"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/gpu"
)

// LoraJob is one /queen/export/lora_jobs/<job>/ directory: read-only
// files the queen rendered when the job was created.
type LoraJob struct {
	ID        string
	Telemetry []byte // telemetry.cbor
	BaseModel []byte // base_model.ref
	Policy    []byte // policy.toml
}

// LoraExportSchema names the telemetry.cbor bundle.
const LoraExportSchema = "cohesix-lora-export/v1"

// LoraBundle is telemetry.cbor: the device's segments with their records
// unchanged (spec M6a: exportable unchanged).
type LoraBundle struct {
	Schema   string          `cbor:"schema"`
	Job      string          `cbor:"job"`
	Device   string          `cbor:"device"`
	Segments []LoraBundleSeg `cbor:"segments"`
}

// LoraBundleSeg is one segment in a bundle.
type LoraBundleSeg struct {
	ID      string   `cbor:"seg_id"`
	Mime    string   `cbor:"mime"`
	Records [][]byte `cbor:"records"`
}

// LoraPolicy is policy.toml.
type LoraPolicy struct {
	Schema          string   `toml:"schema"`
	Job             string   `toml:"job"`
	Device          string   `toml:"device"`
	EvictionPolicy  string   `toml:"eviction_policy"`
	MaxRecordBytes  int      `toml:"max_record_bytes"`
	Segments        []string `toml:"segments"`
	TelemetrySHA256 string   `toml:"telemetry_sha256"`
	BaseModel       string   `toml:"base_model"`
}

// Render writes the policy as TOML. The snapshot is flat (strings, one
// integer, one string array), so the root task renders it itself rather
// than link a TOML library into the seL4 image; coh parses it with one.
func (p LoraPolicy) Render() []byte {
	var b strings.Builder
	kv := func(k, v string) { b.WriteString(k + " = " + v + "\n") }
	kv("schema", tomlString(p.Schema))
	kv("job", tomlString(p.Job))
	kv("device", tomlString(p.Device))
	kv("eviction_policy", tomlString(p.EvictionPolicy))
	kv("max_record_bytes", strconv.Itoa(p.MaxRecordBytes))
	segs := make([]string, len(p.Segments))
	for i, sg := range p.Segments {
		segs[i] = tomlString(sg)
	}
	kv("segments", "["+strings.Join(segs, ", ")+"]")
	kv("telemetry_sha256", tomlString(p.TelemetrySHA256))
	kv("base_model", tomlString(p.BaseModel))
	return []byte(b.String())
}

// tomlString renders s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\u%04X", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

var cborDet, _ = cbor.CoreDetEncOptions().EncMode()

func (s *State) loraExport(device, job, base string) Result {
	deny := func(reason string, err error) Result {
		s.audit(fmt.Sprintf("lora export outcome=deny device=%s job=%s reason=%s", device, job, reason))
		return Result{Err: err}
	}
	d := s.ingest.device(device)
	if d == nil || len(d.Segments) == 0 {
		return deny("no-segments", errs.New(errs.ErrNotFound, "telemetry device %s not found", device))
	}
	if slices.ContainsFunc(s.ingest.jobs, func(j LoraJob) bool { return j.ID == job }) {
		return deny("exists", errs.New(errs.ErrInvalid, "invalid payload"))
	}
	if len(s.ingest.jobs) >= generated.GpuLoraJobsMax {
		return deny("jobs-full", errs.New(errs.ErrQuota, "buffer full"))
	}
	b := LoraBundle{Schema: LoraExportSchema, Job: job, Device: device}
	var ids []string
	for _, g := range d.Segments {
		seg := LoraBundleSeg{ID: g.ID, Mime: g.Mime, Records: [][]byte{}}
		for _, rec := range bytes.SplitAfter(g.Data, []byte("\n")) {
			if len(rec) > 0 {
				seg.Records = append(seg.Records, bytes.TrimSuffix(rec, []byte("\n")))
			}
		}
		b.Segments = append(b.Segments, seg)
		ids = append(ids, g.ID)
	}
	tel, err := cborDet.Marshal(b)
	if err != nil || len(tel) > generated.ClientPoliciesCohPeftExportMaxTelemetryBytes {
		return deny("telemetry-too-big", errs.New(errs.ErrQuota, "buffer full"))
	}
	ref := []byte(base + "\n")
	if len(ref) > generated.ClientPoliciesCohPeftExportMaxBaseModelBytes {
		return deny("base-model-too-big", errs.New(errs.ErrInvalid, "invalid payload"))
	}
	pol := (LoraPolicy{Schema: "cohesix-lora-policy/v1", Job: job, Device: device, EvictionPolicy: s.cfg.Ingest.Policy,
		MaxRecordBytes: s.cfg.Ingest.MaxRecordBytes, Segments: ids, TelemetrySHA256: gpu.SHA256Hex(tel), BaseModel: base}).Render()
	if len(pol) > generated.ClientPoliciesCohPeftExportMaxPolicyBytes {
		return deny("policy-too-big", errs.New(errs.ErrQuota, "buffer full"))
	}
	s.ingest.jobs = append(s.ingest.jobs, LoraJob{ID: job, Telemetry: tel, BaseModel: ref, Policy: pol})
	s.audit(fmt.Sprintf("lora export job=%s device=%s segments=%d telemetry_bytes=%d", job, device, len(ids), len(tel)))
	s.ingest.publish()
	return Result{}
}

// Job returns the export job called id.
func (v *IngestView) Job(id string) (LoraJob, bool) {
	if v == nil {
		return LoraJob{}, false
	}
	return byID(v.Jobs, id, func(j LoraJob) string { return j.ID })
}

// IngestEnabled reports whether the manifest enables telemetry ingest.
func (q *Queen) IngestEnabled() bool { return q.cfg.Ingest.Enabled() }
