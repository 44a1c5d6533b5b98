package gpu

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/ns"
)

// SnapshotSchema is the bridge payload schema line.
const SnapshotSchema = "gpu-bridge-snapshot/v1"

// Limits bound the GPU surface; Default reads them from the manifest.
type Limits struct {
	IDMax          int
	PayloadMax     int
	ModelIDMax     int
	ManifestMax    int
	SchemaMax      int
	CtlMax         int
	LeaseMax       int
	StatusMax      int
	RecordMax      int
	CommandMax     int
	BreadcrumbMax  int
	ActiveMax      int
	BridgeLogMax   int
	BridgeStatMax  int
	JobMax         int
	ExportJobsMax  int
	ComponentBytes int
}

// DefaultLimits reads the GPU limits from the generated tables.
func DefaultLimits() Limits {
	return Limits{
		IDMax:          generated.GpuIdMaxBytes,
		PayloadMax:     generated.GpuBridgePayloadMaxBytes,
		ModelIDMax:     generated.GpuModelIdMaxBytes,
		ManifestMax:    generated.GpuModelManifestMaxBytes,
		SchemaMax:      generated.GpuSchemaMaxBytes,
		CtlMax:         generated.GpuCtlMaxBytes,
		LeaseMax:       generated.GpuLeaseMaxBytes,
		StatusMax:      generated.GpuStatusMaxBytes,
		RecordMax:      generated.GpuTelemetryRecordMaxBytes,
		CommandMax:     generated.ClientPoliciesCohRunBreadcrumbMaxCommandBytes,
		BreadcrumbMax:  generated.ClientPoliciesCohRunBreadcrumbMaxLineBytes,
		ActiveMax:      generated.GpuActiveMaxBytes,
		BridgeLogMax:   generated.GpuBridgeLogMaxBytes,
		BridgeStatMax:  generated.GpuBridgeStatusMaxBytes,
		JobMax:         generated.GpuJobMaxBytes,
		ExportJobsMax:  generated.GpuLoraJobsMax,
		ComponentBytes: generated.Secure9pWalkComponentMaxBytes,
	}
}

// Info is /gpu/<id>/info.
type Info struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	MemoryMB       uint32 `json:"memory_mb"`
	SMCount        uint32 `json:"sm_count"`
	DriverVersion  string `json:"driver_version"`
	RuntimeVersion string `json:"runtime_version"`
}

// RenderInfo is the pretty JSON of info (4-space indent, trailing newline).
func RenderInfo(i Info) []byte {
	b, _ := json.MarshalIndent(i, "", "    ")
	return append(b, '\n')
}

// decodeStrict decodes b as exactly one JSON value of v's type, refusing
// unknown fields and anything after the value.
func decodeStrict(b []byte, v any) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v) == nil && !dec.More()
}

// ParseInfo decodes an info file strictly.
func ParseInfo(b []byte) (Info, error) {
	var i Info
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&i); err != nil {
		return i, fmt.Errorf("info: %w", err)
	}
	if dec.More() {
		return i, fmt.Errorf("info: trailing data")
	}
	return i, nil
}

// Node is one GPU in a snapshot: its initial file contents.
type Node struct {
	ID     string
	Info   []byte
	Ctl    []byte
	Lease  []byte
	Status []byte
}

// Model is one available model: its id and manifest.toml.
type Model struct {
	ID       string
	Manifest []byte
}

// Snapshot is a decoded gpu-bridge-snapshot/v1 payload.
type Snapshot struct {
	Nodes  []Node
	Models []Model
	Active string
	Schema []byte
}

// ValidID checks a gpu or model id: 1..max bytes, one path component,
// printable ASCII without quotes, backslashes or spaces.
func ValidID(id string, max int) bool {
	if !ns.ValidName(id, max) {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c <= ' ' || c >= 0x7f || c == '/' || c == '"' || c == '\\' || c == '=' {
			return false
		}
	}
	return true
}

