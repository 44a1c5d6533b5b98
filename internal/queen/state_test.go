package queen

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cohesix/cohesix/internal/errs"
)

const bootMs = 1_000_000

var (
	queenWho = Who{Role: "queen"}
)

// testConfig is the manifest configuration with the auto transition to
// ONLINE; tests shrink fields they exercise.
func testConfig() Config {
	cfg := Default()
	cfg.InitialState = "BOOTING"
	cfg.AutoOnline = "ONLINE"
	return cfg
}

// onlineState returns a state that has completed boot at bootMs.
func onlineState(t *testing.T, cfg Config) *State {
	t.Helper()
	s := NewState(cfg, bootMs)
	if r := s.Apply(BootComplete{}, bootMs); r.Err != nil {
		t.Fatalf("Apply(BootComplete) = %v; want nil", r.Err)
	}
	if got := s.lifecycle.State; got != "ONLINE" {
		t.Fatalf("state after BootComplete = %s; want ONLINE", got)
	}
	return s
}

func ctl(s *State, line string, nowMs uint64) Result {
	return s.Apply(CtlWrite{Who: queenWho, Line: []byte(line)}, nowMs)
}

func mustSpawn(t *testing.T, s *State, line string, nowMs uint64) string {
	t.Helper()
	r := ctl(s, line, nowMs)
	if r.Err != nil {
		t.Fatalf("Apply(%s) = %v; want nil", line, r.Err)
	}
	return r.Worker
}

// logSince returns the audit lines appended after the log had n lines in
// total (counting evicted ones).
func logSince(s *State, total uint64) []string {
	added := int(s.logTotal - total)
	if added > len(s.log) {
		added = len(s.log)
	}
	return slices.Clone(s.log[len(s.log)-added:])
}

func hasLine(lines []string, want string) bool { return slices.Contains(lines, want) }

func TestSpawnAllocatesMonotonicIDs(t *testing.T) {
	s := onlineState(t, testConfig())
	spawn := `{"spawn":"heartbeat","ticks":5}`
	var got []string
	got = append(got, mustSpawn(t, s, spawn, bootMs), mustSpawn(t, s, spawn, bootMs))
	if r := ctl(s, `{"kill":"worker-2"}`, bootMs); r.Err != nil {
		t.Fatalf("kill worker-2 = %v; want nil", r.Err)
	}
	got = append(got, mustSpawn(t, s, spawn, bootMs))
	want := []string{"worker-1", "worker-2", "worker-3"}
	if !slices.Equal(got, want) {
		t.Errorf("spawned ids = %q; want %q (never reused after kill)", got, want)
	}
	if !slices.Equal(s.order, []string{"worker-1", "worker-3"}) {
		t.Errorf("spawn order = %q; want [worker-1 worker-3]", s.order)
	}
	w := s.workers["worker-1"]
	if w.Role != "worker-heartbeat" || !w.Running || w.SpawnedMs != bootMs {
		t.Errorf("worker-1 = %+v; want a running worker-heartbeat spawned at %d", w, bootMs)
	}
	line := fmt.Sprintf("spawn worker=worker-1 role=worker-heartbeat ticks=5 ops=%d ttl_s=%d", s.cfg.DefaultOps, s.cfg.DefaultTTLs)
	if !hasLine(s.log, line) {
		t.Errorf("log = %q; want line %q", s.log, line)
	}
}

func TestHeartbeatTicksStopAtBudget(t *testing.T) {
	cfg := testConfig()
	cfg.HeartbeatIntervalMs = 100
	s := onlineState(t, cfg)
	id := mustSpawn(t, s, `{"spawn":"heartbeat","ticks":3}`, bootMs)
	for i := 1; i <= 5; i++ {
		s.Apply(Tick{}, bootMs+uint64(i)*100)
	}
	w := s.workers[id]
	want := "{\"tick\":1,\"ts_ms\":100}\n{\"tick\":2,\"ts_ms\":200}\n{\"tick\":3,\"ts_ms\":300}\n"
	if got := string(w.Ring.Data); got != want {
		t.Errorf("telemetry after 5 ticks = %q; want %q", got, want)
	}
	if w.Ticks != 3 {
		t.Errorf("Ticks = %d; want 3", w.Ticks)
	}
	if w.Running || w.ExitReason != "ticks" {
		t.Errorf("Running, ExitReason = %v, %q; want false, ticks", w.Running, w.ExitReason)
	}
	if _, ok := s.workers[id]; !ok {
		t.Errorf("worker %s removed on budget exhaustion; want kept", id)
	}
	line := "worker worker-1 budget exhausted reason=ticks revoked=true"
	n := 0
	for _, l := range s.log {
		if l == line {
			n++
		}
	}
	if n != 1 {
		t.Errorf("log has %d lines %q; want exactly 1 (log %q)", n, line, s.log)
	}
}

