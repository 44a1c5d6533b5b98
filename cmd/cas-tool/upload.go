package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hugelgupf/p9/linux"
	"github.com/urfave/cli/v2"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/cas"
	"github.com/cohesix/cohesix/internal/nineclient"
)

// uploadResult is upload's --json object, and what its summary prints.
type uploadResult struct {
	Bundle           string  `json:"bundle"`
	Addr             string  `json:"addr"`
	Epoch            string  `json:"epoch"`
	PayloadSHA256    string  `json:"payload_sha256"`
	State            string  `json:"state"` // the epoch's state on the hive when upload ended
	AlreadyInstalled bool    `json:"already_installed"`
	ManifestSent     bool    `json:"manifest_sent"`
	ChunksExpected   int     `json:"chunks_expected"`  // distinct chunks the manifest names
	ChunksInBundle   int     `json:"chunks_in_bundle"` // chunk files in the bundle directory
	ChunksSent       int     `json:"chunks_sent"`      // chunks this run completed on the hive
	ChunksResumed    int     `json:"chunks_resumed"`   // of those, chunks continued from a partial upload
	ChunksSkipped    int     `json:"chunks_skipped"`   // bundle chunks the hive already held
	BytesSent        int64   `json:"bytes_sent"`       // manifest and chunk bytes the hive acknowledged
	ChunkBytesSent   int64   `json:"chunk_bytes_sent"`
	HiveCommitted    uint64  `json:"hive_chunks_committed"`
	HiveMissing      uint64  `json:"hive_chunks_missing"`
	Sessions         int     `json:"sessions"`
	Seconds          float64 `json:"seconds"`
	MBps             float64 `json:"mb_per_s"` // bytes_sent / 1e6 / seconds
	Error            string  `json:"error,omitempty"`
}

func uploadCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "upload",
		Usage:     "Upload a bundle to a hive's /updates over Secure9P, resuming what is there",
		ArgsUsage: "BUNDLE",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Value: generated.NetworkSecure9pListen, Usage: "Hive Secure9P address HOST:PORT"},
			&cli.StringFlag{Name: "ticket", EnvVars: []string{"COH_TICKET"}, Usage: "Queen capability ticket (default: minted from the manifest's dev secret)"},
			&cli.IntFlag{Name: "sessions", Value: 16, Usage: "Parallel Secure9P sessions for chunks (each commit waits for its fdatasync, so sessions are what overlaps them)"},
			&cli.IntFlag{Name: "stop-after-chunks", Value: -1, Hidden: true, Usage: "Testing: stop after K chunks and half of the next, as an interrupted upload"},
			&cli.BoolFlag{Name: "per-chunk", Usage: "Write each chunk to chunks/<sha256> (a walk, open and clunk each) instead of streaming the payload file"},
			jsonFlag,
		},
		Action: func(c *cli.Context) error {
			dir, err := oneArg(c, "BUNDLE directory")
			if err != nil {
				return err
			}
			n := c.Int("sessions")
			if n < 1 || n > generated.NetworkMaxConnsPerPeer-1 {
				return fail(exitUsage, "cas-tool upload: --sessions %d: want 1 to %d (network.max_conns_per_peer less the control session)", n, generated.NetworkMaxConnsPerPeer-1)
			}
			u := &uploader{e: e, dir: dir, addr: c.String("addr"), tok: c.String("ticket"), sessions: n, stopAfter: c.Int("stop-after-chunks"), perChunk: c.Bool("per-chunk")}
			res, err := u.run(c.Context)
			if c.Bool("json") {
				if err != nil {
					res.Error = err.Error()
				}
				emitJSON(e.stdout, res)
			} else if err == nil {
				u.summary(res)
			}
			return err
		},
	}
}

// uploader is one upload run.
type uploader struct {
	e         *env
	dir       string
	addr, tok string
	sessions  int
	stopAfter int  // -1: never (hidden --stop-after-chunks)
	perChunk  bool // --per-chunk: each chunk to chunks/<sha256>, not the payload stream

	res   uploadResult
	start time.Time
	ctl   *nineclient.Client
	man   *cas.Manifest
	raw   []byte // manifest.cbor as in the bundle
	base  string // /updates/<epoch>
}

