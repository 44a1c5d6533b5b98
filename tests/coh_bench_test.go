package tests

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/nineclient"
)

// benchReport is the part of `coh bench workers --json` a user scripts
// against; unknown fields are refused so that the shape is pinned.
type benchReport struct {
	Mode        string  `json:"mode"`
	Seed        int64   `json:"seed"`
	DurationS   float64 `json:"duration_s"`
	IntervalMs  float64 `json:"interval_ms"`
	RecordBytes int     `json:"record_bytes"`
	HivePID     int     `json:"hive_pid"`
	KneeMs      float64 `json:"p99_knee_ms"`
	Steps       []struct {
		Workers       int         `json:"workers"`
		Seconds       float64     `json:"seconds"`
		Appends       int         `json:"appends"`
		Errors        benchErrors `json:"errors"`
		Skipped       int         `json:"skipped"`
		Retries       int         `json:"retries"`
		AppendP50Ms   float64     `json:"append_p50_ms"`
		AppendP99Ms   float64     `json:"append_p99_ms"`
		AppendMaxMs   float64     `json:"append_max_ms"`
		Probes        int         `json:"console_probes"`
		ProbeErrors   benchErrors `json:"console_errors"`
		ConsoleP50Ms  float64     `json:"console_p50_ms"`
		ConsoleP99Ms  float64     `json:"console_p99_ms"`
		HiveCPUCores  *float64    `json:"hive_cpu_cores"`
		HiveRSSMiB    *float64    `json:"hive_rss_mib"`
		LoadAvg       string      `json:"loadavg"`
		SpawnSeconds  float64     `json:"spawn_seconds"`
		AttachSeconds float64     `json:"attach_seconds"`
		Interrupted   bool        `json:"interrupted"`
	} `json:"steps"`
	Knee        *int        `json:"knee_workers"`
	Errors      benchErrors `json:"errors"`
	SetupErrors benchErrors `json:"setup_errors"`
	Server      *struct {
		Checked    int    `json:"workers_checked"`
		Received   int    `json:"heartbeats_received"`
		Acked      int    `json:"heartbeats_acked"`
		Mismatched int    `json:"workers_mismatched"`
		Unchecked  string `json:"unchecked"`
	} `json:"server"`
	Workers       []string `json:"workers"`
	Killed        int      `json:"killed"`
	Kept          bool     `json:"kept"`
	Refused       string   `json:"refused"`
	Failed        string   `json:"failed"`
	Interrupted   bool     `json:"interrupted"`
	CleanupErrors []string `json:"cleanup_errors"`
}

type benchErrors struct {
	EBUSY   int `json:"ebusy"`
	Timeout int `json:"timeout"`
	Other   int `json:"other"`
}

// cohBench runs `coh bench workers` against rt and returns its stdout,
// stderr and exit code.
func cohBench(t *testing.T, bin string, rt *rootTask, args ...string) (string, string, int) {
	t.Helper()
	return runCmd(t, exec.Command(filepath.Join(bin, "coh"), append([]string{"--port", port(rt.ConsoleAddr), "--9p-port", port(rt.NinePAddr), "bench", "workers"}, args...)...))
}

var hiveTick = regexp.MustCompile(`^\{"tick":([0-9]+),"ts_ms":([0-9]+)\}$`)

// received counts the 100-byte records worker id's ring has taken in
// all: its end offset less the hive's own tick lines 1..N (rendered one
// by one here), N from the newest tick line.
func received(t *testing.T, q *nineclient.Client, id string, size int) int {
	t.Helper()
	path := "/worker/" + id + "/telemetry"
	st, err := q.Stat(path)
	if err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	off := st.Size - min(st.Size, uint64(4*size))
	tail, err := q.ReadFrom(path, int64(off), 0)
	if err != nil {
		t.Fatalf("read %s from %d: %v", path, off, err)
	}
	end := off + uint64(len(tail))
	lines := strings.Split(string(tail), "\n")
	if off > 0 {
		lines = lines[1:] // the first may be a partial line
	}
	var n, ts uint64
	for _, l := range lines {
		if m := hiveTick.FindStringSubmatch(l); m != nil {
			n, _ = strconv.ParseUint(m[1], 10, 64)
			ts, _ = strconv.ParseUint(m[2], 10, 64)
		}
	}
	if n == 0 {
		t.Fatalf("%s: no tick line in %q", path, tail)
	}
	var ticks uint64
	for k := uint64(1); k <= n; k++ {
		ticks += uint64(len(fmt.Sprintf("{\"tick\":%d,\"ts_ms\":%d}\n", k, k*(ts/n))))
	}
	if (end-ticks)%uint64(size) != 0 {
		t.Fatalf("%s: end %d less %d tick bytes is not a whole number of %d-byte records", path, end, ticks, size)
	}
	return int((end - ticks) / uint64(size))
}

