package tests

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cohesix/cohesix/internal/nineclient"
	"github.com/cohesix/cohesix/internal/spool"
	"github.com/cohesix/cohesix/internal/store"
	"github.com/cohesix/cohesix/internal/ticket"
)

// ingestState reads every device's latest pointer and segments over 9P.
func ingestState(t *testing.T, q *nineclient.Client) map[string]map[string]string {
	t.Helper()
	devs, err := q.List("/queen/telemetry")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, d := range devs {
		m := map[string]string{}
		b, err := q.Read("/queen/telemetry/"+d+"/latest", 0)
		if err != nil {
			t.Fatal(err)
		}
		m["latest"] = string(b)
		for _, s := range segments(t, q, d) {
			b, err := q.Read("/queen/telemetry/"+d+"/seg/"+s, 0)
			if err != nil {
				t.Fatal(err)
			}
			m[s] = string(b)
		}
		out[d] = m
	}
	return out
}

// killRootTask ends the root task with SIGKILL: only what was fsynced
// before each ACK can survive.
func killRootTask(t *testing.T, rt *rootTask) {
	t.Helper()
	_ = rt.cmd.Process.Kill()
	_ = rt.cmd.Wait()
}

// TestTelemetryIngestSurvivesRestart (D9): with --state-dir, segments
// created through ctl (9P and the console's cohsh push), their records,
// evictions, latest and the never-reused id counter survive a SIGKILL of
// the hosted root task; the compacted spool written at the restart reads
// back the same at a third start; a torn tail is cut and logged.
func TestTelemetryIngestSurvivesRestart(t *testing.T) {
	bin := binaries(t)
	dir := t.TempDir()
	state := []string{"--state-dir", dir}

	rt := startRootTaskArgs(t, bin, false, state)
	q := rt.nine(t, ticket.RoleQueen, "")
	newSegment(t, q, "dev-a")
	if err := fill(q, "dev-a", "seg-000001", 3, 100); err != nil {
		t.Fatal(err)
	}
	newSegment(t, q, "dev-a")
	if _, err := q.Append("/queen/telemetry/dev-a/seg/seg-000002", -1, []byte(`{"tokens":7}`)); err != nil {
		t.Fatal(err)
	}
	// Five segments on dev-e: evict-oldest drops seg-000001.
	for i := 0; i < 5; i++ {
		s := newSegment(t, q, "dev-e")
		if err := fill(q, "dev-e", s, 2, 4096); err != nil {
			t.Fatal(err)
		}
	}
	src := filepath.Join(t.TempDir(), "sample.log")
	os.WriteFile(src, []byte(strings.Repeat("fan=on temperature=41C\n", 20)), 0o644)
	if out, err := cohsh(t, bin, "--transport", "tcp", "--tcp-port", port(rt.ConsoleAddr), "--role", "queen", "telemetry", "push", src, "--device", "edge-1"); err != nil {
		t.Fatalf("cohsh telemetry push: %v\n%s", err, out)
	}
	before := ingestState(t, q)
	if got := segments(t, q, "dev-e"); !slices.Equal(got, []string{"seg-000002", "seg-000003", "seg-000004", "seg-000005"}) {
		t.Fatalf("dev-e segments before the restart = %q", got)
	}
	killRootTask(t, rt)

	rt2 := startRootTaskArgs(t, bin, false, state)
	q2 := rt2.nine(t, ticket.RoleQueen, "")
	if diff := cmp.Diff(before, ingestState(t, q2)); diff != "" {
		t.Fatalf("ingest state after SIGKILL and restart (-before +after):\n%s", diff)
	}
	if !strings.Contains(rt2.logText(t), "telemetry ingest restored devices=3") {
		t.Error("queen.log lacks the restore line")
	}
	// Ids are never reused and appends go on at the restored end.
	if got := newSegment(t, q2, "dev-e"); got != "seg-000006" {
		t.Errorf("first segment after the restart = %q; want seg-000006", got)
	}
	if err := fill(q2, "dev-a", "seg-000001", 1, 50); err != nil {
		t.Errorf("append to a restored segment: %v", err)
	}
	before = ingestState(t, q2)
	killRootTask(t, rt2)

	// Tear the spool's tail: the acknowledged state is back, the torn
	// bytes are dropped and reported.
	path := filepath.Join(dir, store.IngestSpoolName)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	torn := spool.Encode(nil, []byte(`{"k":"rec","d":"dev-a","s":"seg-000001","r":"dG9ybgo="}`))
	os.WriteFile(path, append(b, torn[:len(torn)-3]...), 0o600)
	rt3 := startRootTaskArgs(t, bin, false, state)
	q3 := rt3.nine(t, ticket.RoleQueen, "")
	if diff := cmp.Diff(before, ingestState(t, q3)); diff != "" {
		t.Errorf("ingest state after the second restart (-before +after):\n%s", diff)
	}
	if !strings.Contains(rt3.logText(t), "ingest spool torn tail truncated") {
		t.Error("queen.log lacks the torn-tail line")
	}
}