// Encode renders s as a gpu-bridge-snapshot/v1 payload.
func (s Snapshot) Encode() []byte {
	e := base64.StdEncoding.EncodeToString
	var b strings.Builder
	b.WriteString("schema " + SnapshotSchema + "\n")
	for _, n := range s.Nodes {
		fmt.Fprintf(&b, "node id=%s info=%s ctl=%s lease=%s status=%s\n", n.ID, e(n.Info), e(n.Ctl), e(n.Lease), e(n.Status))
	}
	for _, m := range s.Models {
		fmt.Fprintf(&b, "model id=%s manifest=%s\n", m.ID, e(m.Manifest))
	}
	fmt.Fprintf(&b, "active id=%s\n", s.Active)
	fmt.Fprintf(&b, "telemetry schema=%s\n", e(s.Schema))
	b.WriteString("end\n")
	return []byte(b.String())
}

// ParseSnapshot decodes a payload strictly (spec gpu-telemetry §3): the
// schema line first, every key required, unknown keywords or keys
// refused, nothing after end.
func ParseSnapshot(p []byte, lim Limits) (Snapshot, error) {
	if len(p) > lim.PayloadMax {
		return Snapshot{}, fmt.Errorf("payload exceeds %d bytes", lim.PayloadMax)
	}
	lines := strings.Split(strings.TrimSuffix(string(p), "\n"), "\n")
	if len(lines) == 0 || lines[0] != "schema "+SnapshotSchema {
		return Snapshot{}, fmt.Errorf("missing schema %s", SnapshotSchema)
	}
	sp := snapshotParser{lim: lim, ids: map[string]bool{}, models: map[string]bool{}}
	for i, line := range lines[1:] {
		if err := sp.line(line); err != nil {
			return sp.s, fmt.Errorf("line %d: %v", i+2, err)
		}
	}
	if !sp.ended || !sp.seenActive || !sp.seenSchema {
		return sp.s, fmt.Errorf("incomplete snapshot: end, active and telemetry are required")
	}
	if !sp.models[sp.s.Active] {
		return sp.s, fmt.Errorf("active model %s is not available", sp.s.Active)
	}
	return sp.s, nil
}

// snapshotParser is ParseSnapshot's state between lines.
type snapshotParser struct {
	lim                           Limits
	s                             Snapshot
	ids, models                   map[string]bool // seen gpu and model ids
	seenActive, seenSchema, ended bool
}

// snapshotKeywords parse the line of each keyword after schema.
var snapshotKeywords = map[string]func(sp *snapshotParser, kv map[string]string, rest string) error{
	"node":      (*snapshotParser).node,
	"model":     (*snapshotParser).model,
	"active":    (*snapshotParser).active,
	"telemetry": (*snapshotParser).telemetry,
	"end":       (*snapshotParser).end,
}

func (sp *snapshotParser) line(line string) error {
	if sp.ended {
		return fmt.Errorf("data after end")
	}
	word, rest, _ := strings.Cut(line, " ")
	kv, err := keyValues(rest)
	if err != nil {
		return err
	}
	parse, ok := snapshotKeywords[word]
	if !ok {
		return fmt.Errorf("unknown keyword %q", word)
	}
	return parse(sp, kv, rest)
}

func (sp *snapshotParser) node(kv map[string]string, _ string) error {
	if err := needKeys(kv, "id", "info", "ctl", "lease", "status"); err != nil {
		return err
	}
	lim := sp.lim
	n := Node{ID: kv["id"]}
	if !ValidID(n.ID, lim.IDMax) || sp.ids[n.ID] || n.ID == "bridge" || n.ID == "models" || n.ID == "telemetry" {
		return fmt.Errorf("invalid gpu id")
	}
	sp.ids[n.ID] = true
	for _, f := range []struct {
		key string
		dst *[]byte
		max int
	}{{"info", &n.Info, lim.SchemaMax}, {"ctl", &n.Ctl, lim.CtlMax}, {"lease", &n.Lease, lim.LeaseMax}, {"status", &n.Status, lim.StatusMax}} {
		var err error
		if *f.dst, err = b64(kv[f.key], f.max); err != nil {
			return fmt.Errorf("%s: %v", f.key, err)
		}
	}
	info, err := ParseInfo(n.Info)
	if err != nil || info.ID != n.ID {
		return fmt.Errorf("info does not describe %s", n.ID)
	}
	sp.s.Nodes = append(sp.s.Nodes, n)
	return nil
}