func TestHeartbeatTTLExpiry(t *testing.T) {
	s := onlineState(t, testConfig())
	id := mustSpawn(t, s, `{"spawn":"heartbeat","ticks":100,"budget":{"ttl_s":2}}`, bootMs)
	s.Apply(Tick{}, bootMs+1999)
	if w := s.workers[id]; !w.Running || w.Ticks != 1 {
		t.Fatalf("worker before ttl = running %v ticks %d; want running, 1 tick", w.Running, w.Ticks)
	}
	total := s.logTotal
	s.Apply(Tick{}, bootMs+2000)
	w := s.workers[id]
	if w.Running || w.ExitReason != "ttl" || w.Ticks != 1 {
		t.Errorf("worker at ttl = running %v reason %q ticks %d; want stopped, ttl, 1 tick", w.Running, w.ExitReason, w.Ticks)
	}
	want := []string{"worker worker-1 budget exhausted reason=ttl revoked=true"}
	if got := logSince(s, total); !slices.Equal(got, want) {
		t.Errorf("log at ttl = %q; want %q", got, want)
	}
}

func TestKill(t *testing.T) {
	s := onlineState(t, testConfig())
	id := mustSpawn(t, s, `{"spawn":"heartbeat","ticks":10}`, bootMs)
	s.Apply(Tick{}, bootMs+100)
	s.Apply(Tick{}, bootMs+200)
	total := s.logTotal
	r := ctl(s, `{"kill":"worker-1"}`, bootMs+300)
	if r.Err != nil || r.Worker != id {
		t.Fatalf("kill = %+v; want worker %s, no error", r, id)
	}
	if _, ok := s.workers[id]; ok {
		t.Errorf("worker %s still present after kill", id)
	}
	if want := []string{"kill worker=worker-1 ticks=2 revoked=true"}; !slices.Equal(logSince(s, total), want) {
		t.Errorf("kill log = %q; want %q", logSince(s, total), want)
	}

	r = ctl(s, `{"kill":"worker-1"}`, bootMs+400)
	if !errors.Is(r.Err, errs.ErrNotFound) {
		t.Errorf("kill of a killed worker = %v; want ErrNotFound", r.Err)
	}
	r = ctl(s, `{"kill":"worker-99"}`, bootMs+400)
	if !errors.Is(r.Err, errs.ErrNotFound) {
		t.Errorf("kill worker-99 = %v; want ErrNotFound", r.Err)
	}
	if !hasLine(s.log, "kill outcome=deny worker=worker-99 reason=not-found") {
		t.Errorf("log = %q; want a not-found kill denial", s.log)
	}
}

func TestMaxWorkers(t *testing.T) {
	cfg := testConfig()
	cfg.MaxWorkers = 2
	s := onlineState(t, cfg)
	mustSpawn(t, s, `{"spawn":"heartbeat","ticks":1}`, bootMs)
	mustSpawn(t, s, `{"spawn":"heartbeat","ticks":1}`, bootMs)
	r := ctl(s, `{"spawn":"heartbeat","ticks":1}`, bootMs)
	if !errors.Is(r.Err, errs.ErrQuota) || errs.Message(r.Err) != "buffer full" {
		t.Fatalf("third spawn = %v; want ErrQuota %q", r.Err, "buffer full")
	}
	if !hasLine(s.log, "spawn outcome=deny reason=buffer-full workers=2 max=2") {
		t.Errorf("log = %q; want a buffer-full spawn denial", s.log)
	}
	// Killing one makes room again; the new id is still fresh.
	ctl(s, `{"kill":"worker-1"}`, bootMs)
	if id := mustSpawn(t, s, `{"spawn":"heartbeat","ticks":1}`, bootMs); id != "worker-3" {
		t.Errorf("spawn after kill = %s; want worker-3", id)
	}
}