func (u *uploader) run(ctx context.Context) (uploadResult, error) {
	u.start = time.Now()
	u.res = uploadResult{Bundle: u.dir, Addr: u.addr, Sessions: u.sessions}
	err := u.upload(ctx)
	u.res.Seconds = time.Since(u.start).Seconds()
	if u.res.Seconds > 0 {
		u.res.MBps = float64(u.res.BytesSent) / 1e6 / u.res.Seconds
	}
	if u.ctl != nil {
		u.ctl.Close()
	}
	return u.res, err
}

func (u *uploader) upload(ctx context.Context) error {
	if err := u.readBundle(); err != nil {
		return err
	}
	if err := u.preflight(); err != nil {
		return err
	}
	st, err := u.status()
	if err != nil {
		return err
	}
	switch st.state {
	case "ready", "chunks_pending":
		if st.sha != u.res.PayloadSHA256 {
			return fail(exitFailed, "cas-tool upload: epoch %s on the hive holds another payload (payload_sha256=%s, this bundle's is %s): pack with a higher --epoch", u.man.Epoch, st.sha, u.res.PayloadSHA256)
		}
		if st.state == "ready" {
			u.res.State, u.res.AlreadyInstalled = "ready", true
			u.res.HiveCommitted, u.res.HiveMissing = st.committed, st.missing
			return nil
		}
	default: // empty, manifest_pending
		if err := u.sendManifest(st.manifestPending); err != nil {
			return err
		}
	}
	if err := u.sendChunks(ctx); err != nil {
		return err
	}
	if st, err = u.status(); err != nil {
		return err
	}
	u.res.State, u.res.HiveCommitted, u.res.HiveMissing = st.state, st.committed, st.missing
	if u.stopAfter >= 0 && st.state != "ready" {
		return fail(exitFailed, "cas-tool upload: stopped after %d chunks (--stop-after-chunks); run upload again to resume", u.stopAfter)
	}
	if st.state != "ready" {
		hint := "run cas-tool upload again"
		if u.man.Delta != nil {
			hint = fmt.Sprintf("this is a delta on epoch %s: upload that base bundle first, then this one again", u.man.Delta.BaseEpoch)
		}
		return fail(exitFailed, "cas-tool upload: epoch %s is %s: the hive still lacks %d chunks that are not in %s; %s", u.man.Epoch, st.state, st.missing+st.pending, u.dir, hint)
	}
	return nil
}

// readBundle decodes the bundle's manifest.
func (u *uploader) readBundle() error {
	var err error
	if u.raw, err = os.ReadFile(filepath.Join(u.dir, cas.ManifestFile)); err != nil {
		return fail(exitFailed, "cas-tool upload: %v (is %s a bundle cas-tool pack wrote?)", err, u.dir)
	}
	if u.man, err = cas.DecodeManifest(u.raw, cas.MaxBundleChunks); err != nil {
		return fail(exitFailed, "cas-tool upload: %s: %v (run cas-tool verify)", filepath.Join(u.dir, cas.ManifestFile), err)
	}
	u.base = "/updates/" + u.man.Epoch
	u.res.Epoch, u.res.PayloadSHA256 = u.man.Epoch, u.man.PayloadSHA256.String()
	seen := map[cas.Digest]bool{}
	for _, d := range u.man.Chunks {
		seen[d] = true
	}
	u.res.ChunksExpected = len(seen)
	return nil
}

// preflight dials and attaches the control session and checks that the
// hive serves /updates.
func (u *uploader) preflight() error {
	var err error
	u.ctl, u.tok, err = dialUpdates("upload", u.addr, u.tok)
	return err
}

