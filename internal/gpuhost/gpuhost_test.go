package gpuhost

import (
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"

	"github.com/cohesix/cohesix/internal/gpu"
)

// TestDiscoverNVMLMock drives the NVML path against go-nvml's mock DGX
// A100 server: eight devices, named and sized from NVML, and a snapshot
// the hive's parser accepts.
func TestDiscoverNVMLMock(t *testing.T) {
	inv, err := Discover(dgxa100.New())
	if err != nil {
		t.Fatalf("Discover(dgxa100) = %v", err)
	}
	if inv.Source != "nvml" || len(inv.GPUs) != 8 {
		t.Fatalf("Discover(dgxa100) = %+v; want 8 nvml GPUs", inv)
	}
	g := inv.GPUs[0]
	if g.ID != "GPU-0" || g.Name == "" || g.MemoryMB < 40000 || g.DriverVersion != "550.54.15" {
		t.Errorf("GPU-0 = %+v; want an A100 40GB from driver 550.54.15", g)
	}
	lim := gpu.DefaultLimits()
	models, active, _ := Registry("", lim)
	snap := Snapshot(inv, models, active, lim)
	got, err := gpu.ParseSnapshot(snap.Encode(), lim)
	if err != nil || len(got.Nodes) != 8 || got.Active != "base" {
		t.Errorf("ParseSnapshot(Encode(nvml snapshot)) = %d nodes, %q, %v", len(got.Nodes), got.Active, err)
	}
}

func TestMockInventory(t *testing.T) {
	inv := Mock()
	if len(inv.GPUs) != 2 || inv.GPUs[0].ID != "GPU-0" || inv.GPUs[1].MemoryMB != 8192 {
		t.Errorf("Mock() = %+v", inv)
	}
}
