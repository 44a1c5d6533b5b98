package tests

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/cohesix/cohesix/internal/gpu"
	"github.com/cohesix/cohesix/internal/ticket"
)

// tool runs a built host tool and returns its stdout+stderr and exit code.
func tool(t *testing.T, bin, name string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, name), args...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return string(out), code
}

// TestGPULeaseRunPeft drives issue 6's acceptance against a hosted root
// task with gpu-bridge-host --mock --publish: lease → run → breadcrumb →
// receipt; worker-gpu isolation; peft export → import → activate →
// rollback with a corrupted adapter refused; telemetry pull resumed after
// an interruption.
func TestGPULeaseRunPeft(t *testing.T) {
	bin := binaries(t, "roottask", "cmd/cohsh", "cmd/coh", "cmd/gpu-bridge-host")
	rt := startRootTask(t, bin, false)
	coh := func(args ...string) (string, int) {
		return tool(t, bin, "coh", append([]string{"--9p-port", port(rt.NinePAddr)}, args...)...)
	}
	// Before a publish: no GPUs, spawn gpu is refused.
	if out, code := coh("gpu", "lease", "--gpu", "GPU-0", "--mem-mb", "1024", "--streams", "1", "--ttl-s", "60"); code != 1 {
		t.Errorf("lease before publish = %d:\n%s", code, out)
	}
	if out, code := tool(t, bin, "gpu-bridge-host", "--mock", "--publish", "--tcp-port", port(rt.ConsoleAddr)); code != 0 || !strings.Contains(out, `status="state=ok bytes=`) {
		t.Fatalf("gpu-bridge-host --mock --publish = %d:\n%s", code, out)
	}
	out, code := coh("gpu", "list", "--json")
	var infos []gpu.Info
	if code != 0 || json.Unmarshal([]byte(out), &infos) != nil || len(infos) != 2 || infos[0].ID != "GPU-0" || infos[1].Name != "Mock 4060" {
		t.Fatalf("coh gpu list --json = %d:\n%s", code, out)
	}
	// No lease: refused, nothing spawned, no breadcrumb.
	marker := filepath.Join(t.TempDir(), "ran")
	if out, code := coh("run", "--gpu", "GPU-0", "--", "touch", marker); code != 1 || !strings.Contains(out, "reason=no-active-lease") {
		t.Errorf("run without lease = %d:\n%s", code, out)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("run without a lease spawned the command")
	}
	receipt := filepath.Join(t.TempDir(), "receipt.json")
	out, code = coh("gpu", "lease", "--gpu", "GPU-0", "--mem-mb", "4096", "--streams", "1", "--ttl-s", "60", "--receipt-out", receipt)
	if code != 0 || !strings.Contains(out, "OK LEASE gpu=GPU-0 worker=worker-1") {
		t.Fatalf("coh gpu lease = %d:\n%s", code, out)
	}
	if b, _ := os.ReadFile(receipt); !strings.Contains(string(b), `"schema":"gpu-lease/v1","state":"ACTIVE","gpu_id":"GPU-0","worker_id":"worker-1"`) {
		t.Errorf("receipt = %q", b)
	}
	if out, code := coh("gpu", "lease", "--gpu", "GPU-1", "--mem-mb", "99999", "--streams", "1", "--ttl-s", "60"); code != 1 {
		t.Errorf("lease over the GPU's memory = %d:\n%s", code, out)
	}
	if out, code := coh("run", "--gpu", "GPU-0", "--", "touch", marker); code != 0 || !strings.Contains(out, "OK RUN gpu=GPU-0 status=OK exit_code=0") {
		t.Fatalf("coh run = %d:\n%s", code, out)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Error("coh run did not run the command")
	}
	coh("run", "--gpu", "GPU-0", "--", "false")
	q := rt.nine(t, ticket.RoleQueen, "")
	status, _ := q.Read("/gpu/GPU-0/status", 0)
	lines := strings.Split(strings.TrimSpace(string(status)), "\n")
	want := []string{
		`{"schema":"gpu-breadcrumb/v1","event":"START","command":"touch ` + marker + `","status":"RUNNING"}`,
		`{"schema":"gpu-breadcrumb/v1","event":"EXIT","command":"touch ` + marker + `","status":"OK","exit_code":0}`,
		`{"schema":"gpu-breadcrumb/v1","event":"START","command":"false","status":"RUNNING"}`,
		`{"schema":"gpu-breadcrumb/v1","event":"EXIT","command":"false","status":"ERR","exit_code":1}`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("/gpu/GPU-0/status =\n%s\nwant\n%s", status, strings.Join(want, "\n"))
	}

	// worker-gpu sees only its lease's files and cannot upload or bypass.
	w := rt.nine(t, ticket.RoleWorkerGPU, "worker-1")
	if _, err := w.Read("/gpu/GPU-0/lease", 0); err != nil {
		t.Errorf("worker-1 read own lease: %v", err)
	}
	if _, err := w.Read("/gpu/GPU-1/info", 0); !isErrno(err, syscall.EPERM) {
		t.Errorf("worker-1 read GPU-1 = %v; want EPERM", err)
	}
	if _, err := w.Append("/gpu/GPU-0/lease", 0, []byte(`{"schema":"gpu-lease/v1"}`)); !isErrno(err, syscall.EPERM) {
		t.Errorf("worker-1 lease write = %v; want EPERM", err)
	}
	if _, err := w.Append("/gpu/models/active", 0, []byte("base\n")); !isErrno(err, syscall.EPERM) {
		t.Errorf("worker-1 active write = %v; want EPERM", err)
	}
	if _, err := w.Append("/gpu/bridge/ctl", 0, []byte("end\n")); !isErrno(err, syscall.EPERM) {
		t.Errorf("worker-1 bridge write = %v; want EPERM", err)
	}
	if _, err := w.Append("/gpu/GPU-0/job", 0, []byte(`{"job":"jid-1","kernel":"vadd"}`+"\n")); err != nil {
		t.Errorf("worker-1 job write: %v", err)
	}

	// Telemetry for an export job, then peft export → import → activate → rollback.
	seg := newSegment(t, q, "edge-1")
	for i := 0; i < 3; i++ {
		q.Append("/queen/telemetry/edge-1/seg/"+seg, -1, []byte(`{"schema_version":"gpu-telemetry/v1","device_id":"GPU-0","model_id":"base","time_window":{"start_ms":1,"end_ms":2},"token_count":5,"latency_histogram":[1,2]}`))
	}
	if _, err := q.Append("/queen/telemetry/edge-1/ctl", 0, []byte(`{"export":"lora-job","job":"job-1","base_model":"base@sha256:00"}`)); err != nil {
		t.Fatalf("create lora job: %v", err)
	}
	dir := t.TempDir()
	exp, reg, ad := filepath.Join(dir, "export"), filepath.Join(dir, "registry"), filepath.Join(dir, "adapter")
	if out, code := coh("peft", "export", "--job", "job-1", "--out", exp); code != 0 || strings.Count(out, "action=write") != 3 {
		t.Fatalf("peft export = %d:\n%s", code, out)
	}
	if out, _ := coh("peft", "export", "--job", "job-1", "--out", exp); strings.Count(out, "action=skip") != 3 {
		t.Errorf("peft export rerun = %s; want three skips", out)
	}
	os.MkdirAll(ad, 0o755)
	adapter := []byte("safetensors-bytes")
	os.WriteFile(filepath.Join(ad, "adapter.safetensors"), adapter, 0o644)
	os.WriteFile(filepath.Join(ad, "lora.json"), []byte(`{"rank":8,"alpha":16,"target_layers":["q"]}`), 0o644)
	os.WriteFile(filepath.Join(ad, "metrics.json"), []byte(`{"loss":0.1}`), 0o644)
	prov := func(sha string, n int) {
		os.WriteFile(filepath.Join(ad, "provenance.toml"), []byte("adapter_sha256 = \""+sha+"\"\nadapter_bytes = "+strconv.Itoa(n)+"\ntraining_job_id = \"job-1\"\napproval = \"approved\"\n"), 0o644)
	}
	imp := func(model string) (string, int) {
		return coh("peft", "import", "--model", model, "--from", ad, "--job", "job-1", "--export", exp, "--registry", reg)
	}
	prov(strings.Repeat("0", 64), len(adapter))
	if out, code := imp("lora-bad"); code != 1 || !strings.Contains(out, "reason=hash-mismatch") {
		t.Errorf("import with a bad hash = %d:\n%s", code, out)
	}
	prov(gpu.SHA256Hex(adapter), len(adapter)+1)
	if out, code := imp("lora-bad"); code != 1 || !strings.Contains(out, "reason=size-mismatch") {
		t.Errorf("import with a wrong size = %d:\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(reg, "available", "lora-bad")); err == nil {
		t.Error("a refused import left files in the registry")
	}
	prov(gpu.SHA256Hex(adapter), len(adapter))
	for _, m := range []string{"lora-a", "lora-b"} {
		if out, code := imp(m); code != 0 {
			t.Fatalf("import %s = %d:\n%s", m, code, out)
		}
	}
	if out, code := tool(t, bin, "gpu-bridge-host", "--mock", "--publish", "--registry", reg, "--tcp-port", port(rt.ConsoleAddr)); code != 0 {
		t.Fatalf("republish with the registry = %d:\n%s", code, out)
	}
	active := func() string {
		b, _ := q.Read("/gpu/models/active", 0)
		l := strings.Split(strings.TrimSpace(string(b)), "\n")
		return l[len(l)-1]
	}
	for _, m := range []string{"lora-a", "lora-b"} {
		if out, code := coh("peft", "activate", "--model", m, "--registry", reg); code != 0 || active() != m {
			t.Fatalf("activate %s = %d, active %q:\n%s", m, code, active(), out)
		}
	}
	if out, code := coh("peft", "rollback", "--registry", reg); code != 0 || active() != "lora-a" {
		t.Errorf("rollback = %d, active %q:\n%s", code, active(), out)
	}
	if b, _ := os.ReadFile(filepath.Join(reg, "active")); string(b) != "lora-a\n" {
		t.Errorf("registry active = %q; want lora-a", b)
	}
	if out, code := coh("peft", "activate", "--model", "nope", "--registry", reg); code != 1 || active() != "lora-a" {
		t.Errorf("activate of an unknown model = %d, active %q:\n%s", code, active(), out)
	}

	// Pull, interrupt (a truncated and a missing file), resume.
	newSegment(t, q, "edge-2")
	fill(q, "edge-2", "seg-000001", 5, 4096)
	pull := filepath.Join(dir, "pull")
	if out, code := coh("telemetry", "pull", "--out", pull, "--json"); code != 0 || strings.Count(out, `"action":"fetch"`) != 2 {
		t.Fatalf("first pull = %d:\n%s", code, out)
	}
	os.Truncate(filepath.Join(pull, "edge-2", "seg", "seg-000001"), 1000)
	os.Remove(filepath.Join(pull, "edge-1", "seg", seg))
	out, code = coh("telemetry", "pull", "--out", pull, "--json")
	var res []struct {
		Device, Action string
		Bytes          int64
	}
	json.Unmarshal([]byte(out), &res)
	if code != 0 || len(res) != 2 || res[0].Action != "fetch" || res[1].Action != "resume" || res[1].Bytes != 5*4096-1000 {
		t.Errorf("resumed pull = %d:\n%s", code, out)
	}
	if out, _ := coh("telemetry", "pull", "--out", pull, "--json"); strings.Count(out, `"action":"skip"`) != 2 || strings.Contains(out, `"bytes":1`) {
		t.Errorf("pull after completion = %s; want only skips", out)
	}
	got, _ := os.ReadFile(filepath.Join(pull, "edge-2", "seg", "seg-000001"))
	remote, _ := q.Read("/queen/telemetry/edge-2/seg/seg-000001", 0)
	if string(got) != string(remote) {
		t.Error("resumed segment differs from the hive's")
	}
	// A local copy longer than the hive's is stale: fetched again whole.
	stale := filepath.Join(pull, "edge-2", "seg", "seg-000001")
	os.WriteFile(stale, append(got, "junk past the end\n"...), 0o644)
	if out, code := coh("telemetry", "pull", "--out", pull, "--json"); code != 0 || !strings.Contains(out, `"action":"fetch","bytes":20480`) {
		t.Errorf("pull over a stale copy = %d:\n%s", code, out)
	}
	if got, _ := os.ReadFile(stale); string(got) != string(remote) {
		t.Error("refetched segment differs from the hive's")
	}
	if out, code := coh("doctor", "--mock", "--json"); code != 0 || !strings.Contains(out, `"check":"policy","ok":true`) {
		t.Errorf("coh doctor --mock = %d:\n%s", code, out)
	}
}