// dialUpdates attaches to the hive at addr as the queen (tok, or a ticket
// minted from the manifest's dev secret) and checks that it serves
// /updates; it returns the session and the ticket used. verb names the
// command in errors.
func dialUpdates(verb, addr, tok string) (*nineclient.Client, string, error) {
	if tok == "" {
		var err error
		if tok, err = nineclient.MintQueen(time.Now()); err != nil {
			return nil, "", fail(exitFailed, "cas-tool %s: %v: pass --ticket (or COH_TICKET) with a queen ticket", verb, err)
		}
	}
	c, err := nineclient.Dial(addr, tok, time.Duration(generated.ClientPoliciesRetryTimeoutMs)*time.Millisecond)
	if err != nil {
		return nil, "", fail(exitFailed, "cas-tool %s: %s: %v (is roottask running there? --addr names its Secure9P listener)", verb, addr, err)
	}
	if _, err := c.Stat("/updates"); err != nil {
		c.Close()
		if errors.Is(err, linux.ENOENT) {
			return nil, "", fail(exitFailed, "cas-tool %s: the hive at %s has no /updates: CAS is off; start it with roottask --profile governed --cas-root-key ROOT.pub", verb, addr)
		}
		return nil, "", fail(exitFailed, "cas-tool %s: stat /updates on %s: %v (a queen ticket is needed)", verb, addr, err)
	}
	return c, tok, nil
}

// epochState is what upload reads from /updates/<epoch>/status.
type epochState struct {
	state                                 string
	manifestPending                       int64
	expected, committed, pending, missing uint64
	sha                                   string
}

func (u *uploader) status() (epochState, error) {
	b, err := u.ctl.Read(u.base+"/status", 4096)
	if err != nil {
		return epochState{}, fail(exitFailed, "cas-tool upload: read %s/status: %v", u.base, err)
	}
	return parseStatus(string(b))
}

// parseStatus reads the five lines of /updates/<epoch>/status.
func parseStatus(text string) (epochState, error) {
	kv := map[string]string{}
	for _, f := range strings.Fields(text) {
		if k, v, ok := strings.Cut(f, "="); ok {
			kv[k] = v
		}
	}
	num := func(k string) uint64 { n, _ := strconv.ParseUint(kv[k], 10, 64); return n }
	st := epochState{state: kv["state"], manifestPending: int64(num("manifest_pending_bytes")),
		expected: num("chunks_expected"), committed: num("chunks_committed"), pending: num("chunks_pending"), missing: num("chunks_missing"), sha: kv["payload_sha256"]}
	if st.state == "" {
		return st, fail(exitFailed, "cas-tool upload: the hive's status has no state: %q", text)
	}
	return st, nil
}

// maxRecord is the most one Twrite carries at the Secure9P msize.
const maxRecord = generated.Secure9pMsize - 23

// records splits b into Twrite-sized pieces.
func records(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		n := min(len(b), maxRecord)
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

// sendManifest writes manifest.cbor from the hive's partial length.
func (u *uploader) sendManifest(have int64) error {
	if have > int64(len(u.raw)) {
		return fail(exitFailed, "cas-tool upload: the hive holds %d bytes of a manifest for epoch %s, more than this bundle's %d: another upload is under way, or pack with a higher --epoch", have, u.man.Epoch, len(u.raw))
	}
	p, err := u.pipeline()
	if err != nil {
		return err
	}
	defer p.Close()
	n, err := p.Append(u.base+"/manifest.cbor", have, records(u.raw[have:])...)
	u.res.BytesSent += int64(n)
	if err != nil {
		return u.refused("manifest.cbor", err)
	}
	u.res.ManifestSent = true
	return nil
}

func (u *uploader) pipeline() (*nineclient.Pipeline, error) {
	p, err := nineclient.DialPipeline(u.addr, u.tok, time.Duration(generated.ClientPoliciesRetryTimeoutMs)*time.Millisecond)
	if err != nil {
		return nil, fail(exitFailed, "cas-tool upload: %s: %v", u.addr, err)
	}
	return p, nil
}

// refused turns a hive's refusal of what into an error that carries the
// hive's audit line for this epoch, when it wrote one.
func (u *uploader) refused(what string, err error) error {
	var errno linux.Errno
	if !errors.As(err, &errno) {
		return fail(exitFailed, "cas-tool upload: %s: %v: the connection to the hive failed; run upload again to resume", what, err)
	}
	line := u.auditLine()
	next := ""
	switch {
	case strings.Contains(line, "cas-chunk quarantined"):
		next = "the bundle's chunk does not hash to its name: run cas-tool verify and repack"
	case strings.Contains(line, "reason=expired"):
		next = "repack with a later --expires"
	case strings.Contains(line, "reason=signature-failed"), strings.Contains(line, "reason=unknown-key"), strings.Contains(line, "reason=missing-signature"), strings.Contains(line, "reason=signing-key-missing"):
		next = "sign with the key whose .pub the hive got as --cas-root-key (or one in its keyset)"
	case strings.Contains(line, "reason=chunk-bytes"):
		next = "repack with --chunk-bytes at most the hive's cas.store.chunk_bytes"
	case errors.Is(errno, linux.ENOSPC), errors.Is(errno, linux.EDQUOT):
		next = "the hive's CAS store is full (cas.store.budget_bytes)"
	case errors.Is(errno, linux.EBUSY):
		next = "too many partial uploads are open on the hive (cas.store.pending_max): use fewer --sessions or wait"
	default:
		next = "run cas-tool upload again to resume"
	}
	msg := fmt.Sprintf("cas-tool upload: the hive refused %s/%s: %v", u.base, what, err)
	if line != "" {
		msg += "\nhive: " + line
	}
	return fail(exitFailed, "%s\n%s", msg, next)
}

// auditLine returns the queen log's last cas- line about this epoch.
func (u *uploader) auditLine() string {
	b, err := u.ctl.Read("/log/queen.log", 0)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], "cas-") && strings.Contains(lines[i], "epoch="+u.man.Epoch+" ") {
			return lines[i]
		}
	}
	return ""
}

