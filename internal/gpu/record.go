package gpu

import (
	"encoding/json"
	"fmt"
)

// RecordSchemaVersion is the gpu-telemetry schema version.
const RecordSchemaVersion = "gpu-telemetry/v1"

// Record is one gpu-telemetry/v1 record (spec gpu-telemetry §5.3).
type Record struct {
	SchemaVersion    string     `json:"schema_version"`
	DeviceID         string     `json:"device_id"`
	ModelID          string     `json:"model_id"`
	LoraID           *string    `json:"lora_id,omitempty"`
	TimeWindow       TimeWindow `json:"time_window"`
	TokenCount       *uint64    `json:"token_count"`
	LatencyHistogram []uint64   `json:"latency_histogram"`
	Confidence       *float64   `json:"confidence,omitempty"`
	Entropy          *float64   `json:"entropy,omitempty"`
	Drift            *float64   `json:"drift,omitempty"`
	FeedbackFlags    []string   `json:"feedback_flags,omitempty"`
}

// TimeWindow is the explicit window a record covers, in Unix ms.
type TimeWindow struct {
	StartMs uint64 `json:"start_ms"`
	EndMs   uint64 `json:"end_ms"`
}

// Histogram and flag bounds from the schema descriptor.
const (
	maxHistogramBuckets = 32
	maxFeedbackFlags    = 8
)

// ParseRecord decodes and validates one record: bounded size, every
// required field, known fields only, an ordered window.
func ParseRecord(b []byte, lim Limits) (Record, error) {
	var r Record
	if len(b) > lim.RecordMax {
		return r, fmt.Errorf("record exceeds %d bytes", lim.RecordMax)
	}
	if !decodeStrict(b, &r) {
		return r, fmt.Errorf("record is not a gpu-telemetry/v1 object")
	}
	switch {
	case r.SchemaVersion != RecordSchemaVersion:
		return r, fmt.Errorf("record schema_version %q", r.SchemaVersion)
	case !ValidID(r.DeviceID, lim.IDMax):
		return r, fmt.Errorf("record device_id invalid")
	case !ValidID(r.ModelID, lim.ModelIDMax):
		return r, fmt.Errorf("record model_id invalid")
	case r.LoraID != nil && !ValidID(*r.LoraID, lim.ModelIDMax):
		return r, fmt.Errorf("record lora_id invalid")
	case r.TimeWindow.EndMs <= r.TimeWindow.StartMs:
		return r, fmt.Errorf("record time_window is empty")
	case r.TokenCount == nil:
		return r, fmt.Errorf("record token_count missing")
	case len(r.LatencyHistogram) == 0 || len(r.LatencyHistogram) > maxHistogramBuckets:
		return r, fmt.Errorf("record latency_histogram needs 1..%d buckets", maxHistogramBuckets)
	case len(r.FeedbackFlags) > maxFeedbackFlags:
		return r, fmt.Errorf("record feedback_flags exceeds %d", maxFeedbackFlags)
	}
	return r, nil
}

// SchemaDescriptor is /gpu/telemetry/schema.json: the versioned field and
// size limits of gpu-telemetry/v1.
func SchemaDescriptor(lim Limits) []byte {
	d := map[string]any{
		"schema_version":   RecordSchemaVersion,
		"max_record_bytes": lim.RecordMax,
		"required":         []string{"schema_version", "device_id", "model_id", "time_window", "token_count", "latency_histogram"},
		"optional":         []string{"lora_id", "confidence", "entropy", "drift", "feedback_flags"},
		"limits": map[string]int{
			"device_id_bytes":           lim.IDMax,
			"model_id_bytes":            lim.ModelIDMax,
			"latency_histogram_buckets": maxHistogramBuckets,
			"feedback_flags":            maxFeedbackFlags,
		},
		"time_window": "start_ms < end_ms (Unix ms); emitters clamp windows",
	}
	b, _ := json.MarshalIndent(d, "", "    ")
	return append(b, '\n')
}