func TestSpawnRefusals(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		class   error
		logLine string
	}{
		{"gpu without a GPU namespace", `{"spawn":"gpu","lease":{"gpu_id":"GPU-0","mem_mb":1024,"streams":1,"ttl_s":60}}`, errs.ErrBusy, "spawn outcome=deny role=worker-gpu reason=gpu-unavailable"},
		{"unknown spawn target", `{"spawn":"lora","ticks":1}`, errs.ErrInvalid, "spawn outcome=deny reason=invalid-payload"},
		{"heartbeat with a lease", `{"spawn":"heartbeat","ticks":1,"lease":{"gpu_id":"GPU-0","mem_mb":1,"streams":1,"ttl_s":1}}`, errs.ErrInvalid, "spawn outcome=deny reason=invalid-payload"},
		{"heartbeat without ticks", `{"spawn":"heartbeat"}`, errs.ErrInvalid, "spawn outcome=deny reason=invalid-payload"},
		{"heartbeat with zero ticks", `{"spawn":"heartbeat","ticks":0}`, errs.ErrInvalid, "spawn outcome=deny reason=invalid-payload"},
		{"ticks inside budget", `{"spawn":"heartbeat","ticks":1,"budget":{"ticks":5}}`, errs.ErrInvalid, "spawn outcome=deny reason=invalid-payload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := onlineState(t, testConfig())
			total := s.logTotal
			r := ctl(s, tt.line, bootMs)
			if !errors.Is(r.Err, tt.class) {
				t.Errorf("Apply(%s) = %v; want class %v", tt.line, r.Err, tt.class)
			}
			if len(s.workers) != 0 || s.nextWorker != 1 {
				t.Errorf("after refused spawn: %d workers, next id %d; want 0, 1", len(s.workers), s.nextWorker)
			}
			if got := logSince(s, total); !slices.Equal(got, []string{tt.logLine}) {
				t.Errorf("log = %q; want [%q]", got, tt.logLine)
			}
		})
	}
}

func TestCtlRefusesNonQueen(t *testing.T) {
	s := onlineState(t, testConfig())
	r := s.Apply(CtlWrite{Who: Who{Role: "worker-heartbeat", Subject: "worker-1"}, Line: []byte(`{"bind":{"from":"/log","to":"/x"}}`)}, bootMs)
	if !errors.Is(r.Err, errs.ErrPermission) || r.Bind != nil {
		t.Errorf("worker bind = %+v; want ErrPermission and no bind", r)
	}
	if !hasLine(s.log, "queen-ctl outcome=deny role=worker-heartbeat reason=not-queen") {
		t.Errorf("log = %q; want a not-queen denial", s.log)
	}
}

func TestBindAndMountResults(t *testing.T) {
	s := onlineState(t, testConfig())
	r := ctl(s, `{"bind":{"from":"/log","to":"/mylog"}}`, bootMs)
	if r.Err != nil || r.Bind == nil || *r.Bind != (Bind{From: "/log", To: "/mylog"}) {
		t.Errorf("bind = %+v (bind %v); want Bind{/log → /mylog}", r, r.Bind)
	}
	r = ctl(s, `{"mount":{"service":"logs","at":"/x"}}`, bootMs)
	if r.Err != nil || r.Bind == nil || *r.Bind != (Bind{Mount: "logs", To: "/x"}) {
		t.Errorf("mount = %+v (bind %v); want Bind{Mount: logs, To: /x}", r, r.Bind)
	}
}

func TestDefaultBudget(t *testing.T) {
	s := onlineState(t, testConfig())
	if r := ctl(s, `{"budget":{"ops":7,"ttl_s":9}}`, bootMs); r.Err != nil {
		t.Fatalf("budget = %v; want nil", r.Err)
	}
	if !hasLine(s.log, "budget default ops=7 ttl_s=9") {
		t.Errorf("log = %q; want %q", s.log, "budget default ops=7 ttl_s=9")
	}
	mustSpawn(t, s, `{"spawn":"heartbeat","ticks":4}`, bootMs)
	mustSpawn(t, s, `{"spawn":"heartbeat","ticks":4,"budget":{"ops":1}}`, bootMs)
	for _, tt := range []struct {
		id              string
		ticks, ops, ttl uint64
	}{{"worker-1", 4, 7, 9}, {"worker-2", 4, 1, 9}} {
		b := s.workers[tt.id].Budget
		if *b.Ticks != tt.ticks || *b.Ops != tt.ops || *b.TTLs != tt.ttl {
			t.Errorf("%s budget = %s; want ticks=%d ops=%d ttl_s=%d", tt.id, budgetString(b), tt.ticks, tt.ops, tt.ttl)
		}
	}
}

