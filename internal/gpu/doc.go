// Package gpu holds the pure formats of the GPU surface (spec
// gpu-telemetry.md): the gpu-bridge-snapshot/v1 publish payload, gpu-lease/v1
// lines, gpu-breadcrumb/v1 lines, model manifests and gpu-telemetry/v1
// records. It opens no files and no sockets; the queen, the namespace and
// the host tools (gpu-bridge-host, coh) share it so both ends of every
// channel parse the same grammar. Every parser has a fuzz target.
package gpu
