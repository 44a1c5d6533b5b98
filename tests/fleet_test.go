package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/internal/nineclient"
	"github.com/cohesix/cohesix/internal/prov/workerfs"
	"github.com/cohesix/cohesix/internal/ticket"
)

// fleetTag selects the fleet profile's generated tables (DECISIONS P50).
const fleetTag = "cohesix_fleet"

var fleetBin struct {
	dir string
	err error
}

// fleetBinaries builds the root task with the fleet profile's tables
// (-tags cohesix_fleet), once per test binary, as `make build PROFILE=fleet`
// does; with COHESIX_E2E_BIN set it takes $COHESIX_E2E_BIN/fleet.
func fleetBinaries(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv("COHESIX_E2E_BIN"); dir != "" {
		return filepath.Join(dir, "fleet")
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	if fleetBin.dir == "" && fleetBin.err == nil {
		d, err := os.MkdirTemp("", "cohesix-e2e-fleet")
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("go", "build", "-tags", fleetTag, "-o", d+"/", "./roottask")
		cmd.Dir = repoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			fleetBin.err = fmt.Errorf("go build -tags %s ./roottask: %v\n%s", fleetTag, err, out)
		}
		fleetBin.dir = d
	}
	if fleetBin.err != nil {
		t.Fatal(fleetBin.err)
	}
	return fleetBin.dir
}

// fleetManifest is what the test needs of the fleet profile, read from its
// committed resolved manifest (the test binary itself holds the dev tables).
type fleetManifest struct {
	sha     string
	profile string
	workers int
	budget  int64 // queen.memory_budget_bytes
}

func readFleetManifest(t testing.TB) fleetManifest {
	t.Helper()
	dir := filepath.Join(repoRoot(), "generated", "manifest", "fleet")
	js, err := os.ReadFile(filepath.Join(dir, "root_task_resolved.json"))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(dir, "root_task_resolved.json.sha256"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
		Queen struct {
			MaxWorkers        int   `json:"max_workers"`
			MemoryBudgetBytes int64 `json:"memory_budget_bytes"`
		} `json:"queen"`
	}
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	return fleetManifest{sha: strings.Fields(string(sum))[0], profile: m.Profile.Name, workers: m.Queen.MaxWorkers, budget: m.Queen.MemoryBudgetBytes}
}

