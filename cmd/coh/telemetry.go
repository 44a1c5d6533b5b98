package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/ingest"
	"github.com/cohesix/cohesix/internal/nineclient"
)

// pulled is one segment's outcome, the --json shape.
type pulled struct {
	Device string `json:"device"`
	Seg    string `json:"seg_id"`
	Action string `json:"action"` // fetch, resume, skip
	Bytes  int64  `json:"bytes"`  // bytes transferred this run
	Size   int64  `json:"size"`
}

func telemetryCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "telemetry",
		Usage: "Pull ingested telemetry segments",
		Subcommands: []*cli.Command{{
			Name:  "pull",
			Usage: "Copy every segment under /queen/telemetry into DIR, resuming partial copies",
			Flags: []cli.Flag{&cli.StringFlag{Name: "out", Required: true, Usage: "Directory to pull segments into"}, jsonFlag, &cli.BoolFlag{Name: "progress", Value: true, Usage: "Show a progress bar on stderr"}},
			Action: func(c *cli.Context) error {
				cl, err := dial(c)
				if err != nil {
					return err
				}
				defer cl.Close()
				root := generated.ClientPoliciesCohTelemetryRoot
				devs, err := cl.List(root)
				if err != nil {
					return fail(exitFailed, "ERR LS path=%s error=%v", root, err)
				}
				if len(devs) > generated.ClientPoliciesCohTelemetryMaxDevices {
					devs = devs[:generated.ClientPoliciesCohTelemetryMaxDevices]
				}
				var results []pulled
				var total, done int64
				// Each segment is opened once: its size (for the plan and the
				// progress total) and its bytes come through the same fid.
				type job struct {
					dev, seg string
					size     int64
					f        *nineclient.File
				}
				var jobs []job
				defer func() {
					for _, j := range jobs {
						j.f.Close()
					}
				}()
				for _, d := range devs {
					segs, err := cl.List(root + "/" + d + "/seg")
					if err != nil {
						return fail(exitFailed, "ERR LS path=%s/%s/seg error=%v", root, d, err)
					}
					for _, s := range segs {
						f, err := cl.OpenRead(root + "/" + d + "/seg/" + s)
						if err != nil {
							continue // evicted while listing
						}
						size, err := f.Size()
						if err != nil {
							f.Close()
							continue
						}
						jobs = append(jobs, job{d, s, int64(size), f})
						total += int64(size)
					}
				}
				for _, j := range jobs {
					path := ingest.SegmentPath(c.String("out"), j.dev, j.seg)
					dec, off, err := ingest.PlanSegment(path, j.size)
					if err != nil {
						return fail(exitFailed, "coh: %v", err)
					}
					r := pulled{Device: j.dev, Seg: j.seg, Size: j.size, Action: [...]string{"fetch", "resume", "skip"}[dec]}
					if dec != ingest.PullSkip {
						if max := int64(generated.ClientPoliciesCohTelemetryMaxBytesPerSegment); j.size-off > max {
							p := root + "/" + j.dev + "/seg/" + j.seg
							return fail(exitFailed, "ERR CAT path=%s error=%s exceeds %d bytes", p, p, max)
						}
						// The size asked above is the span: bytes appended since
						// come with the next pull (a resume).
						b, err := j.f.ReadSpan(off, int(j.size-off))
						if err != nil {
							return fail(exitFailed, "ERR CAT path=%s/%s/seg/%s error=%v", root, j.dev, j.seg, err)
						}
						if err := appendFile(path, off, b); err != nil {
							return fail(exitFailed, "coh: %v", err)
						}
						r.Bytes = int64(len(b))
					}
					done += j.size
					if c.Bool("progress") && !c.Bool("json") {
						progress(e, done, total)
					}
					results = append(results, r)
				}
				if c.Bool("progress") && !c.Bool("json") && total > 0 {
					fmt.Fprintln(e.stderr)
				}
				if c.Bool("json") {
					emitJSON(e.stdout, results)
					return nil
				}
				for _, r := range results {
					fmt.Fprintf(e.stdout, "OK PULL device=%s seg_id=%s action=%s bytes=%d size=%d\n", r.Device, r.Seg, r.Action, r.Bytes, r.Size)
				}
				return nil
			},
		}},
	}
}

// appendFile writes b at off in path (a new file when off is 0) and syncs.
func appendFile(path string, off int64, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if off == 0 {
		return writeAtomic(path, b)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		return err
	}
	return f.Sync()
}

// writeAtomic replaces path with b through a synced temp file and rename.
func writeAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func progress(e *env, done, total int64) {
	if total == 0 {
		return
	}
	const width = 30
	n := int(done * width / total)
	fmt.Fprintf(e.stderr, "\r[%s%s] %d/%d bytes", strings.Repeat("#", n), strings.Repeat(".", width-n), done, total)
}
