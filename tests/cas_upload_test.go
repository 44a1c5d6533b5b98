package tests

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/internal/cas"
	"github.com/cohesix/cohesix/internal/ticket"
)

// casUpload is cas-tool upload's --json object, the fields tests read.
type casUpload struct {
	State            string `json:"state"`
	AlreadyInstalled bool   `json:"already_installed"`
	ManifestSent     bool   `json:"manifest_sent"`
	ChunksExpected   int    `json:"chunks_expected"`
	ChunksInBundle   int    `json:"chunks_in_bundle"`
	ChunksSent       int    `json:"chunks_sent"`
	ChunksResumed    int    `json:"chunks_resumed"`
	ChunksSkipped    int    `json:"chunks_skipped"`
	BytesSent        int64  `json:"bytes_sent"`
	ChunkBytesSent   int64  `json:"chunk_bytes_sent"`
	HiveCommitted    uint64 `json:"hive_chunks_committed"`
	Seconds          float64
	MBps             float64 `json:"mb_per_s"`
	Error            string  `json:"error"`
}

// casHive is a governed root task with CAS on, trusting a root key made
// in a temporary directory.
type casHive struct {
	*rootTask
	bin, key, stateDir string
}

func startCASHive(t *testing.T, bin, key, stateDir string) *casHive {
	t.Helper()
	args := []string{"--profile", "governed", "--cas-root-key", key + ".pub"}
	if stateDir != "" {
		args = append(args, "--state-dir", stateDir)
	}
	return &casHive{rootTask: startRootTaskArgs(t, bin, false, args), bin: bin, key: key, stateDir: stateDir}
}

func newCASKey(t *testing.T) string {
	t.Helper()
	key := filepath.Join(t.TempDir(), "root")
	if _, err := cas.WriteKeyPair(key); err != nil {
		t.Fatal(err)
	}
	return key
}

// casTool runs bin/cas-tool and returns stdout, stderr and the exit code.
func casTool(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	return runCmd(t, exec.Command(filepath.Join(bin, "cas-tool"), args...))
}

// pack packs input into a new bundle signed with key; extra adds flags.
func pack(t *testing.T, bin, key, input, epoch string, chunk int, extra ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bundle-"+epoch)
	args := append([]string{"pack", input, "--out", out, "--epoch", epoch, "--chunk-bytes", strconv.Itoa(chunk), "--sign", key}, extra...)
	if o, e, code := casTool(t, bin, args...); code != 0 {
		t.Fatalf("cas-tool pack = %d: %s%s", code, o, e)
	}
	return out
}

// upload runs cas-tool upload --json against h and decodes its object.
func (h *casHive) upload(t *testing.T, bundle string, extra ...string) (casUpload, string, int) {
	t.Helper()
	out, errs, code := casTool(t, h.bin, append([]string{"upload", bundle, "--addr", h.NinePAddr, "--json"}, extra...)...)
	var r casUpload
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("cas-tool upload --json = %d: %q %q: %v", code, out, errs, err)
	}
	return r, errs, code
}

// status reads /updates/<epoch>/status.
func (h *casHive) status(t *testing.T, epoch string) map[string]string {
	t.Helper()
	b, err := h.nine(t, ticket.RoleQueen, "").Read("/updates/"+epoch+"/status", 4096)
	if err != nil {
		t.Fatalf("read status of epoch %s: %v", epoch, err)
	}
	kv := map[string]string{}
	for _, f := range strings.Fields(string(b)) {
		if k, v, ok := strings.Cut(f, "="); ok {
			kv[k] = v
		}
	}
	return kv
}

func randomFile(t *testing.T, n int) (string, []byte) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	p := filepath.Join(t.TempDir(), "payload.bin")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, b
}

