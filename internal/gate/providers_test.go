package gate

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/gpu"
	nscore "github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/ns/nstest"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/ticket"
)

// busyFixture is a governed namespace with something in every provider:
// workers with wrapped telemetry rings, log lines, a published GPU, an
// ingest segment, and the clock of /proc/peers held still.
func busyFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, options{queen: func(c *queen.Config) {
		c.Gov.PolicyEnable, c.Gov.AuditEnable, c.Gov.ReplayEnable = true, true, true
		c.Gov.PolicyRules = nil // no approvals needed, so the fixture can spawn
		c.RingBytesPerWorker = 64
	}})
	f.ns.SetClock(func() time.Time { return time.UnixMilli(1_000_000) })
	q := f.queen()
	f.spawn(2, "100")
	f.tick(10)
	f.mustWrite(f.worker("worker-1"), "/worker/worker-1/telemetry", "temp=41\n")
	f.mustWrite(q, "/log/queen.log", "user line one\nuser line two")
	f.publishGPU(q)
	f.mustWrite(q, "/queen/telemetry/dev-1/ctl", `{"new":"segment","mime":"text/plain"}`)
	segs, err := f.list(q, "/queen/telemetry/dev-1/seg")
	if err != nil || len(segs) != 1 {
		t.Fatalf("ls /queen/telemetry/dev-1/seg = %q, %v; want one segment", segs, err)
	}
	f.mustWrite(q, "/queen/telemetry/dev-1/seg/"+segs[0], "record one\n")
	return f
}

// publishGPU publishes one GPU and one model through /gpu/bridge/ctl.
func (f *fixture) publishGPU(q *Session) {
	f.t.Helper()
	lim := gpu.DefaultLimits()
	payload := gpu.Snapshot{
		Nodes:  []gpu.Node{{ID: "GPU-0", Info: gpu.RenderInfo(gpu.Info{ID: "GPU-0", Name: "Mock", MemoryMB: 1024, SMCount: 8, DriverVersion: "1.0", RuntimeVersion: "1.0"})}},
		Models: []gpu.Model{{ID: "base", Manifest: []byte("# base\n")}},
		Active: "base",
		Schema: gpu.SchemaDescriptor(lim),
	}.Encode()
	f.mustWrite(q, "/gpu/bridge/ctl", strings.Join(gpu.PublishLines(payload, 64), "\n")+"\n")
}

// procCaps are the /proc byte caps the manifest sets, for the nodes it
// enables.
func procCaps() []nstest.Case {
	var out []nstest.Case
	for _, c := range []struct {
		on   bool
		path string
		max  int
	}{
		{generated.ObservabilityProc9pSessions, "9p/sessions", generated.ObservabilityProc9pSessionsBytes},
		{generated.ObservabilityProc9pOutstanding, "9p/outstanding", generated.ObservabilityProc9pOutstandingBytes},
		{generated.ObservabilityProc9pShortWrites, "9p/short_writes", generated.ObservabilityProc9pShortWritesBytes},
		{generated.ObservabilityProc9pSessionActive, "9p/session/active", generated.ObservabilityProc9pSessionActiveBytes},
		{generated.ObservabilityProcIngestP50Ms, "ingest/p50_ms", generated.ObservabilityProcIngestP50MsBytes},
		{generated.ObservabilityProcIngestP95Ms, "ingest/p95_ms", generated.ObservabilityProcIngestP95MsBytes},
		{generated.ObservabilityProcIngestBackpressure, "ingest/backpressure", generated.ObservabilityProcIngestBackpressureBytes},
		{generated.ObservabilityProcIngestDropped, "ingest/dropped", generated.ObservabilityProcIngestDroppedBytes},
		{generated.ObservabilityProcIngestQueued, "ingest/queued", generated.ObservabilityProcIngestQueuedBytes},
		{generated.ObservabilityProcRootReachable, "root/reachable", generated.ObservabilityProcRootReachableBytes},
		{generated.ObservabilityProcRootLastSeenMs, "root/last_seen_ms", generated.ObservabilityProcRootLastSeenMsBytes},
		{generated.ObservabilityProcRootCutReason, "root/cut_reason", generated.ObservabilityProcRootCutReasonBytes},
		{generated.ObservabilityProcPressureBusy, "pressure/busy", generated.ObservabilityProcPressureBusyBytes},
		{generated.ObservabilityProcPressureQuota, "pressure/quota", generated.ObservabilityProcPressureQuotaBytes},
		{generated.ObservabilityProcPressureCut, "pressure/cut", generated.ObservabilityProcPressureCutBytes},
		{generated.ObservabilityProcPressurePolicy, "pressure/policy", generated.ObservabilityProcPressurePolicyBytes},
		{true, "lease/summary", generated.ObservabilityProcLeaseSummaryBytes},
	} {
		if c.on {
			out = append(out, nstest.Cap(c.path, c.max))
		}
	}
	return out
}

