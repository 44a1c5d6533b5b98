package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hugelgupf/p9/linux"
	"github.com/urfave/cli/v2"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/ingest"
	"github.com/cohesix/cohesix/internal/nineclient"
	"github.com/cohesix/cohesix/internal/syncfile"
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
		Usage: "Push telemetry files into segments, or pull the ingested segments",
		Subcommands: []*cli.Command{pushCmd(e), {
			Name:   "pull",
			Usage:  "Copy every segment under /queen/telemetry into DIR, resuming partial copies",
			Flags:  []cli.Flag{&cli.StringFlag{Name: "out", Required: true, Usage: "Directory to pull segments into"}, jsonFlag, &cli.BoolFlag{Name: "progress", Value: true, Usage: "Show a progress bar on stderr"}},
			Action: e.telemetryPull,
		}},
	}
}

// segJob is one segment to pull.
type segJob struct{ dev, seg string }

func (e *env) telemetryPull(c *cli.Context) error {
	cl, err := dial(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	root := generated.ClientPoliciesCohTelemetryRoot
	jobs, err := listSegments(cl, root)
	if err != nil {
		return err
	}
	// Each segment is one exchange on a pipelined session: walk,
	// open, size and the bytes past the local copy together.
	pl, err := cl.Pipeline()
	if err != nil {
		return fail(exitFailed, "coh: 9p pipeline session: %v", err)
	}
	defer pl.Close()
	showProgress := c.Bool("progress") && !c.Bool("json")
	var results []pulled
	var bytes int64
	for i, j := range jobs {
		r, ok, err := pullSegment(pl, c.String("out"), root, j)
		if err != nil {
			return err
		}
		if !ok {
			continue // evicted since the listing
		}
		bytes += r.Bytes
		if showProgress {
			progress(e, i+1, len(jobs), bytes)
		}
		results = append(results, r)
	}
	if showProgress && len(jobs) > 0 {
		fmt.Fprintln(e.stderr)
	}
	var lines []string
	for _, r := range results {
		lines = append(lines, fmt.Sprintf("OK PULL device=%s seg_id=%s action=%s bytes=%d size=%d", r.Device, r.Seg, r.Action, r.Bytes, r.Size))
	}
	emit(c, e, results, lines)
	return nil
}

// listSegments lists the segments of the first max_devices devices.
func listSegments(cl *nineclient.Client, root string) ([]segJob, error) {
	devs, err := cl.List(root)
	if err != nil {
		return nil, fail(exitFailed, "ERR LS path=%s error=%v", root, err)
	}
	if len(devs) > generated.ClientPoliciesCohTelemetryMaxDevices {
		devs = devs[:generated.ClientPoliciesCohTelemetryMaxDevices]
	}
	var jobs []segJob
	for _, d := range devs {
		segs, err := cl.List(root + "/" + d + "/seg")
		if err != nil {
			return nil, fail(exitFailed, "ERR LS path=%s/%s/seg error=%v", root, d, err)
		}
		for _, s := range segs {
			jobs = append(jobs, segJob{d, s})
		}
	}
	return jobs, nil
}

// pullSegment brings the local copy of one segment up to the size the
// exchange saw: fetched whole, resumed, or skipped when complete. ok is
// false when the segment is gone.
func pullSegment(pl *nineclient.Pipeline, out, root string, j segJob) (r pulled, ok bool, err error) {
	max := int64(generated.ClientPoliciesCohTelemetryMaxBytesPerSegment)
	path := ingest.SegmentPath(out, j.dev, j.seg)
	remote := root + "/" + j.dev + "/seg/" + j.seg
	local, exists, err := ingest.LocalSize(path)
	if err != nil {
		return r, false, fail(exitFailed, "coh: %v", err)
	}
	b, size, err := pl.ReadFile(remote, local, int(max-min(local, max)))
	if errors.Is(err, linux.ENOENT) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fail(exitFailed, "ERR CAT path=%s error=%v", remote, err)
	}
	if int64(size) > max {
		return r, false, fail(exitFailed, "ERR CAT path=%s error=%s exceeds %d bytes", remote, remote, max)
	}
	dec, off := ingest.PlanSegment(local, exists, int64(size))
	r = pulled{Device: j.dev, Seg: j.seg, Size: int64(size), Action: [...]string{"fetch", "resume", "skip"}[dec]}
	if dec == ingest.PullSkip {
		return r, true, nil
	}
	if off != local { // the local copy is stale: fetch it whole
		if b, _, err = pl.ReadFile(remote, off, int(size)); err != nil {
			return r, false, fail(exitFailed, "ERR CAT path=%s error=%v", remote, err)
		}
	}
	// The size the exchange saw is the span: bytes appended
	// since come with the next pull (a resume).
	b = b[:min(int64(len(b)), int64(size)-off)]
	if err := appendFile(path, off, b); err != nil {
		return r, false, fail(exitFailed, "coh: %v", err)
	}
	r.Bytes = int64(len(b))
	return r, true, nil
}

