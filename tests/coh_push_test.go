package tests

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cohesix/cohesix/internal/ingest"
	"github.com/cohesix/cohesix/internal/ticket"
)

// TestCohTelemetryPush: coh telemetry push makes one segment of envelope
// records per file, over the pipelined session; the records in the hive
// reassemble into the file. Files are checked before anything is sent: an
// unknown extension or an oversized file refuses the whole push and
// creates no segment.
func TestCohTelemetryPush(t *testing.T) {
	bin := binaries(t, "roottask", "cmd/coh")
	rt := startRootTask(t, bin, false)
	q := rt.nine(t, ticket.RoleQueen, "")
	coh := func(args ...string) (string, int) {
		return tool(t, bin, "coh", append([]string{"--9p-port", port(rt.NinePAddr)}, args...)...)
	}
	dir := t.TempDir()
	var text strings.Builder
	for i := 0; text.Len() < 20000; i++ {
		text.WriteString("line ")
		text.WriteString(strings.Repeat("é\"\\", i%7))
		text.WriteString("\n")
	}
	files := map[string]string{
		"a.txt":  text.String(),
		"b.json": `{"tokens":42,"latency_ms":[1,2,3]}` + "\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a, b := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.json")
	out, code := coh("telemetry", "push", "--device", "edge-9", "--json", a, b)
	var res []struct {
		File    string `json:"file"`
		Seg     string `json:"seg_id"`
		Records int    `json:"records"`
		Bytes   int    `json:"bytes"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || len(res) != 2 || res[0].Seg == res[1].Seg {
		t.Fatalf("coh telemetry push = %d:\n%s", code, out)
	}
	for _, r := range res {
		stored, err := q.Read("/queen/telemetry/edge-9/seg/"+r.Seg, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(stored) != r.Bytes || bytes.Count(stored, []byte("\n")) != r.Records {
			t.Errorf("%s: %d bytes, %d records stored; push said %d, %d", r.Seg, len(stored), bytes.Count(stored, []byte("\n")), r.Bytes, r.Records)
		}
		var payload strings.Builder
		for _, line := range bytes.Split(bytes.TrimSuffix(stored, []byte("\n")), []byte("\n")) {
			var env struct {
				Schema  string `json:"schema"`
				Payload string `json:"payload"`
			}
			if err := json.Unmarshal(line, &env); err != nil || env.Schema != ingest.PushSchema {
				t.Fatalf("%s: record %q is not an envelope: %v", r.Seg, line, err)
			}
			payload.WriteString(env.Payload)
		}
		if want := files[filepath.Base(r.File)]; payload.String() != want {
			t.Errorf("%s: payloads reassemble to %d bytes, not %s's %d", r.Seg, payload.Len(), r.File, len(want))
		}
	}

	// Refused before anything is sent: no new segment.
	before, _ := q.List("/queen/telemetry/edge-9/seg")
	bad := filepath.Join(dir, "c.bin")
	os.WriteFile(bad, []byte("x"), 0o644)
	big := filepath.Join(dir, "big.txt")
	os.WriteFile(big, bytes.Repeat([]byte("x"), 40000), 0o644)
	for _, f := range []string{bad, big} {
		if out, code := coh("telemetry", "push", "--device", "edge-9", a, f); code != 2 {
			t.Errorf("push with %s = %d; want 2 (refused locally):\n%s", filepath.Base(f), code, out)
		}
	}
	if after, _ := q.List("/queen/telemetry/edge-9/seg"); len(after) != len(before) {
		t.Errorf("segments %v after refused pushes; want %v", after, before)
	}
}