func TestTelemetryRingWrapDropsWholeRecords(t *testing.T) {
	cfg := testConfig()
	cfg.RingBytesPerWorker = 32
	s := onlineState(t, cfg)
	id := mustSpawn(t, s, `{"spawn":"heartbeat","ticks":1}`, bootMs)
	w := s.workers[id]
	// Appends by the queen never consume the worker's budget.
	appendRec := func(data string) Result {
		return s.Apply(TelemetryAppend{Who: queenWho, Worker: id, Data: []byte(data)}, bootMs)
	}
	for _, rec := range []string{"aaaaaaaaa", "bbbbbbbbb", "ccccccccc"} { // 10 bytes each with '\n'
		if r := appendRec(rec); r.Err != nil {
			t.Fatalf("append %q = %v", rec, r.Err)
		}
	}
	if w.Ring.Base != 0 || len(w.Ring.Data) != 30 {
		t.Fatalf("ring before wrap = base %d len %d; want 0, 30", w.Ring.Base, len(w.Ring.Data))
	}
	total := s.logTotal
	r := appendRec("dddddd") // 7 bytes: needs 5 more than the 2 left, drops the whole first record
	if r.Err != nil || r.Written != 6 || r.Offset != 37 {
		t.Errorf("wrapping append = %+v; want Written 6, Offset 37", r)
	}
	if got, want := string(w.Ring.Data), "bbbbbbbbb\nccccccccc\ndddddd\n"; got != want {
		t.Errorf("ring data = %q; want %q", got, want)
	}
	if w.Ring.Base != 10 {
		t.Errorf("ring base = %d; want 10", w.Ring.Base)
	}
	if want := []string{"telemetry ring wrap dropped_bytes=10 new_base=10"}; !slices.Equal(logSince(s, total), want) {
		t.Errorf("log = %q; want %q", logSince(s, total), want)
	}
	// A record that needs two old records gone drops both, and the end
	// offset keeps counting every byte ever written. (A heartbeat interval
	// later, so the wrap is written in full rather than summarised.)
	total = s.logTotal
	now := uint64(bootMs) + cfg.HeartbeatIntervalMs
	s.Apply(TelemetryAppend{Who: queenWho, Worker: id, Data: []byte(strings.Repeat("e", 19))}, now)
	if got, want := string(w.Ring.Data), "dddddd\n"+strings.Repeat("e", 19)+"\n"; got != want {
		t.Errorf("ring data = %q; want %q", got, want)
	}
	if w.Ring.Base != 30 || w.Ring.End() != 57 {
		t.Errorf("ring base, end = %d, %d; want 30, 57", w.Ring.Base, w.Ring.End())
	}
	if want := []string{"telemetry ring wrap dropped_bytes=20 new_base=30"}; !slices.Equal(logSince(s, total), want) {
		t.Errorf("log = %q; want %q", logSince(s, total), want)
	}
}

// Rings are appended in place; a snapshot taken earlier must still read
// the bytes it was published with while later appends fill and wrap the
// ring (readers hold snapshots for as long as a 9P read takes).
func TestPublishedRingSurvivesLaterAppends(t *testing.T) {
	cfg := testConfig()
	cfg.RingBytesPerWorker = 32
	s := onlineState(t, cfg)
	id := mustSpawn(t, s, `{"spawn":"heartbeat","ticks":1}`, bootMs)
	type view struct {
		base uint64
		data []byte
		want string
	}
	var views []view
	for i := range 40 {
		rec := strings.Repeat(string(rune('a'+i%26)), 1+i%7)
		if r := s.Apply(TelemetryAppend{Who: queenWho, Worker: id, Data: []byte(rec)}, bootMs); r.Err != nil {
			t.Fatalf("append %d = %v", i, r.Err)
		}
		w, ok := s.snapshot(uint64(i+1), bootMs).Worker(id)
		if !ok {
			t.Fatalf("snapshot %d lacks %s", i+1, id)
		}
		views = append(views, view{w.Ring.Base, w.Ring.Data, string(w.Ring.Data)})
	}
	// A reader appending to its old copy must not write into the ring.
	for _, v := range views {
		_ = append(v.data, "reader"...)
	}
	for i, v := range views {
		if string(v.data) != v.want {
			t.Fatalf("snapshot %d ring (base %d) = %q after later appends; was %q", i+1, v.base, v.data, v.want)
		}
	}
	if d := s.workers[id].Ring.Data; len(d) > 32 || !strings.HasSuffix(string(d), "\n") || strings.Contains(string(d), "reader") {
		t.Errorf("live ring = %q; want whole records within 32 bytes and no reader bytes", d)
	}
}

