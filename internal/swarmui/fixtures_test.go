package swarmui

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite cmd/swarmui/testdata from the generators")

const testdata = "../../cmd/swarmui/testdata"

// TestFixtures keeps the committed replay fixtures equal to what the
// generators produce (go test ./internal/swarmui -run TestFixtures -update
// rewrites them), and checks that each replays.
func TestFixtures(t *testing.T) {
	tr, err := FixtureTrace()
	if err != nil {
		t.Fatal(err)
	}
	s10, err := EncodeSnapshotUntil(FixtureFrames(10, 20), FixtureCreated, FixtureExpires)
	if err != nil {
		t.Fatal(err)
	}
	s1000, err := EncodeSnapshotUntil(FixtureFrames(1000, 4), FixtureCreated, FixtureExpires)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"snapshot_10.cbor": s10, "snapshot_1000.cbor": s1000, "canonical.trace": tr}
	for name, want := range files {
		path := filepath.Join(testdata, name)
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to generate)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from its generator; run go test ./internal/swarmui -run TestFixtures -update", name)
		}
		kind, frames, err := DecodeReplay(got, FixtureCreated)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(frames) == 0 {
			t.Fatalf("%s: no frames (%s)", name, kind)
		}
	}
}
