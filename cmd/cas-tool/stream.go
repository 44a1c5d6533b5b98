package main

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/hugelgupf/p9/linux"

	"github.com/cohesix/cohesix/internal/nineclient"
)

// runChunks bounds one run: the chunks a single walk, open and stream of
// Twrites to /updates/<epoch>/payload carries (2 MiB at 8 KiB chunks).
const runChunks = 256 // limit-literal-ok: chunks per streamed run (2 MiB at 8 KiB), not a manifest limit

// chunkRun is a stretch of chunks next to each other in the payload, sent as
// one stream from start.
type chunkRun struct {
	start int64 // payload offset of the first byte sent
	jobs  []job
}

// runs orders the jobs by their place in the payload (a chunk the manifest
// repeats goes at its first place) and cuts them into runs: a new run
// where the chunks stop being adjacent, where a chunk resumes a partial
// upload (it starts mid-chunk), and every runChunks chunks.
func (u *uploader) runs(jobs []job) []chunkRun {
	first := make(map[string]int, len(u.man.Chunks))
	for i, d := range u.man.Chunks {
		if _, ok := first[d.String()]; !ok {
			first[d.String()] = i
		}
	}
	jobs = slices.Clone(jobs)
	slices.SortFunc(jobs, func(a, b job) int { return first[a.name] - first[b.name] })
	cb := int64(u.man.ChunkBytes)
	var out []chunkRun
	prev := -2
	for _, j := range jobs {
		i := first[j.name]
		last := len(out) - 1
		if last < 0 || i != prev+1 || j.off > 0 || len(out[last].jobs) == runChunks {
			out = append(out, chunkRun{start: int64(i)*cb + j.off})
			last++
		}
		out[last].jobs = append(out[last].jobs, j)
		prev = i
	}
	return out
}

// streamChunks uploads the jobs as runs written to the epoch's payload
// file, spread over u.sessions pipelined sessions (DECISIONS P49). The
// hive applies each Twrite's bytes to the chunks it covers, so a chunk
// costs no walk, open or clunk of its own.
func (u *uploader) streamChunks(ctx context.Context, jobs []job) error {
	runs := u.runs(jobs)
	cb := int64(u.man.ChunkBytes)
	total, budget, k := int64(0), int64(-1), 0
	for _, r := range runs {
		for _, j := range r.jobs {
			if k == u.stopAfter {
				budget = total + (cb-j.off)/2 // half of the next chunk: a partial to resume
			}
			total += cb - j.off
			k++
		}
	}
	sessions := u.sessions
	if budget >= 0 {
		sessions = 1 // the budget cuts the stream in payload order
	}
	bar := newBar(u.e, "upload")
	defer bar.finish()
	var done atomic.Int64
	var mu sync.Mutex
	return u.fanOut(ctx, sessions, len(runs), func(p *nineclient.Pipeline, buf []byte, i int) (bool, error) {
		r := runs[i]
		b, err := u.runBytes(r, buf)
		if err != nil {
			return true, err
		}
		if budget >= 0 {
			left := budget - done.Load()
			if left <= 0 {
				return true, nil
			}
			b = b[:min(int64(len(b)), left)]
		}
		n, err := p.Append(u.base+"/payload", r.start, records(b)...)
		bar.update(done.Add(int64(n)), total)
		mu.Lock()
		u.count(r, int64(n))
		mu.Unlock()
		if errors.Is(err, linux.ENOENT) {
			return true, fail(exitFailed, "cas-tool upload: the hive has no %s/payload: it predates streamed uploads; pass --per-chunk", u.base)
		}
		if err != nil {
			return true, u.refused("payload", err)
		}
		return false, nil
	})
}

// runBytes reads a run's chunks from the bundle into buf (room for
// runChunks chunks and one byte), from the first chunk's resume offset
// on, each file straight into its place.
func (u *uploader) runBytes(r chunkRun, buf []byte) ([]byte, error) {
	cb := int(u.man.ChunkBytes)
	buf = buf[:0]
	for _, j := range r.jobs {
		at := len(buf)
		n, err := u.readChunk(j, buf[at:at+cb+1])
		if err != nil {
			return nil, err
		}
		if j.off > 0 { // only a run's first chunk resumes mid-chunk
			n = copy(buf[at:at+n], buf[at+int(j.off):at+n])
		}
		buf = buf[:at+n]
	}
	return buf, nil
}

// count adds what the hive acknowledged of a run (n bytes from its
// start) to the result; u's lock is held.
func (u *uploader) count(r chunkRun, n int64) {
	u.res.BytesSent += n
	u.res.ChunkBytesSent += n
	cb := int64(u.man.ChunkBytes)
	for _, j := range r.jobs {
		need := cb - j.off
		if n < need {
			return
		}
		n -= need
		u.res.ChunksSent++
		if j.off > 0 {
			u.res.ChunksResumed++
		}
	}
}