func TestHeartbeatRingWrapKeepsRecords(t *testing.T) {
	cfg := testConfig()
	cfg.RingBytesPerWorker = 64
	s := onlineState(t, cfg)
	id := mustSpawn(t, s, `{"spawn":"heartbeat","ticks":50}`, bootMs)
	for i := range 50 {
		s.Apply(Tick{}, bootMs+uint64(i))
		d := s.workers[id].Ring.Data
		if len(d) > 64 || (len(d) > 0 && (d[0] != '{' || d[len(d)-1] != '\n')) {
			t.Fatalf("after tick %d ring = %q; want whole records within 64 bytes", i+1, d)
		}
	}
}

func TestTelemetryQuotaReject(t *testing.T) {
	cfg := testConfig()
	cfg.RingBytesPerWorker = 16
	s := onlineState(t, cfg)
	id := mustSpawn(t, s, `{"spawn":"heartbeat","ticks":1}`, bootMs)
	tests := []struct {
		name    string
		data    string
		class   error
		logLine string
	}{
		{"exactly the ring", strings.Repeat("x", 15) + "\n", nil, ""},
		{"one byte over", strings.Repeat("x", 16) + "\n", errs.ErrQuota, "telemetry quota reject bytes=17 quota=16"},
		{"newline added makes it over", strings.Repeat("x", 16), errs.ErrQuota, "telemetry quota reject bytes=17 quota=16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			total := s.logTotal
			before := s.workers[id].Ring
			r := s.Apply(TelemetryAppend{Who: queenWho, Worker: id, Data: []byte(tt.data)}, bootMs)
			if tt.class == nil {
				if r.Err != nil {
					t.Errorf("append %d bytes = %v; want nil", len(tt.data), r.Err)
				}
				return
			}
			if !errors.Is(r.Err, tt.class) {
				t.Errorf("append %d bytes = %v; want %v", len(tt.data), r.Err, tt.class)
			}
			if got := logSince(s, total); !slices.Equal(got, []string{tt.logLine}) {
				t.Errorf("log = %q; want [%q]", got, tt.logLine)
			}
			if after := s.workers[id].Ring; after.Base != before.Base || string(after.Data) != string(before.Data) {
				t.Errorf("ring changed by a rejected record: %+v → %+v", before, after)
			}
		})
	}
}

func TestTelemetryPermission(t *testing.T) {
	s := onlineState(t, testConfig())
	mustSpawn(t, s, `{"spawn":"heartbeat","ticks":1}`, bootMs)
	mustSpawn(t, s, `{"spawn":"heartbeat","ticks":1}`, bootMs)
	w1 := Who{Role: "worker-heartbeat", Subject: "worker-1"}
	tests := []struct {
		name   string
		who    Who
		worker string
		class  error
		msg    string
	}{
		{"own telemetry", w1, "worker-1", nil, ""},
		{"queen", queenWho, "worker-2", nil, ""},
		{"another worker", w1, "worker-2", errs.ErrPermission, "access to /worker/worker-2/telemetry denied"},
		{"unknown worker", w1, "worker-9", errs.ErrNotFound, "worker worker-9 not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.Apply(TelemetryAppend{Who: tt.who, Worker: tt.worker, Data: []byte("x")}, bootMs)
			if tt.class == nil {
				if r.Err != nil {
					t.Errorf("append = %v; want nil", r.Err)
				}
				return
			}
			if !errors.Is(r.Err, tt.class) || errs.Message(r.Err) != tt.msg {
				t.Errorf("append = %v; want %v %q", r.Err, tt.class, tt.msg)
			}
		})
	}
	if !hasLine(s.log, "telemetry outcome=deny role=worker-heartbeat subject=worker-1 worker=worker-2") {
		t.Errorf("log = %q; want the cross-worker denial audited", s.log)
	}
	if got := string(s.workers["worker-2"].Ring.Data); got != "x\n" {
		t.Errorf("worker-2 telemetry = %q; want only the queen's record", got)
	}
}

