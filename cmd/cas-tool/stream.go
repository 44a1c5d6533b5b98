package main

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/hugelgupf/p9/linux"
)

// runChunks bounds one run: the chunks a single walk, open and stream of
// Twrites to /updates/<epoch>/payload carries (2 MiB at 8 KiB chunks).
const runChunks = 256

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
	total, budget := int64(0), int64(-1)
	for i, j := range jobs {
		if u.stopAfter >= 0 && i == u.stopAfter {
			budget = total + (cb-j.off)/2 // half of the next chunk: a partial to resume
		}
		total += cb - j.off
	}
	sessions := u.sessions
	if budget >= 0 {
		sessions = 1 // the budget cuts the stream in payload order
	}
	bar := newBar(u.e, "upload")
	defer bar.finish()
	var (
		mu    sync.Mutex
		first error
		next  atomic.Int64
		done  atomic.Int64
	)
	stopped := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return first != nil || ctx.Err() != nil
	}
	var wg sync.WaitGroup
	for w := 0; w < min(sessions, max(len(runs), 1)); w++ {
		p, err := u.pipeline()
		if err != nil {
			mu.Lock()
			first = cmp.Or(first, err)
			mu.Unlock()
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer p.Close()
			buf := make([]byte, 0, runChunks*cb)
			for !stopped() {
				i := int(next.Add(1) - 1)
				if i >= len(runs) {
					return
				}
				r := runs[i]
				b, err := u.runBytes(r, buf)
				if err != nil {
					mu.Lock()
					first = cmp.Or(first, err)
					mu.Unlock()
					return
				}
				if budget >= 0 {
					left := budget - done.Load()
					if left <= 0 {
						return
					}
					b = b[:min(int64(len(b)), left)]
				}
				n, err := p.Append(u.base+"/payload", r.start, records(b)...)
				done.Add(int64(n))
				bar.update(done.Load(), total)
				mu.Lock()
				u.count(r, int64(n))
				if err != nil {
					if errors.Is(err, linux.ENOENT) {
						err = fail(exitFailed, "cas-tool upload: the hive has no %s/payload: it predates streamed uploads", u.base)
					}
					first = cmp.Or(first, u.refused("payload", err))
				}
				mu.Unlock()
				if err != nil {
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

// runBytes reads a run's chunks from the bundle into buf, from the first
// chunk's resume offset on.
func (u *uploader) runBytes(r chunkRun, buf []byte) ([]byte, error) {
	one := make([]byte, u.man.ChunkBytes+1)
	buf = buf[:0]
	for _, j := range r.jobs {
		recs, err := u.chunkRecords(j, one)
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			buf = append(buf, rec...)
		}
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