// job is one chunk to send from off.
type job struct {
	name string
	off  int64
}

// plan lists the bundle's chunks the hive lacks, with the offset of any
// partial upload it holds.
func (u *uploader) plan() ([]job, error) {
	committed, err := u.ctl.List(u.base + "/chunks")
	if err != nil {
		return nil, fail(exitFailed, "cas-tool upload: list %s/chunks: %v", u.base, err)
	}
	have := make(map[string]bool, len(committed))
	for _, n := range committed {
		have[n] = true
	}
	listed := make(map[string]bool, len(u.man.Chunks))
	for _, d := range u.man.Chunks {
		listed[d.String()] = true
	}
	names, err := os.ReadDir(filepath.Join(u.dir, cas.ChunksDir))
	if err != nil {
		return nil, fail(exitFailed, "cas-tool upload: %v", err)
	}
	var jobs []job
	for _, de := range names {
		n := de.Name()
		if !listed[n] {
			continue // not this manifest's: pack never writes one; ignore
		}
		u.res.ChunksInBundle++
		if have[n] {
			u.res.ChunksSkipped++
			continue
		}
		jobs = append(jobs, job{name: n})
	}
	st, err := u.status()
	if err != nil {
		return nil, err
	}
	if st.pending > 0 {
		u.findPartials(jobs, int(st.pending))
	}
	return jobs, nil
}

// findPartials sets the offset of each job whose chunk the hive holds in
// part, stat'ing the candidates on the control session, many at once,
// until it has found want of them.
func (u *uploader) findPartials(jobs []job, want int) {
	var found atomic.Int64
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for found.Load() < int64(want) {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) {
					return
				}
				s, err := u.ctl.Stat(u.base + "/chunks/" + jobs[i].name)
				if err == nil && s.Size > 0 && s.Size < u.man.ChunkBytes {
					jobs[i].off = int64(s.Size)
					found.Add(1)
				}
			}
		}()
	}
	wg.Wait()
}

// sendChunks uploads the chunks the hive lacks over u.sessions pipelined
// sessions.
func (u *uploader) sendChunks(ctx context.Context) error {
	jobs, err := u.plan()
	if err != nil {
		return err
	}
	if !u.perChunk {
		return u.streamChunks(ctx, jobs)
	}
	return u.sendEach(ctx, jobs)
}