// appendFile writes b at off in path (a new file when off is 0) and syncs.
func appendFile(path string, off int64, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if off == 0 {
		return syncfile.Replace(path, b)
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

func progress(e *env, done, total int, bytes int64) {
	const width = 30
	n := done * width / total
	fmt.Fprintf(e.stderr, "\r[%s%s] %d/%d segments, %d bytes", strings.Repeat("#", n), strings.Repeat(".", width-n), done, total, bytes)
}

// pushed is one file's outcome, the --json shape of telemetry push.
type pushed struct {
	Device  string `json:"device"`
	File    string `json:"file"`
	Seg     string `json:"seg_id"`
	Records int    `json:"records"`
	Bytes   int    `json:"bytes"` // stored, newlines included
}

// pushCmd is `coh telemetry push --device ID FILE...`: each file becomes
// one segment of envelope records, as `cohsh telemetry push` makes it
// (spec gpu-telemetry §6), with records up to max_record_bytes; the files
// go over one pipelined session, one exchange per segment.
func pushCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "push",
		Usage:     "Push each FILE (.txt .log .json .ndjson .csv, at most max_bytes_per_segment) into a new segment of --device",
		ArgsUsage: "FILE...",
		Flags:     []cli.Flag{&cli.StringFlag{Name: "device", Required: true, Usage: "Telemetry device id under /queen/telemetry"}, jsonFlag},
		Action: func(c *cli.Context) error {
			dev := c.String("device")
			if err := ingest.ValidDevice(dev); err != nil {
				return fail(exitUsage, "coh: %v", err)
			}
			if c.NArg() == 0 {
				return fail(exitUsage, "coh: telemetry push needs at least one FILE")
			}
			// Every file is checked before anything is sent.
			var segs []nineclient.Segment
			var out []pushed
			for _, src := range c.Args().Slice() {
				mime, err := ingest.MimeFor(src)
				if err != nil {
					return fail(exitUsage, "coh: %s: %v", src, err)
				}
				data, err := os.ReadFile(src)
				if err != nil {
					return fail(exitUsage, "coh: %v: %v", ingest.ErrLocal, err)
				}
				recs, err := ingest.Chunk(data, mime, ingest.DefaultLimits())
				if err != nil {
					return fail(exitUsage, "coh: %s: %v", src, err)
				}
				segs = append(segs, nineclient.Segment{Mime: mime, Records: recs})
				p := pushed{Device: dev, File: src, Records: len(recs)}
				for _, r := range recs {
					p.Bytes += len(r) + 1
				}
				out = append(out, p)
			}
			cl, err := dial(c)
			if err != nil {
				return err
			}
			defer cl.Close()
			pl, err := cl.Pipeline()
			if err != nil {
				return fail(exitFailed, "coh: 9p pipeline session: %v", err)
			}
			defer pl.Close()
			in, err := pl.Ingest(generated.ClientPoliciesCohTelemetryRoot, dev)
			if err != nil {
				return fail(exitFailed, "ERR TELEMETRY action=push device=%s error=%v", dev, err)
			}
			defer in.Close()
			ids, _, err := in.Push(segs)
			for i, id := range ids {
				out[i].Seg = id
			}
			if err != nil {
				// The segments made so far stay; the last may be part-written.
				return fail(exitFailed, "ERR TELEMETRY action=push device=%s segments=%s error=%v", dev, strings.Join(ids, ","), err)
			}
			var lines []string
			for _, p := range out {
				lines = append(lines, fmt.Sprintf("OK TELEMETRY action=push device=%s seg_id=%s records=%d bytes=%d file=%s", p.Device, p.Seg, p.Records, p.Bytes, p.File))
			}
			emit(c, e, out, lines)
			return nil
		},
	}
}