// TestCohBenchWorkers runs the load harness the way a user does against
// a real root task: a refused spawn is reported with what to do and
// cleaned up; a run of the dev profile's 8 workers has no errors, and the
// heartbeats the harness saw acknowledged are exactly the ones the
// hive's rings received, counted here from the rings themselves.
func TestCohBenchWorkers(t *testing.T) {
	bin := binaries(t, "roottask", "cmd/coh")
	rt := startRootTask(t, bin, false)
	tok, err := nineclient.MintQueen(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	q, err := nineclient.Dial(rt.NinePAddr, tok, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	max := generated.QueenMaxWorkers

	t.Run("refused", func(t *testing.T) {
		out, errb, code := cohBench(t, bin, rt, "--workers", strconv.Itoa(max+1), "--duration", "1s", "--json")
		want := fmt.Sprintf("hive refused spawn %d: ", max+1)
		if code != 1 || !strings.Contains(errb, want) || !strings.Contains(errb, fmt.Sprintf("queen.max_workers, %d in this coh's profile", max)) {
			t.Fatalf("coh bench workers --workers %d = %d, stderr %q; want 1 and %q with the max_workers hint", max+1, code, errb, want)
		}
		var r benchReport
		if err := json.Unmarshal([]byte(out), &r); err != nil || !strings.HasPrefix(r.Refused, want) || r.Killed != max {
			t.Errorf("report = %+v, %v; want the refusal and the %d spawned workers killed", r, err, max)
		}
		if ids, err := q.List("/worker"); err != nil || len(ids) != 0 {
			t.Errorf("ls /worker after a refused run = %v, %v; want no workers left", ids, err)
		}
	})

	t.Run("load", func(t *testing.T) {
		out, errb, code := cohBench(t, bin, rt, "--workers", strconv.Itoa(max), "--duration", "3s", "--json", "--keep", "--seed", "7")
		if code != 0 {
			t.Fatalf("coh bench workers = %d, stderr %q", code, errb)
		}
		dec := json.NewDecoder(strings.NewReader(out))
		dec.DisallowUnknownFields()
		var r benchReport
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("decode %q: %v", out, err)
		}
		if r.Mode != "reopen" || r.Seed != 7 || r.DurationS != 3 || r.RecordBytes != 100 || len(r.Steps) != 1 || r.Steps[0].Workers != max {
			t.Errorf("report = %+v; want reopen, seed 7, 3 s, 100-byte records, one step of %d workers", r, max)
		}
		s := r.Steps[0]
		if r.Errors != (benchErrors{}) || r.SetupErrors != (benchErrors{}) || s.Errors != (benchErrors{}) || s.ProbeErrors != (benchErrors{}) {
			t.Errorf("errors = %+v, setup %+v, step %+v, console %+v; want none", r.Errors, r.SetupErrors, s.Errors, s.ProbeErrors)
		}
		if s.Appends == 0 || s.Probes == 0 || s.AppendP99Ms < s.AppendP50Ms || s.ConsoleP99Ms < s.ConsoleP50Ms {
			t.Errorf("step = %+v; want appends and probes with p99 >= p50", s)
		}
		if r.HivePID == 0 || s.HiveCPUCores == nil || s.HiveRSSMiB == nil || *s.HiveRSSMiB <= 0 {
			t.Errorf("hive pid %d, cpu %v, rss %v; want the local hive found and measured", r.HivePID, s.HiveCPUCores, s.HiveRSSMiB)
		}
		if !r.Kept || r.Killed != 0 || len(r.Workers) != max {
			t.Fatalf("kept %v killed %d workers %v; want %d workers kept", r.Kept, r.Killed, r.Workers, max)
		}
		// What the hive received, counted from its rings.
		ids, err := q.List("/worker")
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, id := range r.Workers {
			if !slices.Contains(ids, id) {
				t.Fatalf("worker %s of the report is not in /worker %v", id, ids)
			}
			n := received(t, q, id, r.RecordBytes)
			if n == 0 {
				t.Errorf("%s received no heartbeats", id)
			}
			total += n
		}
		if sv := r.Server; sv == nil || sv.Checked != max || sv.Mismatched != 0 || sv.Acked != total || sv.Received != total {
			t.Errorf("server = %+v; want %d workers checked, %d received and acked, as counted from the rings", r.Server, max, total)
		}
	})
}