// TestCASUpload: pack and upload reach ready; a second upload is
// "already installed"; a delta sends only its new chunks; a tampered chunk
// is refused and quarantined; an interrupted upload resumes without
// re-sending what the hive acknowledged.
func TestCASUpload(t *testing.T) {
	bin := binaries(t, "roottask", "cmd/cas-tool")
	key := newCASKey(t)
	h := startCASHive(t, bin, key, "")

	// Preflight on a hive without CAS says how to turn it on.
	plain := startRootTask(t, bin, false)
	in, payload := randomFile(t, 200<<10)
	b1 := pack(t, bin, key, in, "1", 8192)
	if out, errs, code := casTool(t, bin, "upload", b1, "--addr", plain.NinePAddr); code != 1 || !strings.Contains(errs, "CAS is off") || !strings.Contains(errs, "--cas-root-key") {
		t.Fatalf("upload to a hive without CAS = %d %q %q", code, out, errs)
	}

	r, errs, code := h.upload(t, b1)
	if code != 0 || r.State != "ready" || !r.ManifestSent || r.ChunksSent != r.ChunksInBundle || r.ChunksSkipped != 0 {
		t.Fatalf("first upload = %d %+v %s", code, r, errs)
	}
	if st := h.status(t, "1"); st["state"] != "ready" || st["chunks_committed"] != strconv.Itoa(r.ChunksExpected) {
		t.Fatalf("status after upload: %v", st)
	}
	out, errs, code := casTool(t, bin, "upload", b1, "--addr", h.NinePAddr)
	if code != 0 || !strings.HasPrefix(out, "already installed") {
		t.Fatalf("second upload = %d %q %q", code, out, errs)
	}

	// A delta: a few KiB changed in the middle; only new chunks travel.
	copy(payload[100<<10:], bytes.Repeat([]byte{0x5a}, 3000))
	os.WriteFile(in, payload, 0o644)
	b2 := pack(t, bin, key, in, "2", 8192, "--delta-from", b1)
	r, errs, code = h.upload(t, b2)
	if code != 0 || r.State != "ready" || r.ChunksSent != r.ChunksInBundle || r.ChunksSent >= r.ChunksExpected || r.ChunksSent > 2 {
		t.Fatalf("delta upload = %d %+v %s", code, r, errs)
	}
	if r.ChunkBytesSent != int64(r.ChunksSent)*8192 {
		t.Fatalf("delta sent %d chunk bytes for %d chunks", r.ChunkBytesSent, r.ChunksSent)
	}

	// A tampered chunk: refused, quarantined, the hive's line printed.
	in3, _ := randomFile(t, 64<<10)
	b3 := pack(t, bin, key, in3, "3", 8192)
	chunks, _ := os.ReadDir(filepath.Join(b3, "chunks"))
	bad := filepath.Join(b3, "chunks", chunks[len(chunks)/2].Name())
	cb, _ := os.ReadFile(bad)
	cb[17] ^= 0xff
	os.WriteFile(bad, cb, 0o644)
	r, errs, code = h.upload(t, b3)
	if code != 1 || !strings.Contains(errs, "cas-chunk quarantined") || !strings.Contains(errs, "cas-tool verify") {
		t.Fatalf("tampered upload = %d %+v %q", code, r, errs)
	}
	log, err := h.nine(t, ticket.RoleQueen, "").Read("/log/queen.log", 0)
	if err != nil || !strings.Contains(string(log), "cas-chunk quarantined epoch=3 expected="+chunks[len(chunks)/2].Name()) {
		t.Fatalf("queen.log has no quarantine line (%v):\n%s", err, log)
	}

	// Resume: stop after 25 chunks and half of the 26th; the second run
	// continues the partial and sends only what the hive lacks.
	in4, _ := randomFile(t, 50*8192-2048)
	b4 := pack(t, bin, key, in4, "4", 8192)
	first, _, code := h.upload(t, b4, "--stop-after-chunks", "25")
	st := h.status(t, "4")
	if code != 1 || first.ChunksSent != 25 || st["chunks_committed"] != "25" || st["chunks_pending"] != "1" {
		t.Fatalf("interrupted upload = %d %+v; status %v", code, first, st)
	}
	second, errs, code := h.upload(t, b4)
	if code != 0 || second.State != "ready" || second.ChunksResumed != 1 || second.ChunksSkipped != 25 || second.ManifestSent {
		t.Fatalf("resumed upload = %d %+v %s", code, second, errs)
	}
	total := int64(first.ChunksExpected) * 8192
	if resent := first.ChunkBytesSent + second.ChunkBytesSent - total; resent != 0 {
		t.Fatalf("the resumed upload re-sent %d acknowledged bytes (first %d, second %d, payload %d)", resent, first.ChunkBytesSent, second.ChunkBytesSent, total)
	}
	t.Logf("resume at 50%%: first run %d bytes, second %d bytes, payload %d, re-sent 0", first.ChunkBytesSent, second.ChunkBytesSent, total)

	// The same resume with --per-chunk: each chunk to its own file.
	in5, _ := randomFile(t, 20*8192-100)
	b5 := pack(t, bin, key, in5, "5", 8192)
	first, _, code = h.upload(t, b5, "--per-chunk", "--sessions", "1", "--stop-after-chunks", "10")
	if st := h.status(t, "5"); code != 1 || first.ChunksSent != 10 || st["chunks_pending"] != "1" {
		t.Fatalf("interrupted --per-chunk upload = %d %+v; status %v", code, first, st)
	}
	second, errs, code = h.upload(t, b5, "--per-chunk")
	if code != 0 || second.State != "ready" || second.ChunksResumed != 1 || first.ChunkBytesSent+second.ChunkBytesSent != int64(first.ChunksExpected)*8192 {
		t.Fatalf("resumed --per-chunk upload = %d %+v %s", code, second, errs)
	}
}