// staleRead is the exact refusal of a read below a ring's base.
func staleRead(path string, base uint64) nstest.Case {
	return nstest.ReadError(path, 0, fmt.Sprintf("append-only offset 0 is stale; oldest available %d", base))
}

// providerCases are what each top-level provider declares beyond the
// suite's own checks.
func providerCases(f *fixture) map[string][]nstest.Case {
	sn := f.q.Snapshot()
	w1, _ := sn.Worker("worker-1")
	g := f.q.Gov()
	return map[string][]nstest.Case{
		"gpu": {
			nstest.Lists("", "bridge", "models", "telemetry", "GPU-0"),
			nstest.AppendError("GPU-0/info", "cannot write read-only file /gpu/GPU-0/info"),
			nstest.AppendError("models/available", "cannot write directory /gpu/models/available"),
		},
		"kmesg": {nstest.AppendError("", "cannot write read-only file /kmesg")},
		"log":   {nstest.WalkError("queen.log", "x", "not a directory")},
		"proc": append(procCaps(),
			nstest.Content("boot", testBoot),
			nstest.ReadError("boot", -1, "negative offset"),
			nstest.AppendError("boot", "cannot write read-only file /proc/boot"),
			nstest.AppendError("", "cannot write directory /proc"),
			nstest.WalkError("", "nope", "not found"),
		),
		"queen": {
			nstest.Open("telemetry"), // the first ctl write creates a device (namespace.md §3)
			// The ctl files read 0, nil at any offset, a negative one too.
			nstest.IgnoresOffset("ctl"),
			nstest.IgnoresOffset("lifecycle/ctl"),
			nstest.IgnoresOffset("telemetry/dev-1/ctl"),
			nstest.AppendError("export/lora_jobs", "cannot write directory /queen/export/lora_jobs"),
		},
		"trace": {nstest.AppendError("events", "cannot write read-only file /trace/events")},
		"shard": {staleRead("13/worker/worker-1/telemetry", w1.Ring.Base)},
		"worker": {
			staleRead("worker-1/telemetry", w1.Ring.Base),
			nstest.WalkError("", "worker-9", "not found"),
		},
		"policy":  {nstest.AppendError("rules", "cannot write read-only file /policy/rules")},
		"actions": {nstest.Lists("", "queue")},
		"audit":   {nstest.AppendError("decisions", "cannot write read-only file /audit/decisions")},
		"replay":  {nstest.Cap("status", g.ReplayStatusMaxBytes)},
	}
}

// TestProvidersConform runs the conformance suite on every top-level
// provider of a busy, governed namespace.
func TestProvidersConform(t *testing.T) {
	f := busyFixture(t)
	if base := f.q.Snapshot().Workers()[0].Ring.Base; base == 0 {
		t.Fatalf("worker-1 ring base = 0; want a wrapped ring")
	}
	cases := providerCases(f)
	var names []string
	for _, m := range f.ns.Providers() {
		names = append(names, m.Name)
		t.Run(m.Name, func(t *testing.T) { nstest.TestProvider(t, m.Provider, cases[m.Name]...) })
	}
	want := []string{"gpu", "kmesg", "log", "proc", "queen", "trace", "shard", "worker", "policy", "actions", "audit", "replay"}
	if !slices.Equal(names, want) {
		t.Errorf("Providers() = %q; want %q", names, want)
	}
}

// The gpu provider's own rule answers for GPU workers only.
func TestGPUProviderAllow(t *testing.T) {
	f := busyFixture(t)
	var p nscore.Provider
	for _, m := range f.ns.Providers() {
		if m.Name == "gpu" {
			p = m.Provider
		}
	}
	if p == nil {
		t.Fatal("no gpu provider mounted")
	}
	if v := p.Allow(f.queen(), nscore.Path{"bridge", "ctl"}, OpWrite); v != nscore.Defer {
		t.Errorf("Allow(queen, bridge/ctl, write) = %s; want defer", v)
	}
	gw := f.ns.NewSession(ticket.RoleWorkerGPU, "worker-9")
	for _, tt := range []struct {
		rel  nscore.Path
		op   Op
		want nscore.Verdict
	}{
		{nil, OpWalk, nscore.Allow},
		{nil, OpRead, nscore.Deny},
		{nscore.Path{"models"}, OpRead, nscore.Allow},
		{nscore.Path{"telemetry", "schema.json"}, OpRead, nscore.Allow},
		{nscore.Path{"bridge", "ctl"}, OpWrite, nscore.Deny},
		{nscore.Path{"GPU-0", "ctl"}, OpWrite, nscore.Deny}, // no lease
	} {
		if v := p.Allow(gw, tt.rel, tt.op); v != tt.want {
			t.Errorf("Allow(worker-gpu, %s, %s) = %s; want %s", tt.rel, tt.op, v, tt.want)
		}
	}
}