func (sp *snapshotParser) model(kv map[string]string, _ string) error {
	if err := needKeys(kv, "id", "manifest"); err != nil {
		return err
	}
	m := Model{ID: kv["id"]}
	if !ValidID(m.ID, sp.lim.ModelIDMax) || sp.models[m.ID] {
		return fmt.Errorf("invalid model id")
	}
	sp.models[m.ID] = true
	var err error
	if m.Manifest, err = b64(kv["manifest"], sp.lim.ManifestMax); err != nil {
		return fmt.Errorf("manifest: %v", err)
	}
	sp.s.Models = append(sp.s.Models, m)
	return nil
}

func (sp *snapshotParser) active(kv map[string]string, _ string) error {
	if err := needKeys(kv, "id"); err != nil || sp.seenActive {
		return fmt.Errorf("invalid active line")
	}
	sp.seenActive = true
	sp.s.Active = kv["id"]
	if !ValidID(sp.s.Active, sp.lim.ModelIDMax) {
		return fmt.Errorf("invalid model id")
	}
	return nil
}

func (sp *snapshotParser) telemetry(kv map[string]string, _ string) error {
	if err := needKeys(kv, "schema"); err != nil || sp.seenSchema {
		return fmt.Errorf("invalid telemetry line")
	}
	sp.seenSchema = true
	var err error
	if sp.s.Schema, err = b64(kv["schema"], sp.lim.SchemaMax); err != nil || !json.Valid(sp.s.Schema) {
		return fmt.Errorf("telemetry schema is not bounded JSON")
	}
	return nil
}

func (sp *snapshotParser) end(_ map[string]string, rest string) error {
	if rest != "" {
		return fmt.Errorf("end takes no keys")
	}
	sp.ended = true
	return nil
}

func keyValues(rest string) (map[string]string, error) {
	kv := map[string]string{}
	if rest == "" {
		return kv, nil
	}
	for _, f := range strings.Split(rest, " ") {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("malformed field %q", f)
		}
		if _, dup := kv[k]; dup {
			return nil, fmt.Errorf("duplicate key %s", k)
		}
		kv[k] = v
	}
	return kv, nil
}

func needKeys(kv map[string]string, keys ...string) error {
	if len(kv) != len(keys) {
		return fmt.Errorf("want keys %s", strings.Join(keys, ","))
	}
	for _, k := range keys {
		if _, ok := kv[k]; !ok {
			return fmt.Errorf("missing key %s", k)
		}
	}
	return nil
}

func b64(v string, max int) ([]byte, error) {
	if base64.StdEncoding.DecodedLen(len(v)) > max+2 {
		return nil, fmt.Errorf("exceeds %d bytes", max)
	}
	b, err := base64.StdEncoding.Strict().DecodeString(v)
	if err != nil {
		return nil, err
	}
	if len(b) > max {
		return nil, fmt.Errorf("exceeds %d bytes", max)
	}
	return b, nil
}

// SHA256Hex is the lowercase hex SHA-256 of b.
func SHA256Hex(b []byte) string {
	d := sha256.Sum256(b)
	return hex.EncodeToString(d[:])
}

// PublishLines cuts payload into the bridge ctl lines (begin, b64:
// chunks of at most chunk base64 characters, end).
func PublishLines(payload []byte, chunk int) []string {
	chunk -= chunk % 4
	enc := base64.StdEncoding.EncodeToString(payload)
	out := []string{fmt.Sprintf("begin bytes=%d sha256=%s", len(payload), SHA256Hex(payload))}
	for len(enc) > 0 {
		n := min(chunk, len(enc))
		out = append(out, "b64:"+enc[:n])
		enc = enc[n:]
	}
	return append(out, "end")
}