// TestCASUploadHiveKilled: kill -9 of a hive with --state-dir in the
// middle of an upload; committed chunks survive the restart and the
// upload resumes to ready.
func TestCASUploadHiveKilled(t *testing.T) {
	bin := binaries(t, "roottask", "cmd/cas-tool")
	key := newCASKey(t)
	state := t.TempDir()
	h := startCASHive(t, bin, key, state)
	in, _ := randomFile(t, 24<<20)
	b := pack(t, bin, key, in, "7", 8192)

	cmd := exec.Command(filepath.Join(bin, "cas-tool"), "upload", b, "--addr", h.NinePAddr, "--sessions", "1", "--json")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	q := h.nine(t, ticket.RoleQueen, "")
	deadline := time.Now().Add(60 * time.Second)
	var seen int
	for time.Now().Before(deadline) {
		if names, err := q.List("/updates/7/chunks"); err == nil && len(names) >= 200 {
			seen = len(names)
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if seen == 0 {
		t.Fatalf("the upload committed fewer than 200 chunks in 60s: %s", out.String())
	}
	h.cmd.Process.Kill() // kill -9
	h.cmd.Wait()
	err := cmd.Wait()
	var first casUpload
	json.Unmarshal(out.Bytes(), &first)
	if err == nil {
		t.Logf("the upload finished before the kill: %+v", first)
	}

	h2 := startCASHive(t, bin, key, state)
	st := h2.status(t, "7")
	committed, _ := strconv.Atoi(st["chunks_committed"])
	if committed < seen || st["state"] == "empty" {
		t.Fatalf("after the restart %d chunks are committed, %d were seen before the kill: %v", committed, seen, st)
	}
	r, errs, code := h2.upload(t, b)
	if code != 0 || r.State != "ready" || r.ChunksSkipped != committed || r.ManifestSent {
		t.Fatalf("upload after the restart = %d %+v %s", code, r, errs)
	}
	t.Logf("killed at %d committed chunks of %d; after the restart %d were committed, the upload sent %d", seen, r.ChunksExpected, committed, r.ChunksSent)
	// The client saw the connection drop and said how to go on.
	if err != nil && !strings.Contains(first.Error, "run upload again") {
		t.Fatalf("the interrupted upload said: %s %s", out.String(), errb.String())
	}
}

// TestCASDownload: a ready epoch downloads into a bundle that verifies
// and matches the uploaded one; an interrupted download resumes without
// fetching a chunk twice; a delta epoch downloads whole.
func TestCASDownload(t *testing.T) {
	bin := binaries(t, "roottask", "cmd/cas-tool")
	key := newCASKey(t)
	h := startCASHive(t, bin, key, "")
	in, payload := randomFile(t, 40*8192-3000)
	b1 := pack(t, bin, key, in, "1", 8192)
	if _, errs, code := h.upload(t, b1); code != 0 {
		t.Fatalf("upload: %s", errs)
	}
	download := func(epoch, out string, extra ...string) (map[string]any, int) {
		t.Helper()
		o, _, code := casTool(t, bin, append([]string{"download", epoch, "--out", out, "--addr", h.NinePAddr, "--json"}, extra...)...)
		var r map[string]any
		if err := json.Unmarshal([]byte(o), &r); err != nil {
			t.Fatalf("download --json printed %q: %v", o, err)
		}
		return r, code
	}
	out := filepath.Join(t.TempDir(), "fetched")
	first, code := download("1", out, "--stop-after-chunks", "17")
	if code != 1 || first["chunks_fetched"].(float64) != 17 {
		t.Fatalf("interrupted download = %d %v", code, first)
	}
	second, code := download("1", out)
	if code != 0 || second["chunks_skipped"].(float64) != 17 || first["chunks_fetched"].(float64)+second["chunks_fetched"].(float64) != second["chunks_expected"].(float64) {
		t.Fatalf("resumed download = %d %v (first %v)", code, second, first)
	}
	for _, name := range []string{"manifest.cbor"} {
		a, _ := os.ReadFile(filepath.Join(b1, name))
		b, _ := os.ReadFile(filepath.Join(out, name))
		if !bytes.Equal(a, b) {
			t.Fatalf("%s differs from the uploaded bundle's", name)
		}
	}
	if o, errs, code := casTool(t, bin, "verify", out, "--key", key+".pub"); code != 0 {
		t.Fatalf("verify of the downloaded bundle = %d %q %q", code, o, errs)
	}
	// A delta epoch: its manifest names every chunk, and the hive has them all.
	copy(payload[8192:], bytes.Repeat([]byte{7}, 100))
	os.WriteFile(in, payload, 0o644)
	b2 := pack(t, bin, key, in, "2", 8192, "--delta-from", b1)
	if _, errs, code := h.upload(t, b2); code != 0 {
		t.Fatalf("delta upload: %s", errs)
	}
	out2 := filepath.Join(t.TempDir(), "delta")
	if r, code := download("2", out2); code != 0 || r["chunks_fetched"] != r["chunks_expected"] {
		t.Fatalf("delta download = %d %v", code, r)
	}
	if o, errs, code := casTool(t, bin, "verify", out2, "--key", key+".pub"); code != 0 {
		t.Fatalf("verify of the downloaded delta = %d %q %q", code, o, errs)
	}
	if _, code := download("9", filepath.Join(t.TempDir(), "none")); code != 1 {
		t.Fatal("downloading an epoch the hive does not have succeeded")
	}
}
