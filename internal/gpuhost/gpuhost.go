// Package gpuhost is the host side of the GPU bridge: GPU discovery
// through NVML (github.com/NVIDIA/go-nvml, behind its Interface so the
// library's mock devices drive the tests), the deterministic mock
// inventory of namespace.md §5, and the gpu-bridge-snapshot/v1 payload
// built from an inventory plus a model registry. NVML and everything else
// heavy stays here, outside the root task (ARCHITECTURE rule 6).
package gpuhost

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/cohesix/cohesix/internal/gpu"
)

// Inventory is what discovery found: one gpu.Info per device.
type Inventory struct {
	Source string     `json:"source"` // "nvml" or "mock"
	GPUs   []gpu.Info `json:"gpus"`
}

// Mock is the deterministic dev inventory (spec namespace §5).
func Mock() Inventory {
	return Inventory{Source: "mock", GPUs: []gpu.Info{
		{ID: "GPU-0", Name: "Mock 4090", MemoryMB: 24576, SMCount: 144, DriverVersion: "555.0", RuntimeVersion: "12.4"},
		{ID: "GPU-1", Name: "Mock 4060", MemoryMB: 8192, SMCount: 64, DriverVersion: "555.0", RuntimeVersion: "12.4"}, // limit-literal-ok: mock GPU memory (namespace.md §5), not a manifest limit
	}}
}

// ErrNoNVML means the NVML library is absent or reports no driver.
var ErrNoNVML = errors.New("nvml unavailable")

// Discover lists the GPUs lib reports. Devices are named GPU-<index> so
// ids stay short path components; the NVML UUID is kept in the name.
func Discover(lib nvml.Interface) (inv Inventory, err error) {
	defer func() {
		if r := recover(); r != nil { // a missing libnvml panics in the bindings
			err = fmt.Errorf("%w: %v", ErrNoNVML, r)
		}
	}()
	if ret := lib.Init(); ret != nvml.SUCCESS {
		return inv, fmt.Errorf("%w: init: %s", ErrNoNVML, lib.ErrorString(ret))
	}
	defer lib.Shutdown()
	driver, ret := lib.SystemGetDriverVersion()
	if ret != nvml.SUCCESS {
		driver = "unknown"
	}
	runtime := "unknown"
	if v, ret := lib.SystemGetCudaDriverVersion(); ret == nvml.SUCCESS {
		runtime = fmt.Sprintf("%d.%d", v/1000, (v%1000)/10)
	}
	n, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return inv, fmt.Errorf("%w: device count: %s", ErrNoNVML, lib.ErrorString(ret))
	}
	inv.Source = "nvml"
	for i := 0; i < n; i++ {
		d, ret := lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			return inv, fmt.Errorf("device %d: %s", i, lib.ErrorString(ret))
		}
		info := gpu.Info{ID: fmt.Sprintf("GPU-%d", i), DriverVersion: driver, RuntimeVersion: runtime}
		info.Name, _ = d.GetName()
		if mem, ret := d.GetMemoryInfo(); ret == nvml.SUCCESS {
			info.MemoryMB = uint32(mem.Total / (1 << 20))
		}
		info.SMCount = smCount(d)
		inv.GPUs = append(inv.GPUs, info)
	}
	return inv, nil
}

func smCount(d nvml.Device) (n uint32) {
	defer func() { _ = recover() }() // not every mock implements attributes
	if a, ret := d.GetAttributes(); ret == nvml.SUCCESS {
		return a.MultiprocessorCount
	}
	return 0
}

// Registry reads a host model registry (spec gpu-telemetry §4):
// <root>/available/<model>/manifest.toml and <root>/active. A missing
// registry yields the built-in base model so a snapshot is always valid.
func Registry(root string, lim gpu.Limits) ([]gpu.Model, string, error) {
	base := gpu.Model{ID: "base", Manifest: []byte("# built-in placeholder: no registry\n")}
	if root == "" {
		return []gpu.Model{base}, "base", nil
	}
	ents, err := os.ReadDir(filepath.Join(root, "available"))
	if os.IsNotExist(err) {
		return []gpu.Model{base}, "base", nil
	}
	if err != nil {
		return nil, "", err
	}
	var models []gpu.Model
	for _, e := range ents {
		if !e.IsDir() || !gpu.ValidID(e.Name(), lim.ModelIDMax) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, "available", e.Name(), "manifest.toml"))
		if err != nil || len(b) > lim.ManifestMax {
			continue
		}
		models = append(models, gpu.Model{ID: e.Name(), Manifest: b})
	}
	sort.Slice(models, func(i, j int) bool { return models[i].ID < models[j].ID })
	active := ""
	if b, err := os.ReadFile(filepath.Join(root, "active")); err == nil {
		active = strings.TrimSpace(string(b))
	}
	if len(models) == 0 {
		return []gpu.Model{base}, "base", nil
	}
	if active == "" {
		active = models[0].ID
	}
	return models, active, nil
}

// Snapshot builds the publish payload for inv and the registry's models.
func Snapshot(inv Inventory, models []gpu.Model, active string, lim gpu.Limits) gpu.Snapshot {
	s := gpu.Snapshot{Models: models, Active: active, Schema: gpu.SchemaDescriptor(lim)}
	for _, g := range inv.GPUs {
		s.Nodes = append(s.Nodes, gpu.Node{ID: g.ID, Info: gpu.RenderInfo(g), Ctl: []byte{}, Lease: []byte{}, Status: []byte{}})
	}
	if inv.Source == "mock" {
		for i := range s.Nodes {
			s.Nodes[i].Ctl = []byte("LEASE " + s.Nodes[i].ID + "\n")
		}
	}
	return s
}
