package gpumodel

import (
	"strings"
	"testing"

	"github.com/cohesix/cohesix/internal/gpu"
)

var fuzzLim = gpu.DefaultLimits()

const digest = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseModelManifest(t *testing.T) {
	good := ModelManifest{Schema: ModelManifestSchema, ModelID: "lora-a", ParentModelHash: digest, TrainingJobID: "job-1", AdapterSHA256: digest, AdapterBytes: 3}
	for _, tc := range []struct {
		name string
		in   string
		want string // "" = accepted, else a substring of the error
	}{
		{"rendered manifest", string(good.Render()), ""},
		{"unknown key", string(good.Render()) + "extra = 1\n", "manifest:"},
		{"wrong schema", strings.Replace(string(good.Render()), ModelManifestSchema, "other/v1", 1), "manifest schema"},
		{"bad parent digest", strings.Replace(string(good.Render()), "parent_model_hash = '"+digest, "parent_model_hash = 'xyz", 1), "parent_model_hash"},
		{"oversize", strings.Repeat("#", fuzzLim.ManifestMax+1), "exceeds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseModelManifest([]byte(tc.in), fuzzLim)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("ParseModelManifest(%q) = %v; want %q", tc.in, err, tc.want)
			}
		})
	}
}

// FuzzParseModelManifest: accepted manifests render and parse again.
func FuzzParseModelManifest(f *testing.F) {
	f.Add(ModelManifest{Schema: ModelManifestSchema, ModelID: "lora-a", ParentModelHash: digest, TrainingJobID: "job-1", AdapterSHA256: digest, AdapterBytes: 3}.Render())
	f.Add([]byte("schema = 1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseModelManifest(b, fuzzLim)
		if err != nil {
			return
		}
		if _, err := ParseModelManifest(m.Render(), fuzzLim); err != nil {
			t.Fatalf("ParseModelManifest(Render(%+v)) = %v", m, err)
		}
	})
}
