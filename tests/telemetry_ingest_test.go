package tests

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cohesix/cohesix/internal/nineclient"
	"github.com/cohesix/cohesix/internal/ticket"
)

// nine attaches to the root task's Secure9P listener as role.
func (rt *rootTask) nine(t testing.TB, role ticket.Role, subject string) *nineclient.Client {
	t.Helper()
	tok, err := nineclient.Mint(role, subject, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, err := nineclient.Dial(rt.NinePAddr, tok, 5*time.Second)
	if err != nil {
		t.Fatalf("9p attach as %s: %v", role, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func newSegment(t *testing.T, c *nineclient.Client, dev string) string {
	t.Helper()
	if _, err := c.Append("/queen/telemetry/"+dev+"/ctl", 0, []byte(`{"new":"segment","mime":"text/plain"}`+"\n")); err != nil {
		t.Fatalf("new segment on %s: %v", dev, err)
	}
	b, err := c.Read("/queen/telemetry/"+dev+"/latest", 0)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func segments(t *testing.T, c *nineclient.Client, dev string) []string {
	t.Helper()
	names, err := c.List("/queen/telemetry/" + dev + "/seg")
	if err != nil {
		t.Fatalf("ls seg of %s: %v", dev, err)
	}
	return names
}

// fill appends n records of size bytes (newline included) to seg.
func fill(c *nineclient.Client, dev, seg string, n, size int) error {
	rec := []byte(strings.Repeat("r", size-1) + "\n")
	for i := 0; i < n; i++ {
		if _, err := c.Append("/queen/telemetry/"+dev+"/seg/"+seg, -1, rec); err != nil {
			return err
		}
	}
	return nil
}

// TestTelemetryIngest drives 21a against a hosted root task with the
// manifest's evict-oldest policy: OS-named segments through ctl, the 4096
// record bound, offset-checked appends, segment and byte quotas with
// eviction that never touches the segment being written, and cohsh push.
func TestTelemetryIngest(t *testing.T) {
	bin := binaries(t)
	rt := startRootTask(t, bin, false)
	q := rt.nine(t, ticket.RoleQueen, "")

	if ls, err := q.List("/queen"); err != nil || !slices.Contains(ls, "telemetry") {
		t.Fatalf("ls /queen = %q, %v; want telemetry", ls, err)
	}
	if got := newSegment(t, q, "dev-a"); got != "seg-000001" {
		t.Fatalf("first segment = %q; want seg-000001", got)
	}
	if got := newSegment(t, q, "dev-a"); got != "seg-000002" {
		t.Fatalf("second segment = %q; want seg-000002", got)
	}
	seg := "/queen/telemetry/dev-a/seg/seg-000002"
	if err := fill(q, "dev-a", "seg-000002", 1, 4096); err != nil {
		t.Fatalf("4096-byte record: %v", err)
	}
	if err := fill(q, "dev-a", "seg-000002", 1, 4097); !isErrno(err, syscall.EDQUOT) {
		t.Errorf("4097-byte record = %v; want EDQUOT", err)
	}
	if _, err := q.Append(seg, 7, []byte("x\n")); !isErrno(err, syscall.EINVAL) {
		t.Errorf("append at offset 7 = %v; want EINVAL", err)
	}
	if st, err := q.Stat(seg); err != nil || st.Size != 4096 {
		t.Errorf("stat %s = %+v, %v; want size 4096", seg, st, err)
	}
	// Creating by path is refused: an unknown segment does not walk.
	if _, err := q.Append("/queen/telemetry/dev-a/seg/seg-000099", 0, []byte("x")); err == nil {
		t.Error("append to an unallocated segment succeeded")
	}

	// Segment quota, evict-oldest: the fifth segment drops seg-000001.
	newSegment(t, q, "dev-a")
	newSegment(t, q, "dev-a")
	if got := newSegment(t, q, "dev-a"); got != "seg-000005" {
		t.Fatalf("fifth segment = %q", got)
	}
	if got := segments(t, q, "dev-a"); !slices.Equal(got, []string{"seg-000002", "seg-000003", "seg-000004", "seg-000005"}) {
		t.Errorf("segments after the fifth = %q; want seg-000002..5", got)
	}
	if _, err := q.Read("/queen/telemetry/dev-a/seg/seg-000001", 0); err == nil {
		t.Error("reading an evicted segment succeeded")
	}
	if err := fill(q, "dev-a", "seg-000005", 9, 4096); !isErrno(err, syscall.EDQUOT) {
		t.Errorf("append past max_bytes_per_segment = %v; want EDQUOT", err)
	}
	log := rt.logText(t)
	for _, want := range []string{"telemetry ingest evict device=dev-a seg_id=seg-000001", "telemetry quota reject device=dev-a seg_id=seg-000002 reason=record", "telemetry quota reject device=dev-a seg_id=seg-000005 reason=segment-bytes"} {
		if !strings.Contains(log, want) {
			t.Errorf("queen.log lacks %q", want)
		}
	}

	// A worker cannot reach ingest.
	c := rt.console(t)
	do(t, c, "attach queen")
	do(t, c, `spawn {"spawn":"heartbeat","ticks":1000}`)
	w := rt.nine(t, ticket.RoleWorkerHeartbeat, "worker-1")
	if _, err := w.Append("/queen/telemetry/dev-a/ctl", 0, []byte(`{"new":"segment","mime":"text/plain"}`)); !isErrno(err, syscall.EPERM) {
		t.Errorf("worker ctl write = %v; want EPERM", err)
	}

	// cohsh telemetry push: chunked records in a fresh segment.
	dir := t.TempDir()
	src := filepath.Join(dir, "sample.log")
	text := strings.Repeat("temperature=41C fan=on ü\n", 40)
	os.WriteFile(src, []byte(text), 0o644)
	out, err := cohsh(t, bin, "--transport", "tcp", "--tcp-port", port(rt.ConsoleAddr), "--role", "queen", "telemetry", "push", src, "--device", "edge-1")
	if err != nil || !strings.Contains(out, "OK TELEMETRY action=push device=edge-1 seg_id=seg-000001 records=") {
		t.Fatalf("cohsh telemetry push = %v:\n%s", err, out)
	}
	pushed, err := q.Read("/queen/telemetry/edge-1/seg/seg-000001", 0)
	if err != nil {
		t.Fatal(err)
	}
	var payload strings.Builder
	for _, line := range strings.Split(strings.TrimSuffix(string(pushed), "\n"), "\n") {
		if len(line) > 128 {
			t.Errorf("console record is %d bytes; want <= the echo limit", len(line))
		}
		var p string
		if _, err := fmt.Sscanf(line[strings.Index(line, `"payload":`)+len(`"payload":`):], "%q", &p); err != nil {
			t.Fatalf("record %q: %v", line, err)
		}
		payload.WriteString(p)
	}
	if payload.String() != text {
		t.Errorf("pushed payloads do not reassemble the source")
	}
	// Local refusals send nothing: oversize and a disallowed extension.
	big := filepath.Join(dir, "big.txt")
	os.WriteFile(big, []byte(strings.Repeat("x", 40000)), 0o644)
	bad := filepath.Join(dir, "data.bin")
	os.WriteFile(bad, []byte("x"), 0o644)
	before := rt.logText(t)
	for _, tc := range []struct{ file, want string }{{big, "max_bytes_per_segment"}, {bad, "not allowed"}} {
		out, err := cohsh(t, bin, "--transport", "tcp", "--tcp-port", port(rt.ConsoleAddr), "--role", "queen", "telemetry", "push", tc.file, "--device", "edge-2")
		if err == nil || !strings.Contains(out, "ERR TELEMETRY action=push device=edge-2") || !strings.Contains(out, tc.want) {
			t.Errorf("push %s = %v:\n%s; want a local ERR naming %s", tc.file, err, out, tc.want)
		}
	}
	if after := rt.logText(t); strings.Contains(after[len(before)-1:], "device=edge-2") {
		t.Errorf("a locally refused push reached the hive")
	}
}

// TestTelemetryIngestQuotas rebuilds the root task with a device total of
// 64 KiB (two full segments) under both eviction policies: refuse answers
// ERR on the fifth segment and on byte overflow and changes nothing;
// evict-oldest drops whole segments oldest first, never the one being
// written, and moves latest.
func TestTelemetryIngestQuotas(t *testing.T) {
	if testing.Short() {
		t.Skip("rebuilds the root task from a copy of the repository")
	}
	total := [2]string{"max_total_bytes_per_device = 131072", "max_total_bytes_per_device = 65536"}
	t.Run("refuse", func(t *testing.T) {
		bin := manifestVariant(t, total, [2]string{`eviction_policy = "evict-oldest"`, `eviction_policy = "refuse"`})
		rt := startRootTask(t, bin, false)
		q := rt.nine(t, ticket.RoleQueen, "")
		for i := 0; i < 4; i++ {
			newSegment(t, q, "dev-r")
		}
		_, err := q.Append("/queen/telemetry/dev-r/ctl", 0, []byte(`{"new":"segment","mime":"text/plain"}`))
		if !isErrno(err, syscall.EDQUOT) {
			t.Errorf("fifth segment with refuse = %v; want EDQUOT", err)
		}
		c := rt.console(t)
		do(t, c, "attach queen")
		r := do(t, c, `echo /queen/telemetry/dev-r/ctl {"new":"segment","mime":"text/plain"}`)
		if got := r.AckLine(); !strings.HasPrefix(got, "ERR ECHO reason=quota detail=buffer-full") {
			t.Errorf("console fifth segment = %q; want ERR ECHO reason=quota detail=buffer-full", got)
		}
		for _, s := range []string{"seg-000001", "seg-000002"} {
			if err := fill(q, "dev-r", s, 8, 4096); err != nil {
				t.Fatalf("fill %s: %v", s, err)
			}
		}
		if _, err := q.Append("/queen/telemetry/dev-r/seg/seg-000003", -1, []byte("x\n")); !isErrno(err, syscall.EDQUOT) {
			t.Errorf("append past the device total with refuse = %v; want EDQUOT", err)
		}
		if got := segments(t, q, "dev-r"); !slices.Equal(got, []string{"seg-000001", "seg-000002", "seg-000003", "seg-000004"}) {
			t.Errorf("segments with refuse = %q; want seg-000001..4 untouched", got)
		}
		if !strings.Contains(rt.logText(t), "telemetry quota reject device=dev-r seg_id=seg-000003 reason=total-bytes") {
			t.Error("queen.log lacks the total-bytes reject line")
		}
	})
	t.Run("evict-oldest", func(t *testing.T) {
		bin := manifestVariant(t, total)
		rt := startRootTask(t, bin, false)
		q := rt.nine(t, ticket.RoleQueen, "")
		for i := 0; i < 3; i++ {
			newSegment(t, q, "dev-e")
		}
		// seg1 16 KiB, seg2 32 KiB, seg3 16 KiB: the device is full.
		for _, f := range []struct {
			seg string
			n   int
		}{{"seg-000001", 4}, {"seg-000002", 8}, {"seg-000003", 4}} {
			if err := fill(q, "dev-e", f.seg, f.n, 4096); err != nil {
				t.Fatalf("fill %s: %v", f.seg, err)
			}
		}
		// Writing the oldest segment evicts the next oldest, not itself.
		if err := fill(q, "dev-e", "seg-000001", 1, 4096); err != nil {
			t.Fatalf("append over the total with evict-oldest: %v", err)
		}
		if got := segments(t, q, "dev-e"); !slices.Equal(got, []string{"seg-000001", "seg-000003"}) {
			t.Errorf("segments after byte eviction = %q; want seg-000001, seg-000003", got)
		}
		if _, err := q.Read("/queen/telemetry/dev-e/seg/seg-000002", 0); err == nil {
			t.Error("reading the evicted seg-000002 succeeded")
		}
		if b, _ := q.Read("/queen/telemetry/dev-e/latest", 0); string(b) != "seg-000003\n" {
			t.Errorf("latest = %q; want seg-000003", b)
		}
		if !strings.Contains(rt.logText(t), "telemetry ingest evict device=dev-e seg_id=seg-000002 bytes=32768") {
			t.Error("queen.log lacks the eviction line")
		}
	})
}

// manifestVariant copies the repository, applies each {from, to} edit to
// the manifest, regenerates and builds the root task into a fresh directory.
func manifestVariant(t *testing.T, edits ...[2]string) string {
	t.Helper()
	tree := copyRepo(t)
	manifest := filepath.Join(tree, "configs", "root_task.toml")
	b, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, e := range edits {
		if !strings.Contains(text, e[0]) {
			t.Fatalf("manifest lacks %q", e[0])
		}
		text = strings.Replace(text, e[0], e[1], 1)
	}
	os.WriteFile(manifest, []byte(text), 0o644)
	out := t.TempDir()
	for _, step := range [][]string{{"go", "run", "./cmd/coh-rtc"}, {"go", "build", "-o", out + "/", "./roottask"}} {
		cmd := exec.Command(step[0], step[1:]...)
		cmd.Dir = tree
		if o, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(step, " "), err, o)
		}
	}
	return out
}

// port is the port of a host:port address.
func port(addr string) string { return addr[strings.LastIndex(addr, ":")+1:] }

// logText reads /log/queen.log over the console.
func (rt *rootTask) logText(t *testing.T) string {
	t.Helper()
	c := rt.console(t)
	do(t, c, "attach queen")
	r := do(t, c, "log")
	return strings.Join(r.Lines, "\n")
}

// isErrno reports whether a 9P client error carries errno e.
func isErrno(err error, e syscall.Errno) bool {
	return err != nil && (errors.Is(err, e) || strings.HasSuffix(err.Error(), e.Error()))
}