// sendEach uploads each job to its chunks/<sha256> file (--per-chunk).
func (u *uploader) sendEach(ctx context.Context, jobs []job) error {
	total := int64(0)
	for _, j := range jobs {
		total += int64(u.man.ChunkBytes) - j.off
	}
	bar := newBar(u.e, "upload")
	defer bar.finish()
	var done, started atomic.Int64
	var mu sync.Mutex
	return u.fanOut(ctx, u.sessions, len(jobs), func(p *nineclient.Pipeline, buf []byte, i int) (bool, error) {
		j := jobs[i]
		recs, err := u.chunkRecords(j, buf[:u.man.ChunkBytes+1])
		if err != nil {
			return true, err
		}
		if u.stopAfter >= 0 {
			k := int(started.Add(1) - 1)
			if k == u.stopAfter {
				recs = recs[:max(len(recs)-1, 0)] // half a chunk: a partial the next run resumes
			}
			if k > u.stopAfter || len(recs) == 0 {
				return true, nil
			}
		}
		n, err := p.Append(u.base+"/chunks/"+j.name, j.off, recs...)
		mu.Lock()
		u.count(chunkRun{jobs: []job{j}}, int64(n))
		mu.Unlock()
		bar.update(done.Add(int64(n)), total)
		if err != nil {
			if errors.Is(err, linux.EPERM) && u.committedNow(j.name) {
				return false, nil // another upload committed it meanwhile
			}
			return true, u.refused("chunks/"+j.name, err)
		}
		return false, nil
	})
}

// fanOut runs each(p, buf, i) for every i below n over up to sessions
// pipelined sessions, each with its own buffer of a run's bytes; an
// error, or stop, ends that worker, and the first error ends them all.
func (u *uploader) fanOut(ctx context.Context, sessions, n int, each func(p *nineclient.Pipeline, buf []byte, i int) (stop bool, err error)) error {
	var (
		mu    sync.Mutex
		first error
		next  atomic.Int64
		wg    sync.WaitGroup
	)
	stopped := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return first != nil || ctx.Err() != nil
	}
	for w := 0; w < min(sessions, max(n, 1)); w++ {
		p, err := u.pipeline()
		if err != nil {
			first = err
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer p.Close()
			buf := make([]byte, 0, runChunks*(u.man.ChunkBytes+1))
			for !stopped() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				stop, err := each(p, buf, i)
				if err != nil {
					mu.Lock()
					first = cmp.Or(first, err)
					mu.Unlock()
				}
				if stop || err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = fail(exitFailed, "cas-tool upload: interrupted; run upload again to resume")
	}
	return first
}

// chunkRecords reads a chunk file of the bundle and returns its bytes
// from j.off as Twrite records.
func (u *uploader) chunkRecords(j job, buf []byte) ([][]byte, error) {
	n, err := u.readChunk(j, buf)
	if err != nil {
		return nil, err
	}
	return records(buf[j.off:n]), nil
}

// readChunk reads chunk j's file of the bundle into dst, which holds at
// least chunk_bytes+1 bytes so that a longer file shows, and checks its
// length.
func (u *uploader) readChunk(j job, dst []byte) (int, error) {
	path := filepath.Join(u.dir, cas.ChunksDir, j.name)
	n, err := cas.ReadChunkFile(path, dst)
	if err != nil {
		return 0, fail(exitFailed, "cas-tool upload: %v", err)
	}
	if n != int(u.man.ChunkBytes) {
		return 0, fail(exitFailed, "cas-tool upload: %s holds %d bytes, not chunk_bytes %d: run cas-tool verify and repack", path, n, u.man.ChunkBytes)
	}
	return n, nil
}

// committedNow reports whether the hive holds chunk name whole.
func (u *uploader) committedNow(name string) bool {
	s, err := u.ctl.Stat(u.base + "/chunks/" + name)
	return err == nil && s.Size == u.man.ChunkBytes
}

func (u *uploader) summary(r uploadResult) {
	if r.AlreadyInstalled {
		fmt.Fprintf(u.e.stdout, "already installed: epoch %s payload_sha256=%s is ready on %s\n", r.Epoch, r.PayloadSHA256, r.Addr)
		return
	}
	fmt.Fprintf(u.e.stdout, "uploaded %s to %s: epoch %s %s\n", r.Bundle, r.Addr, r.Epoch, r.State)
	fmt.Fprintf(u.e.stdout, "chunks sent=%d resumed=%d skipped=%d of %d in the bundle (%d in the manifest); manifest sent=%t\n",
		r.ChunksSent, r.ChunksResumed, r.ChunksSkipped, r.ChunksInBundle, r.ChunksExpected, r.ManifestSent)
	fmt.Fprintf(u.e.stdout, "%d bytes in %.2fs, %.1f MB/s over %d sessions\n", r.BytesSent, r.Seconds, r.MBps, r.Sessions)
}