func TestTelemetryOpsBudget(t *testing.T) {
	s := onlineState(t, testConfig())
	id := mustSpawn(t, s, `{"spawn":"heartbeat","ticks":10,"budget":{"ops":2}}`, bootMs)
	who := Who{Role: "worker-heartbeat", Subject: id}
	for i := range 2 {
		if r := s.Apply(TelemetryAppend{Who: who, Worker: id, Data: []byte("x")}, bootMs); r.Err != nil {
			t.Fatalf("append %d = %v; want nil", i+1, r.Err)
		}
	}
	if w := s.workers[id]; w.Running || w.ExitReason != "ops" {
		t.Errorf("after 2 of 2 ops: running %v reason %q; want stopped, ops", w.Running, w.ExitReason)
	}
	r := s.Apply(TelemetryAppend{Who: who, Worker: id, Data: []byte("x")}, bootMs)
	if !errors.Is(r.Err, errs.ErrClosed) {
		t.Errorf("append after ops exhausted = %v; want ErrClosed", r.Err)
	}
}

var (
	allStates = []string{"BOOTING", "DEGRADED", "ONLINE", "DRAINING", "QUIESCED", "OFFLINE"}
	allGates  = []string{"new-work", "telemetry-ingest", "worker-attach", "worker-telemetry", "worker-job", "host-publish"}
)

func TestGate(t *testing.T) {
	// roles-tickets.md §7: gate → allowed states.
	open := map[string][]string{
		"new-work":         {"ONLINE", "DEGRADED"},
		"telemetry-ingest": {"ONLINE", "DEGRADED", "DRAINING"},
		"worker-attach":    {"ONLINE", "DEGRADED", "DRAINING"},
		"worker-telemetry": {"ONLINE", "DEGRADED", "DRAINING"},
		"worker-job":       {"ONLINE", "DEGRADED"},
		"host-publish":     {"ONLINE", "DEGRADED"},
	}
	for _, gate := range allGates {
		for _, state := range allStates {
			t.Run(gate+"/"+state, func(t *testing.T) {
				want := slices.Contains(open[gate], state)
				if got := Gate(state, gate); got != want {
					t.Errorf("Gate(%s, %s) = %v; want %v", state, gate, got, want)
				}
			})
		}
	}
}

