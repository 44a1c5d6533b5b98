package gpufs_test

import (
	"strings"
	"testing"

	"github.com/cohesix/cohesix/internal/gpu"
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/ns/nstest"
	"github.com/cohesix/cohesix/internal/prov/gpufs"
	"github.com/cohesix/cohesix/internal/prov/provtest"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/ticket"
)

// publish publishes one GPU and one model through bridge/ctl.
func publish(t *testing.T, p ns.Provider) { publishGPU(t, p, "GPU-0") }

// publishGPU publishes the GPU id and one model through bridge/ctl.
func publishGPU(t *testing.T, p ns.Provider, id string) {
	t.Helper()
	payload := gpu.Snapshot{
		Nodes:  []gpu.Node{{ID: id, Info: gpu.RenderInfo(gpu.Info{ID: id, Name: "Mock", MemoryMB: 1024, SMCount: 8, DriverVersion: "1.0", RuntimeVersion: "1.0"})}},
		Models: []gpu.Model{{ID: "base", Manifest: []byte("# base\n")}},
		Active: "base",
		Schema: gpu.SchemaDescriptor(gpu.DefaultLimits()),
	}.Encode()
	provtest.Append(t, p, provtest.QueenCaller, "bridge/ctl", strings.Join(gpu.PublishLines(payload, 64), "\n")+"\n")
}

func TestConformance(t *testing.T) {
	q := provtest.NewQueen(t, nil)
	p := gpufs.New(gpufs.Config{Queen: q})
	t.Run("idle", func(t *testing.T) {
		nstest.TestProvider(t, p,
			nstest.Lists("", "bridge"),
			nstest.Content("bridge/status", "state=idle\n"),
			nstest.WalkError("", "models", "not found"),
		)
	})
	publish(t, p)
	t.Run("published", func(t *testing.T) {
		nstest.TestProvider(t, p,
			nstest.Lists("", "bridge", "models", "telemetry", "GPU-0"),
			nstest.Lists("models/available", "base"),
			nstest.Content("models/available/base/manifest.toml", "# base\n"),
			nstest.AppendError("GPU-0/info", "cannot write read-only file /gpu/GPU-0/info"),
			nstest.AppendError("models/available", "cannot write directory /gpu/models/available"),
			nstest.AppendError("telemetry/schema.json", "cannot write read-only file /gpu/telemetry/schema.json"),
		)
	})
}

// A file walked before its GPU went away answers the grammar's refusal.
func TestFileGone(t *testing.T) {
	q := provtest.NewQueen(t, nil)
	p := gpufs.New(gpufs.Config{Queen: q})
	publish(t, p)
	ctl := provtest.Walk(t, p, "GPU-0/ctl")
	if st, err := ctl.Stat(); err != nil || st.Kind != ns.KindAppend {
		t.Fatalf("Stat(GPU-0/ctl) = %+v, %v; want an append file", st, err)
	}
	publishGPU(t, p, "GPU-1") // GPU-0 is gone
	if _, err := ctl.ReadAt(make([]byte, 8), 0); err == nil || err.Error() != "invalid path" {
		t.Errorf("ReadAt(GPU-0/ctl) after GPU-0 went away = %v; want %q", err, "invalid path")
	}
}

// The provider's own rule answers for GPU workers only.
func TestAllow(t *testing.T) {
	q := provtest.NewQueen(t, nil)
	p := gpufs.New(gpufs.Config{Queen: q})
	publish(t, p)
	if v := p.Allow(provtest.QueenCaller, ns.Path{"bridge", "ctl"}, ns.OpWrite); v != ns.Defer {
		t.Errorf("Allow(queen, bridge/ctl, write) = %s; want defer", v)
	}
	if v := p.Allow(provtest.As(ticket.RoleWorkerHeartbeat, "worker-1"), ns.Path{"models"}, ns.OpRead); v != ns.Defer {
		t.Errorf("Allow(worker-heartbeat, models, read) = %s; want defer", v)
	}
	gw := provtest.As(ticket.RoleWorkerGPU, "worker-9")
	for _, tt := range []struct {
		rel  ns.Path
		op   ns.Op
		want ns.Verdict
	}{
		{nil, ns.OpWalk, ns.Allow},
		{nil, ns.OpRead, ns.Deny},
		{ns.Path{"models"}, ns.OpRead, ns.Allow},
		{ns.Path{"models", "active"}, ns.OpWrite, ns.Deny},
		{ns.Path{"telemetry", "schema.json"}, ns.OpRead, ns.Allow},
		{ns.Path{"telemetry", "other"}, ns.OpRead, ns.Deny},
		{ns.Path{"bridge", "ctl"}, ns.OpWrite, ns.Deny},
		{ns.Path{"GPU-0", "ctl"}, ns.OpWrite, ns.Deny}, // no lease
		{ns.Path{"GPU-0"}, ns.OpWalk, ns.Deny},
	} {
		if v := p.Allow(gw, tt.rel, tt.op); v != tt.want {
			t.Errorf("Allow(worker-gpu, %s, %s) = %s; want %s", tt.rel, tt.op, v, tt.want)
		}
	}
}

// TestCASModelActivation: a committed CAS model is listed under
// /gpu/models/available by its digest and can be made active by that
// name; an uncommitted digest cannot (DECISIONS P49).
func TestCASModelActivation(t *testing.T) {
	q := provtest.NewQueen(t, func(c *queen.Config) { c.CAS.Enable, c.CAS.ModelsEnable, c.CAS.MaxModels = true, true, 4 })
	p := gpufs.New(gpufs.Config{Queen: q})
	publish(t, p)
	digest := strings.Repeat("ab", 32)
	q.Must(queen.CASModelCommit{Model: queen.CASModel{Digest: digest, Bytes: 128}})
	name := digest
	nstest.TestProvider(t, p,
		nstest.Lists("models/available", "base", name),
		nstest.Content("models/available/"+name+"/manifest.toml", `model_id = "`+name+`"`+"\n"+`weights_sha256 = "`+digest+`"`+"\nweights_bytes = 128\n"+`source = "/models/`+digest+`"`+"\n"),
	)
	provtest.Append(t, p, provtest.QueenCaller, "models/active", name+"\n")
	if got := q.Snapshot().GPU.ActiveModel(); got != name {
		t.Fatalf("active = %q; want %q", got, name)
	}
	other := strings.Repeat("cd", 32)
	if _, err := provtest.Walk(t, p, "models/active").Append(provtest.QueenCaller, []byte(other+"\n"), -1); err == nil {
		t.Fatal("an uncommitted CAS model was activated")
	}
}
