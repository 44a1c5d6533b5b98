// Package gpumodel is the host side of the GPU model registry: the
// provenance manifest (available/<model>/manifest.toml) that coh writes and
// checks on import. The root task only stores and serves those bytes, so
// the TOML parser stays out of its image.
package gpumodel

import (
	"bytes"
	"fmt"
	"regexp"

	"github.com/pelletier/go-toml/v2"

	"github.com/cohesix/cohesix/internal/gpu"
)

// ModelManifest is available/<model>/manifest.toml: the provenance of one
// adapter (spec gpu-telemetry §4, §7).
type ModelManifest struct {
	Schema          string `toml:"schema"`
	ModelID         string `toml:"model_id"`
	ParentModelHash string `toml:"parent_model_hash"`
	TrainingJobID   string `toml:"training_job_id"`
	TelemetryWindow string `toml:"telemetry_window"`
	Approval        string `toml:"approval"`
	AdapterSHA256   string `toml:"adapter_sha256"`
	AdapterBytes    int64  `toml:"adapter_bytes"`
	LoraSHA256      string `toml:"lora_sha256"`
	MetricsSHA256   string `toml:"metrics_sha256"`
	ExportSHA256    string `toml:"export_telemetry_sha256"`
}

// ModelManifestSchema is the manifest schema id.
const ModelManifestSchema = "cohesix-model-manifest/v1"

var hexDigest = regexp.MustCompile(`^(sha256:)?[0-9a-f]{64}$`)

// Render encodes m as TOML.
func (m ModelManifest) Render() []byte {
	b, _ := toml.Marshal(m)
	return b
}

// ParseModelManifest decodes a manifest strictly and checks its
// provenance fields.
func ParseModelManifest(b []byte, lim gpu.Limits) (ModelManifest, error) {
	var m ModelManifest
	if len(b) > lim.ManifestMax {
		return m, fmt.Errorf("manifest exceeds %d bytes", lim.ManifestMax)
	}
	dec := toml.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("manifest: %v", err)
	}
	switch {
	case m.Schema != ModelManifestSchema:
		return m, fmt.Errorf("manifest schema %q, want %s", m.Schema, ModelManifestSchema)
	case !gpu.ValidID(m.ModelID, lim.ModelIDMax):
		return m, fmt.Errorf("manifest model_id invalid")
	case !hexDigest.MatchString(m.ParentModelHash):
		return m, fmt.Errorf("manifest parent_model_hash is not a sha256 digest")
	case m.TrainingJobID == "":
		return m, fmt.Errorf("manifest training_job_id missing")
	case !hexDigest.MatchString(m.AdapterSHA256) || m.AdapterBytes <= 0:
		return m, fmt.Errorf("manifest adapter digest or size missing")
	}
	return m, nil
}
