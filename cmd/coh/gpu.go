package main

import (
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/gpu"
	"github.com/cohesix/cohesix/internal/syncfile"
)

// gpuIDFlag is --gpu as status and lease take it.
func gpuIDFlag() cli.Flag {
	return &cli.StringFlag{Name: "gpu", Required: true, Usage: "GPU id as /gpu lists it"}
}

func gpuCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "gpu",
		Usage: "List, inspect and lease GPUs",
		Subcommands: []*cli.Command{
			{Name: "list", Usage: "List the GPUs the hive publishes", Flags: []cli.Flag{jsonFlag}, Action: e.gpuList},
			{Name: "status", Usage: "Show one GPU's info, lease and status", Flags: []cli.Flag{gpuIDFlag(), jsonFlag}, Action: e.gpuStatus},
			{Name: "lease", Usage: "Lease a GPU to a new worker-gpu", Flags: []cli.Flag{
				gpuIDFlag(), &cli.UintFlag{Name: "mem-mb", Required: true, Usage: "GPU memory to lease, MiB"},
				&cli.UintFlag{Name: "streams", Required: true, Usage: "CUDA streams to lease (1..255)"}, &cli.UintFlag{Name: "ttl-s", Required: true, Usage: "Lease lifetime in seconds"},
				&cli.UintFlag{Name: "priority", Usage: "Lease priority (0..255)"}, &cli.Uint64Flag{Name: "budget-ttl-s", Usage: "Worker budget: seconds before it is revoked"}, &cli.Uint64Flag{Name: "budget-ops", Usage: "Worker budget: operations before it is revoked"},
				&cli.StringFlag{Name: "receipt-out", Usage: "Write the granted gpu-lease/v1 line to this file"}, jsonFlag,
			}, Action: e.gpuLease},
		},
	}
}

// gpuNamespaceDirs are the /gpu entries that are not GPUs.
var gpuNamespaceDirs = map[string]bool{"bridge": true, "models": true, "telemetry": true}

func (e *env) gpuList(c *cli.Context) error {
	cl, err := dialHive(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	names, err := cl.List("/gpu")
	if err != nil {
		return fail(exitFailed, "ERR LS path=/gpu error=%v", err)
	}
	var gpus []gpu.Info
	for _, n := range names {
		if gpuNamespaceDirs[n] {
			continue
		}
		i, err := readInfo(cl, n)
		if err != nil {
			return fail(exitFailed, "ERR CAT path=/gpu/%s/info error=%v", n, err)
		}
		gpus = append(gpus, i)
	}
	var lines []string
	for _, g := range gpus {
		lines = append(lines, fmt.Sprintf("%s name=%q memory_mb=%d sm_count=%d driver=%s runtime=%s", g.ID, g.Name, g.MemoryMB, g.SMCount, g.DriverVersion, g.RuntimeVersion))
	}
	emit(c, e, gpus, lines)
	return nil
}

func readInfo(cl hiveFS, id string) (gpu.Info, error) {
	b, err := cl.Read("/gpu/"+id+"/info", generated.GpuSchemaMaxBytes)
	if err != nil {
		return gpu.Info{}, err
	}
	return gpu.ParseInfo(b)
}

// gpuFiles are the files gpu status shows, in order.
var gpuFiles = []string{"info", "lease", "status"}

func (e *env) gpuStatus(c *cli.Context) error {
	cl, err := dialHive(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	id := c.String("gpu")
	out := map[string]string{}
	for _, f := range gpuFiles {
		b, err := cl.Read("/gpu/"+id+"/"+f, generated.GpuStatusMaxBytes)
		if err != nil {
			return fail(exitFailed, "ERR CAT path=/gpu/%s/%s error=%v", id, f, err)
		}
		out[f] = string(b)
	}
	if c.Bool("json") {
		emitJSON(e.stdout, out)
		return nil
	}
	for _, f := range gpuFiles {
		fmt.Fprintf(e.stdout, "OK CAT path=/gpu/%s/%s bytes=%d\n%s", id, f, len(out[f]), out[f])
	}
	return nil
}

func (e *env) gpuLease(c *cli.Context) error {
	id := c.String("gpu")
	if !gpu.ValidID(id, generated.GpuIdMaxBytes) || c.Uint("streams") > 255 || c.Uint("priority") > 255 {
		return fail(exitUsage, "coh: invalid --gpu, --streams or --priority")
	}
	cl, err := dialHive(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	if _, err := cl.Append(generated.ClientPathsQueenCtl, 0, leaseRequest(c)); err != nil {
		return fail(exitFailed, "ERR ECHO path=%s error=%v", generated.ClientPathsQueenCtl, err)
	}
	b, err := cl.Read("/gpu/"+id+"/lease", generated.GpuLeaseMaxBytes)
	if err != nil {
		return fail(exitFailed, "ERR CAT path=/gpu/%s/lease error=%v", id, err)
	}
	l, active, err := gpu.CurrentLease(b, gpu.DefaultLimits())
	if err != nil || !active {
		return fail(exitFailed, "ERR LEASE gpu=%s reason=no-active-lease", id)
	}
	if p := c.String("receipt-out"); p != "" {
		if err := syncfile.Replace(p, l.Line()); err != nil {
			return fail(exitFailed, "coh: receipt: %v", err)
		}
	}
	emit(c, e, l, []string{fmt.Sprintf("OK LEASE gpu=%s worker=%s mem_mb=%d streams=%d ttl_s=%d", l.GPUID, l.WorkerID, l.MemMB, l.Streams, l.TTLs)})
	return nil
}

// leaseRequest is the spawn-gpu ctl line, newline included, for the
// lease flags; priority and the budget only when given.
func leaseRequest(c *cli.Context) []byte {
	lease := map[string]any{"gpu_id": c.String("gpu"), "mem_mb": c.Uint("mem-mb"), "streams": c.Uint("streams"), "ttl_s": c.Uint("ttl-s")}
	if c.IsSet("priority") {
		lease["priority"] = c.Uint("priority")
	}
	req := map[string]any{"spawn": "gpu", "lease": lease}
	if c.IsSet("budget-ttl-s") || c.IsSet("budget-ops") {
		b := map[string]uint64{}
		if c.IsSet("budget-ttl-s") {
			b["ttl_s"] = c.Uint64("budget-ttl-s")
		}
		if c.IsSet("budget-ops") {
			b["ops"] = c.Uint64("budget-ops")
		}
		req["budget"] = b
	}
	line, _ := json.Marshal(req)
	return append(line, '\n')
}
