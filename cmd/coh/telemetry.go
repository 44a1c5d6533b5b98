package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hugelgupf/p9/linux"
	"github.com/urfave/cli/v2"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/gatewayclient"
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
			Flags:  append([]cli.Flag{&cli.StringFlag{Name: "out", Required: true, Usage: "Directory to pull segments into"}, jsonFlag, &cli.BoolFlag{Name: "progress", Value: true, Usage: "Show a progress bar on stderr"}}, restFlags()...),
			Action: e.telemetryPull,
		}},
	}
}

// segJob is one segment to pull.
type segJob struct{ dev, seg string }

func (e *env) telemetryPull(c *cli.Context) error {
	link, err := dialTelemetry(c)
	if err != nil {
		return err
	}
	defer link.Close()
	jobs, err := link.list()
	if err != nil {
		return err
	}
	showProgress := c.Bool("progress") && !c.Bool("json")
	var results []pulled
	var bytes int64
	for i, j := range jobs {
		r, ok, err := pullSegment(link, c.String("out"), j)
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
func pullSegment(link teleLink, out string, j segJob) (r pulled, ok bool, err error) {
	max := int64(generated.ClientPoliciesCohTelemetryMaxBytesPerSegment)
	path := ingest.SegmentPath(out, j.dev, j.seg)
	remote := link.root() + "/" + j.dev + "/seg/" + j.seg
	local, exists, err := ingest.LocalSize(path)
	if err != nil {
		return r, false, fail(exitFailed, "coh: %v", err)
	}
	b, size, err := link.read(j, local, int(max-min(local, max)))
	if errors.Is(err, errSegmentGone) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fail(exitFailed, "ERR CAT path=%s error=%v", remote, err)
	}
	if size > max {
		return r, false, fail(exitFailed, "ERR CAT path=%s error=%s exceeds %d bytes", remote, remote, max)
	}
	dec, off := ingest.PlanSegment(local, exists, size)
	r = pulled{Device: j.dev, Seg: j.seg, Size: size, Action: [...]string{"fetch", "resume", "skip"}[dec]}
	if dec == ingest.PullSkip {
		return r, true, nil
	}
	if off != local { // the local copy is stale: fetch it whole
		if b, _, err = link.read(j, off, int(size)); err != nil {
			return r, false, fail(exitFailed, "ERR CAT path=%s error=%v", remote, err)
		}
	}
	// The size the exchange saw is the span: bytes appended
	// since come with the next pull (a resume).
	b = b[:min(int64(len(b)), size-off)]
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
// go through the telemetry session pool (nineclient.Pool.PushSegment:
// two round trips a segment, retried after a drop without duplicating a
// record), or through hive-gateway, one request per file.
func pushCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "push",
		Usage:     "Push each FILE (.txt .log .json .ndjson .csv, at most max_bytes_per_segment) into a new segment of --device",
		ArgsUsage: "FILE...",
		Flags: append([]cli.Flag{&cli.StringFlag{Name: "device", Required: true, Usage: "Telemetry device id under /queen/telemetry"}, jsonFlag,
			&cli.IntFlag{Name: "retry-max-attempts", Value: generated.ClientPoliciesRetryMaxAttempts, EnvVars: []string{"COHSH_RETRY_MAX_ATTEMPTS"}, Usage: "Sends of a segment's records after a refusal or a dropped connection, the first included (client_policies.retry.max_attempts)"},
			&cli.IntFlag{Name: "retry-backoff-ms", Value: generated.ClientPoliciesRetryBackoffMs, EnvVars: []string{"COHSH_RETRY_BACKOFF_MS"}, Usage: "First wait before a resend, doubling up to client_policies.retry.ceiling_ms"},
		}, restFlags()...),
		Action: func(c *cli.Context) error {
			dev := c.String("device")
			if err := ingest.ValidDevice(dev); err != nil {
				return fail(exitUsage, "coh: %v", err)
			}
			if c.NArg() == 0 {
				return fail(exitUsage, "coh: telemetry push needs at least one FILE")
			}
			files, out, err := checkPushFiles(dev, c.Args().Slice())
			if err != nil {
				return err
			}
			link, err := dialTelemetry(c)
			if err != nil {
				return err
			}
			defer link.Close()
			if nl, ok := link.(*nineLink); ok {
				nl.audit = func(line string) { fmt.Fprintln(e.stderr, "[coh][pool] "+line) }
				nl.retry = nineclient.ManifestRetry()
				nl.retry.MaxAttempts = max(1, c.Int("retry-max-attempts"))
				nl.retry.Backoff = time.Duration(max(1, c.Int("retry-backoff-ms"))) * time.Millisecond
			}
			ids, err := link.push(dev, files)
			for i, id := range ids[:min(len(ids), len(out))] {
				out[i].Seg = id
			}
			if ee := (*exitErr)(nil); errors.As(err, &ee) {
				return err // nothing was pushed
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

// pushFile is one checked source file of a push.
type pushFile struct {
	mime    string
	data    []byte
	records [][]byte
}

// checkPushFiles reads and chunks every file before anything is sent.
func checkPushFiles(dev string, srcs []string) ([]pushFile, []pushed, error) {
	var files []pushFile
	var out []pushed
	for _, src := range srcs {
		mime, err := ingest.MimeFor(src)
		if err != nil {
			return nil, nil, fail(exitUsage, "coh: %s: %v", src, err)
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return nil, nil, fail(exitUsage, "coh: %v: %v", ingest.ErrLocal, err)
		}
		recs, err := ingest.Chunk(data, mime, ingest.DefaultLimits())
		if err != nil {
			return nil, nil, fail(exitUsage, "coh: %s: %v", src, err)
		}
		files = append(files, pushFile{mime: mime, data: data, records: recs})
		p := pushed{Device: dev, File: src, Records: len(recs)}
		for _, r := range recs {
			p.Bytes += len(r) + 1
		}
		out = append(out, p)
	}
	return files, out, nil
}

// teleLink is what coh telemetry does its work over: straight Secure9P
// (a session and its pipeline) or hive-gateway's telemetry routes
// (--rest-url). push and pull print the same lines and JSON over either.
type teleLink interface {
	// push makes one new segment of dev per file, in order, and returns
	// the ids made, also with the error that ended the push; an *exitErr
	// says nothing was pushed and is ready to print.
	push(dev string, files []pushFile) ([]string, error)
	// list returns the segments of the first max_devices devices; its
	// errors are ready to print.
	list() ([]segJob, error)
	// read returns at most n bytes of j's segment from off and the
	// segment's size when read; errSegmentGone when it is gone.
	read(j segJob, off int64, n int) ([]byte, int64, error)
	root() string
	Close() error
}

// errSegmentGone is a segment evicted since the listing.
var errSegmentGone = errors.New("segment gone")

// dialTelemetry reaches the hive through --rest-url (given before or
// after the command) when one is set, else over Secure9P.
func dialTelemetry(c *cli.Context) (teleLink, error) {
	inheritRestFlags(c)
	if u := restURL(c); u != "" {
		gw, err := restClient(c, u)
		if err != nil {
			return nil, err
		}
		return &restLink{gw: gw, ctx: c.Context}, nil
	}
	cl, err := dial(c)
	if err != nil {
		return nil, err
	}
	return &nineLink{cl: cl}, nil
}

// inheritRestFlags makes the global --rest-url and --rest-auth-token
// count for a telemetry command that also takes them, whose own unset
// flags would otherwise hide the global ones.
func inheritRestFlags(c *cli.Context) {
	for _, f := range restFlags() {
		name := f.Names()[0]
		if c.String(name) != "" {
			continue
		}
		for _, a := range c.Lineage()[1:] {
			if v := a.String(name); v != "" {
				_ = c.Set(name, v)
				break
			}
		}
	}
}

// nineLink is telemetry straight over Secure9P.
type nineLink struct {
	cl    *nineclient.Client
	pl    *nineclient.Pipeline // opened on first use
	pool  *nineclient.Pool     // push's sessions, made on first use
	audit func(string)         // the pool's retry and exhaustion lines
	retry nineclient.Retry     // zero: the manifest's
}

func (l *nineLink) root() string { return generated.ClientPoliciesCohTelemetryRoot }

// pipeline opens the bulk session: each segment is one exchange on it.
func (l *nineLink) pipeline() (*nineclient.Pipeline, error) {
	if l.pl != nil {
		return l.pl, nil
	}
	pl, err := l.cl.Pipeline()
	if err != nil {
		return nil, fail(exitFailed, "coh: 9p pipeline session: %v", err)
	}
	l.pl = pl
	return pl, nil
}

// push makes each segment through the telemetry session pool
// (client_policies.cohsh.pool, client_policies.retry): a refusal or a
// dropped connection is retried from what the hive holds, so no record
// is lost or stored twice (nineclient.Pool.PushSegment).
func (l *nineLink) push(dev string, files []pushFile) ([]string, error) {
	if l.pool == nil {
		l.pool = l.cl.Pool(nineclient.PoolConfig{Audit: l.audit, Retry: l.retry})
	}
	var ids []string
	for _, f := range files {
		id, err := l.pool.PushSegment(context.Background(), l.root(), dev, nineclient.Segment{Mime: f.mime, Records: f.records})
		if id != "" {
			ids = append(ids, id)
		}
		if err != nil {
			return ids, err
		}
	}
	return ids, nil
}

func (l *nineLink) list() ([]segJob, error) { return listSegments(l.cl, l.root()) }

func (l *nineLink) read(j segJob, off int64, n int) ([]byte, int64, error) {
	pl, err := l.pipeline()
	if err != nil {
		return nil, 0, err
	}
	b, size, err := pl.ReadFile(l.root()+"/"+j.dev+"/seg/"+j.seg, off, n)
	if errors.Is(err, linux.ENOENT) {
		return nil, 0, errSegmentGone
	}
	return b, int64(size), err
}

func (l *nineLink) Close() error {
	if l.pl != nil {
		l.pl.Close()
	}
	if l.pool != nil {
		l.pool.Close()
	}
	return l.cl.Close()
}

// restLink is telemetry through hive-gateway: a push is one POST per
// file, the listing one GET, and the segments of a device one GET from
// the first cursor a pull asks for (the rest of that device's segments
// come with it and are kept for the reads that follow).
type restLink struct {
	gw  *gatewayclient.Client
	ctx context.Context
	got map[segJob]fetched // from the last device read
}

// fetched is a segment's bytes from off, as a device read brought them.
type fetched struct {
	off, size int64
	b         []byte
}

func (l *restLink) root() string { return generated.ClientPoliciesCohTelemetryRoot }

func (l *restLink) push(dev string, files []pushFile) ([]string, error) {
	var ids []string
	for _, f := range files {
		res, err := l.gw.TelemetryPush(l.ctx, dev, f.mime, bytes.NewReader(f.data))
		ids = append(ids, res.Segments...)
		if err != nil {
			return ids, err
		}
		if len(res.Segments) != 1 {
			return ids, fmt.Errorf("the gateway made %d segments of a file coh checked as one", len(res.Segments))
		}
	}
	return ids, nil
}

func (l *restLink) list() ([]segJob, error) {
	segs, err := l.gw.TelemetrySegments(l.ctx)
	if err != nil {
		return nil, fail(exitFailed, "ERR LS path=%s error=%v", l.root(), err)
	}
	var jobs []segJob
	for _, s := range segs.Segments {
		jobs = append(jobs, segJob{s.Device, s.Seg})
	}
	return jobs, nil
}

// read takes the rest of the segment from off (at most n bytes): from
// what the last device read brought, else by a device read from this
// cursor, which brings the device's later segments too.
func (l *restLink) read(j segJob, off int64, n int) ([]byte, int64, error) {
	if f, ok := l.got[j]; !ok || off < f.off {
		spans, body, err := l.gw.TelemetryReadDevice(l.ctx, j.dev, j.seg, off, generated.ClientPoliciesCohTelemetryMaxTotalBytesPerDevice)
		if gatewayclient.IsStatus(err, http.StatusNotFound) {
			return nil, 0, errSegmentGone
		}
		if err != nil {
			return nil, 0, err
		}
		l.got = make(map[segJob]fetched, len(spans))
		for _, s := range spans {
			l.got[segJob{j.dev, s.Seg}] = fetched{off: s.Off, size: s.Size, b: body[:s.Len]}
			body = body[s.Len:]
		}
	}
	f, ok := l.got[j]
	if !ok || off < f.off {
		return nil, 0, errSegmentGone // gone between the listing and the read
	}
	delete(l.got, j)
	b := f.b[min(off-f.off, int64(len(f.b))):]
	return b[:min(len(b), n)], f.size, nil
}

func (l *restLink) Close() error { return nil }
