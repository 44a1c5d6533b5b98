package main

import (
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/gpu"
)

func gpuCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "gpu",
		Usage: "List, inspect and lease GPUs",
		Subcommands: []*cli.Command{
			{Name: "list", Usage: "List the GPUs the hive publishes", Flags: []cli.Flag{jsonFlag}, Action: func(c *cli.Context) error {
				cl, err := dial(c)
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
					if n == "bridge" || n == "models" || n == "telemetry" {
						continue
					}
					b, err := cl.Read("/gpu/"+n+"/info", generated.GpuSchemaMaxBytes)
					if err != nil {
						return fail(exitFailed, "ERR CAT path=/gpu/%s/info error=%v", n, err)
					}
					i, err := gpu.ParseInfo(b)
					if err != nil {
						return fail(exitFailed, "ERR CAT path=/gpu/%s/info error=%v", n, err)
					}
					gpus = append(gpus, i)
				}
				if c.Bool("json") {
					emitJSON(e.stdout, gpus)
					return nil
				}
				for _, g := range gpus {
					fmt.Fprintf(e.stdout, "%s name=%q memory_mb=%d sm_count=%d driver=%s runtime=%s\n", g.ID, g.Name, g.MemoryMB, g.SMCount, g.DriverVersion, g.RuntimeVersion)
				}
				return nil
			}},
			{Name: "status", Usage: "Show one GPU's info, lease and status", Flags: []cli.Flag{&cli.StringFlag{Name: "gpu", Required: true, Usage: "GPU id as /gpu lists it"}, jsonFlag}, Action: func(c *cli.Context) error {
				cl, err := dial(c)
				if err != nil {
					return err
				}
				defer cl.Close()
				id := c.String("gpu")
				out := map[string]string{}
				for _, f := range []string{"info", "lease", "status"} {
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
				for _, f := range []string{"info", "lease", "status"} {
					fmt.Fprintf(e.stdout, "OK CAT path=/gpu/%s/%s bytes=%d\n%s", id, f, len(out[f]), out[f])
				}
				return nil
			}},
			{Name: "lease", Usage: "Lease a GPU to a new worker-gpu", Flags: []cli.Flag{
				&cli.StringFlag{Name: "gpu", Required: true, Usage: "GPU id as /gpu lists it"}, &cli.UintFlag{Name: "mem-mb", Required: true, Usage: "GPU memory to lease, MiB"},
				&cli.UintFlag{Name: "streams", Required: true, Usage: "CUDA streams to lease (1..255)"}, &cli.UintFlag{Name: "ttl-s", Required: true, Usage: "Lease lifetime in seconds"},
				&cli.UintFlag{Name: "priority", Usage: "Lease priority (0..255)"}, &cli.Uint64Flag{Name: "budget-ttl-s", Usage: "Worker budget: seconds before it is revoked"}, &cli.Uint64Flag{Name: "budget-ops", Usage: "Worker budget: operations before it is revoked"},
				&cli.StringFlag{Name: "receipt-out", Usage: "Write the granted gpu-lease/v1 line to this file"}, jsonFlag,
			}, Action: func(c *cli.Context) error {
				id := c.String("gpu")
				if !gpu.ValidID(id, generated.GpuIdMaxBytes) || c.Uint("streams") > 255 || c.Uint("priority") > 255 {
					return fail(exitUsage, "coh: invalid --gpu, --streams or --priority")
				}
				lease := map[string]any{"gpu_id": id, "mem_mb": c.Uint("mem-mb"), "streams": c.Uint("streams"), "ttl_s": c.Uint("ttl-s")}
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
				cl, err := dial(c)
				if err != nil {
					return err
				}
				defer cl.Close()
				if _, err := cl.Append(generated.ClientPathsQueenCtl, 0, append(line, '\n')); err != nil {
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
					if err := writeAtomic(p, l.Line()); err != nil {
						return fail(exitFailed, "coh: receipt: %v", err)
					}
				}
				if c.Bool("json") {
					emitJSON(e.stdout, l)
					return nil
				}
				fmt.Fprintf(e.stdout, "OK LEASE gpu=%s worker=%s mem_mb=%d streams=%d ttl_s=%d\n", l.GPUID, l.WorkerID, l.MemMB, l.Streams, l.TTLs)
				return nil
			}},
		},
	}
}