// TestFleetProfile boots the root task built with the fleet profile's tables
// and drives it as a fleet operator does: /proc/boot names the fleet
// manifest; queen.max_workers (at least 1,024) heartbeat workers spawn from
// the console with no refusal; each attaches over Secure9P with its own
// ticket and appends a heartbeat that lands in its ring; /proc/9p/sessions
// counts every attached worker; the hive stays within the fleet's
// queen.memory_budget_bytes; and one spawn past the cap is refused.
func TestFleetProfile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the fleet root task and attaches 1,024 Secure9P sessions")
	}
	fm := readFleetManifest(t)
	if fm.profile != "fleet" || fm.workers < 1024 {
		t.Fatalf("fleet manifest: profile %q, max_workers %d; want fleet, >= 1024", fm.profile, fm.workers)
	}
	rt := startRootTask(t, fleetBinaries(t), false)
	if banner := rt.Stdout(); !strings.Contains(banner, "manifest.sha256="+fm.sha+" profile=fleet") {
		t.Errorf("banner %q; want the fleet manifest's hash and profile=fleet", banner)
	}
	c := rt.console(t)
	do(t, c, "attach queen")
	boot := do(t, c, "cat /proc/boot")
	if text := strings.Join(boot.Lines, "\n"); !strings.Contains(text, "manifest.profile=fleet") || !strings.Contains(text, "manifest.sha256="+fm.sha) {
		t.Errorf("cat /proc/boot: %q %q; want lines manifest.profile=fleet and manifest.sha256=%s", boot.AckLine(), boot.Lines, fm.sha)
	}

	const spawn = `spawn {"spawn":"heartbeat","ticks":100000}`
	spawnHeartbeats(t, func() string { return do(t, c, spawn).AckLine() }, fm.workers)
	spawned := anonRSS(t, rt.cmd.Process.Pid)
	ls := do(t, c, "ls /worker")
	if !ls.Ack.OK || len(ls.Lines) != fm.workers {
		t.Errorf("ls /worker: %q with %d lines; want %d workers", ls.AckLine(), len(ls.Lines), fm.workers)
	}

	// Every worker attaches with its own ticket and appends one heartbeat.
	heartbeat := func(id string) []byte {
		return []byte(fmt.Sprintf(`{"worker":%q,"seq":1,"cpu_pct":12.5,"mem_mb":64,"ts_ms":%d}`+"\n", id, time.Now().UnixMilli()))
	}
	workers := make([]*nineclient.Client, 0, fm.workers)
	t.Cleanup(func() {
		for _, w := range workers {
			w.Close()
		}
	})
	for i := 1; i <= fm.workers; i++ {
		id := fmt.Sprintf("worker-%d", i)
		tok, err := nineclient.Mint(ticket.RoleWorkerHeartbeat, id, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		w, err := nineclient.Dial(rt.NinePAddr, tok, 10*time.Second)
		if err != nil {
			t.Fatalf("worker %d of %d: Secure9P attach: %v", i, fm.workers, err)
		}
		workers = append(workers, w)
		if _, err := w.AppendAtEnd("/worker/"+id+"/telemetry", heartbeat(id)); err != nil {
			t.Fatalf("worker %d of %d: heartbeat: %v", i, fm.workers, err)
		}
	}
	last := fmt.Sprintf("worker-%d", fm.workers)
	if r := do(t, c, "cat /worker/"+last+"/telemetry"); !strings.Contains(strings.Join(r.Lines, "\n"), `"worker":"`+last+`"`) {
		t.Errorf("cat %s telemetry = %q %q; want its heartbeat", last, r.AckLine(), r.Lines)
	}
	sessions := do(t, c, "cat /proc/9p/sessions")
	if want := fmt.Sprintf("sessions total=%d worker=%d ", fm.workers, fm.workers); len(sessions.Lines) == 0 || !strings.HasPrefix(sessions.Lines[0], want) {
		t.Errorf("/proc/9p/sessions = %q; want it to begin %q", sessions.Lines, want)
	}
	checkShardCounts(t, sessions.Lines, fm.workers)
	rss := anonRSS(t, rt.cmd.Process.Pid)
	t.Logf("fleet hive: RssAnon %d KiB with %d workers spawned, %d KiB with each attached over Secure9P and one heartbeat appended (%d B per attached worker; VmRSS %s; queen.memory_budget_bytes %d KiB)",
		spawned>>10, fm.workers, rss>>10, (rss-spawned)/int64(fm.workers), vmRSS(rt.cmd.Process.Pid), fm.budget>>10)
	if rss > fm.budget {
		t.Errorf("RssAnon %d bytes over the fleet's queen.memory_budget_bytes %d", rss, fm.budget)
	}

	if r := do(t, c, spawn); r.AckLine() != "ERR SPAWN reason=quota detail=buffer-full path=/queen/ctl error=buffer full" {
		t.Errorf("spawn past queen.max_workers = %d: %q; want the buffer-full refusal", fm.workers, r.AckLine())
	}
}

// spawnHeartbeats runs spawn n times and fails at the first refusal.
func spawnHeartbeats(t *testing.T, spawn func() string, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		if ack := spawn(); ack != `OK SPAWN payload={"spawn":"heartbeat","ticks":100000}` {
			t.Fatalf("spawn %d of %d: %q; want OK", i, n, ack)
		}
	}
}

// checkShardCounts checks the per-shard lines of /proc/9p/sessions with
// worker-1..n attached against the golden mapping (M14 acceptance 2;
// workerfs.TestShardGolden pins ShardLabel).
func checkShardCounts(t *testing.T, lines []string, n int) {
	t.Helper()
	bits := -1
	if len(lines) > 0 {
		if i := strings.Index(lines[0], "shard_bits="); i >= 0 {
			fmt.Sscanf(lines[0][i:], "shard_bits=%d", &bits)
		}
	}
	if bits < 1 || len(lines) != 1+1<<bits {
		t.Errorf("/proc/9p/sessions: shard_bits %d and %d lines; want a line per shard", bits, len(lines))
		return
	}
	perShard := map[string]int{}
	for i := 1; i <= n; i++ {
		perShard[workerfs.ShardLabel(fmt.Sprintf("worker-%d", i), bits)]++
	}
	for _, l := range lines[1:] {
		var label string
		var got int
		if _, err := fmt.Sscanf(l, "shard %s %d", &label, &got); err != nil || got != perShard[label] {
			t.Errorf("/proc/9p/sessions line %q; want shard %s %d", l, label, perShard[label])
		}
	}
}

// vmRSS is the VmRSS line of /proc/<pid>/status, for the log ("?" without
// /proc).
func vmRSS(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