func TestLifecycleGatesCtl(t *testing.T) {
	cfg := testConfig()
	tests := []struct {
		name string
		line string
	}{
		{"spawn", `{"spawn":"heartbeat","ticks":1}`},
		{"bind", `{"bind":{"from":"/log","to":"/x"}}`},
		{"mount", `{"mount":{"service":"logs","at":"/x"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewState(cfg, bootMs) // BOOTING until BootComplete
			r := ctl(s, tt.line, bootMs)
			if !errors.Is(r.Err, errs.ErrPermission) || r.Worker != "" || r.Bind != nil {
				t.Errorf("Apply(%s) in BOOTING = %+v; want ErrPermission and no effect", tt.line, r)
			}
			want := []string{"lifecycle denied action=new-work state=BOOTING reason=gate-denied"}
			if !slices.Equal(s.log, want) {
				t.Errorf("log = %q; want %q", s.log, want)
			}
			s.Apply(BootComplete{}, bootMs+5)
			if r := ctl(s, tt.line, bootMs+5); r.Err != nil {
				t.Errorf("Apply(%s) after BootComplete = %v; want nil", tt.line, r.Err)
			}
		})
	}
}

func TestBootComplete(t *testing.T) {
	tests := []struct {
		name      string
		initial   string
		auto      string
		want      Lifecycle
		wantLines []string
	}{
		{"booting to online", "BOOTING", "ONLINE", Lifecycle{"ONLINE", "boot-complete", bootMs + 7}, []string{"lifecycle transition old=BOOTING new=ONLINE reason=boot-complete"}},
		{"booting to degraded", "BOOTING", "DEGRADED", Lifecycle{"DEGRADED", "boot-complete", bootMs + 7}, []string{"lifecycle transition old=BOOTING new=DEGRADED reason=boot-complete"}},
		{"no auto transition", "BOOTING", "", Lifecycle{"BOOTING", "boot", bootMs}, nil},
		{"not booting", "ONLINE", "ONLINE", Lifecycle{"ONLINE", "boot", bootMs}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.InitialState, cfg.AutoOnline = tt.initial, tt.auto
			s := NewState(cfg, bootMs)
			s.Apply(BootComplete{}, bootMs+7)
			if s.lifecycle != tt.want {
				t.Errorf("lifecycle = %+v; want %+v", s.lifecycle, tt.want)
			}
			if !slices.Equal(s.log, tt.wantLines) {
				t.Errorf("log = %q; want %q", s.log, tt.wantLines)
			}
		})
	}
}

func TestWorkerTelemetryGate(t *testing.T) {
	s := onlineState(t, testConfig())
	id := mustSpawn(t, s, `{"spawn":"heartbeat","ticks":1}`, bootMs)
	for _, tt := range []struct {
		state string
		open  bool
	}{{"DRAINING", true}, {"QUIESCED", false}, {"OFFLINE", false}, {"BOOTING", false}} {
		t.Run(tt.state, func(t *testing.T) {
			s.lifecycle.State = tt.state
			r := s.Apply(TelemetryAppend{Who: Who{Role: "worker-heartbeat", Subject: id}, Worker: id, Data: []byte("x")}, bootMs)
			if got := r.Err == nil; got != tt.open {
				t.Errorf("worker append in %s = %v; want allowed %v", tt.state, r.Err, tt.open)
			}
			line := "lifecycle denied action=worker-telemetry state=" + tt.state + " reason=gate-denied"
			if got := hasLine(s.log, line); got == tt.open {
				t.Errorf("log has %q = %v; want %v", line, got, !tt.open)
			}
		})
	}
}

func TestLogRingKeepsNewest(t *testing.T) {
	cfg := testConfig()
	cfg.LogRingLines = 4
	cfg.LogLineMaxBytes = 8
	s := NewState(cfg, bootMs)
	for i := range 6 {
		s.Apply(LogAppend{Lines: []string{fmt.Sprintf("line-%d", i)}}, bootMs)
	}
	want := []string{"line-2", "line-3", "line-4", "line-5"}
	if !slices.Equal(s.log, want) {
		t.Errorf("log = %q; want %q", s.log, want)
	}
	if s.logTotal != 6 {
		t.Errorf("logTotal = %d; want 6", s.logTotal)
	}
	s.Apply(LogAppend{Lines: []string{"0123456789abc"}}, bootMs)
	if got := s.log[len(s.log)-1]; got != "01234567" {
		t.Errorf("long line stored as %q; want truncated to %q", got, "01234567")
	}
	// The trace ring has the log's bounds: log_ring_lines events of at most
	// log_line_max_bytes, emitted kmesg lines included.
	s.Apply(TraceEmit{Cat: "kmesg", Level: "info", Lines: []string{"kmesg-line-too-long"}}, bootMs)
	tv := s.traceView()
	if len(tv.Events) != 4 || tv.Events[3].Msg != "kmesg-li" || tv.Events[2].Msg != "01234567" {
		t.Errorf("trace events = %+v; want the newest 4, messages cut at 8 bytes", tv.Events)
	}
}

func TestApplyUnknownCommand(t *testing.T) {
	s := NewState(testConfig(), bootMs)
	type bogus struct{ Cmd }
	if r := s.Apply(bogus{}, bootMs); !errors.Is(r.Err, errs.ErrInvalid) {
		t.Errorf("Apply(bogus) = %v; want ErrInvalid", r.Err)
	}
}

// TestAuditSinkOneLinePerCall: whatever a writer passes, the sink stores
// one line with no control character; an escaped field passes unchanged.
func TestAuditSinkOneLinePerCall(t *testing.T) {
	s := NewState(testConfig(), 0)
	before := len(s.log)
	s.Apply(LogAppend{Lines: []string{"access denied path=/x\r\nattach accepted role=queen", `path=/x\r\n escaped`}}, 0)
	got := s.log[before:]
	want := []string{`access denied path=/x\r\nattach accepted role=queen`, `path=/x\r\n escaped`}
	if !slices.Equal(got, want) {
		t.Fatalf("log = %q; want %q", got, want)
	}
	for _, ev := range s.tr.events {
		if strings.ContainsAny(ev.Msg, "\r\n") {
			t.Errorf("trace event %q holds a line break", ev.Msg)
		}
	}
}

func TestNormalTargetRefusesControls(t *testing.T) {
	for _, p := range []string{"/queen/ctl\r", "/a/\x1b[0m", "/a\x7f", "/a/\u009b"} {
		if _, err := NormalTarget(p, 8, false); err == nil {
			t.Errorf("NormalTarget(%q) accepted", p)
		}
	}
}
