package queen

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pelletier/go-toml/v2"
)

// The hand-rendered policy.toml must be TOML that a real parser reads back
// to the same values, odd characters included.
func TestLoraPolicyRenderIsTOML(t *testing.T) {
	want := LoraPolicy{Schema: "cohesix-lora-policy/v1", Job: `job "1"\x`, Device: "dev\ttab\u0001", EvictionPolicy: "evict-oldest",
		MaxRecordBytes: 4096, Segments: []string{"seg-000001", "seg-000002"}, TelemetrySHA256: "ab", BaseModel: "base"}
	var got LoraPolicy
	dec := toml.NewDecoder(bytes.NewReader(want.Render()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("decode %s: %v", want.Render(), err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}
