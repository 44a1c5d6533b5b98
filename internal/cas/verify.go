package cas

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"
)

// ErrVerify is wrapped by every VerifyBundle error that means the bundle
// (not the caller's input) is wrong.
var ErrVerify = errors.New("bundle verification failed")

// VerifyOptions tells VerifyBundle what to check besides the hashes.
type VerifyOptions struct {
	// Public checks the signature with this key; nil = do not check with a
	// key. A key given to an unsigned manifest is a failure.
	Public ed25519.PublicKey
	// Keyset, with Root, picks the key by the v2 manifest's key_id. The
	// keyset's signature is checked against Root first.
	Keyset *Keyset
	Root   ed25519.PublicKey
	Base   string    // base bundle directory for a delta; "" = none
	Now    time.Time // expiry check of the manifest and keyset; zero = skip
	// Progress, when set, is called with payload bytes hashed so far.
	Progress func(done, total int64)
}

// BadChunk is one chunk that failed.
type BadChunk struct {
	Index  int    `json:"index"` // first index in the manifest's chunk list; -1 for a stray file
	Digest string `json:"digest"`
	Reason string `json:"reason"`
}

// Report is what VerifyBundle found. It marshals as cas-tool verify's JSON.
type Report struct {
	Bundle        string     `json:"bundle"`
	Schema        string     `json:"schema"`
	Epoch         string     `json:"epoch"`
	ChunkBytes    uint64     `json:"chunk_bytes"`
	PayloadBytes  uint64     `json:"payload_bytes"`
	PayloadSHA256 string     `json:"payload_sha256"`
	DeltaBase     string     `json:"delta_base_epoch,omitempty"`
	Chunks        int        `json:"chunks"`        // entries in the manifest
	UniqueChunks  int        `json:"unique_chunks"` // distinct digests
	InBundle      int        `json:"in_bundle"`     // distinct chunks found in the bundle
	FromBase      int        `json:"from_base"`     // distinct chunks taken from the base bundle
	Extra         int        `json:"extra"`         // chunk files the manifest does not name
	Missing       int        `json:"missing"`       // distinct chunks found nowhere
	BadCount      int        `json:"bad_count"`
	Bad           []BadChunk `json:"bad"` // the first MaxBadListed
	PayloadOK     bool       `json:"payload_ok"`
	Signature     string     `json:"signature"` // valid | unsigned | unchecked | invalid
	KeyID         string     `json:"key_id,omitempty"`
	Expires       uint64     `json:"expires,omitempty"`
	OK            bool       `json:"ok"`
	Problems      []string   `json:"problems"`
}

// MaxBadListed bounds Report.Bad; BadCount counts them all.
const MaxBadListed = 64

func (r *Report) bad(idx int, d string, reason string) {
	r.BadCount++
	if len(r.Bad) < MaxBadListed {
		r.Bad = append(r.Bad, BadChunk{Index: idx, Digest: d, Reason: reason})
	}
}

func (r *Report) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// VerifyBundle checks the bundle in dir: every chunk file hashes to its
// name and has chunk_bytes bytes, every chunk the manifest names is present
// (in the bundle, or for a delta in opts.Base), the payload hash equals the
// SHA-256 of the chunks in order, the signature, and the expiry. It returns
// the report and, when anything failed, an error wrapping ErrVerify that
// names the first problem. Other errors (no manifest, bad options) come
// with a nil report.
//
// Each chunk is read once and hashed twice in parallel: workers read slabs
// of chunks and hash each chunk, and one goroutine feeds the slabs in order
// to the payload hash.
func VerifyBundle(dir string, opts VerifyOptions) (*Report, error) {
	m, err := readBundleManifest(dir)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if opts.Keyset != nil && opts.Root == nil {
		return nil, errors.New("verify: keyset given without its root key")
	}
	r := newReport(dir, m)
	checkSignature(m, opts, r)
	checkExpiry(m, opts.Now, r)

	// Where each chunk comes from.
	chunksDir := filepath.Join(dir, ChunksDir)
	inBundle, err := listChunks(chunksDir, r)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	baseSet, err := baseChunks(m, opts.Base, r)
	if err != nil {
		return nil, fmt.Errorf("verify: base: %w", err)
	}
	p := locateChunks(m, chunksDir, filepath.Join(opts.Base, ChunksDir), inBundle, baseSet, r)
	reportMissing(m, opts.Base, r)
	for c := range inBundle {
		if !p.seen[c] {
			r.Extra++
		}
	}

	sum, complete := hashChunks(m, p.src, p.first, r, opts.Progress)
	if r.Extra > 0 {
		checkExtra(chunksDir, inBundle, p.seen, m.ChunkBytes, r)
	}
	reportHashes(m, sum, complete, r)
	r.OK = len(r.Problems) == 0
	if !r.OK {
		return r, fmt.Errorf("%w: %s: %s", ErrVerify, dir, r.Problems[0])
	}
	return r, nil
}

// newReport starts the report of the bundle in dir from its manifest.
func newReport(dir string, m *Manifest) *Report {
	r := &Report{Bundle: dir, Schema: m.Schema, Epoch: m.Epoch, ChunkBytes: m.ChunkBytes,
		PayloadBytes: m.PayloadBytes, PayloadSHA256: m.PayloadSHA256.String(), Chunks: len(m.Chunks),
		KeyID: m.KeyID, Expires: m.Expires, Bad: []BadChunk{}, Problems: []string{}}
	if m.Delta != nil {
		r.DeltaBase = m.Delta.BaseEpoch
	}
	return r
}

// checkExpiry reports a manifest whose expiry is before now; a zero now
// skips the check.
func checkExpiry(m *Manifest, now time.Time, r *Report) {
	if !now.IsZero() && m.Expires != 0 && now.Unix() > int64(min(m.Expires, 1<<63-1)) {
		r.problem("manifest expired at %s", time.Unix(int64(m.Expires), 0).UTC().Format(time.RFC3339))
	}
}

// baseChunks reads the base bundle in base ("" = none) and returns the
// chunks it holds, or nil, with a problem, when it is not the base the
// delta m builds on. An unreadable base manifest is an error.
func baseChunks(m *Manifest, base string, r *Report) (map[Digest]bool, error) {
	if base == "" {
		return nil, nil
	}
	bm, err := readBundleManifest(base)
	if err != nil {
		return nil, err
	}
	switch {
	case m.Delta == nil:
		r.problem("--base given but the manifest is not a delta")
	case bm.Epoch != m.Delta.BaseEpoch || bm.PayloadSHA256 != m.Delta.BaseSHA256:
		r.problem("base bundle %s is epoch %s payload %s; the delta needs epoch %s payload %s",
			base, bm.Epoch, bm.PayloadSHA256, m.Delta.BaseEpoch, m.Delta.BaseSHA256)
	case bm.ChunkBytes != m.ChunkBytes:
		r.problem("base bundle has chunk_bytes %d; the delta has %d", bm.ChunkBytes, m.ChunkBytes)
	default:
		set := make(map[Digest]bool, len(bm.Chunks))
		for _, c := range bm.Chunks {
			set[c] = true
		}
		return set, nil
	}
	return nil, nil
}

// chunkPlan says where each chunk of the manifest is read from.
type chunkPlan struct {
	src   []string        // file to read; "" = missing
	first []bool          // first occurrence of its digest: hash it
	seen  map[Digest]bool // the distinct digests the manifest names
}

// locateChunks finds each chunk in the bundle or else in the base, and
// counts the distinct chunks found in each place and found nowhere.
func locateChunks(m *Manifest, chunksDir, baseDir string, inBundle, baseSet map[Digest]bool, r *Report) chunkPlan {
	p := chunkPlan{
		src:   make([]string, len(m.Chunks)),
		first: make([]bool, len(m.Chunks)),
		seen:  make(map[Digest]bool, len(m.Chunks)),
	}
	for i, c := range m.Chunks {
		name := c.String()
		switch {
		case inBundle[c]:
			p.src[i] = filepath.Join(chunksDir, name)
		case baseSet[c]:
			p.src[i] = filepath.Join(baseDir, name)
		}
		if p.seen[c] {
			continue
		}
		p.seen[c], p.first[i] = true, true
		switch {
		case inBundle[c]:
			r.InBundle++
		case baseSet[c]:
			r.FromBase++
		default:
			r.Missing++
			r.bad(i, name, "missing")
		}
	}
	r.UniqueChunks = len(p.seen)
	return p
}

// reportMissing adds the problem for missing chunks, pointing at --base
// when m is a delta verified without its base.
func reportMissing(m *Manifest, base string, r *Report) {
	switch {
	case r.Missing > 0 && m.Delta != nil && base == "":
		r.problem("%d chunks are not in the bundle; it is a delta on epoch %s (payload %s): pass --base with that bundle",
			r.Missing, m.Delta.BaseEpoch, m.Delta.BaseSHA256)
	case r.Missing > 0:
		r.problem("%d chunks are missing", r.Missing)
	}
}

// reportHashes adds the problems the hashing found: chunks that failed
// their hash or size check, and the payload hash.
func reportHashes(m *Manifest, sum Digest, complete bool, r *Report) {
	if r.BadCount > r.Missing {
		r.problem("%d chunks failed their hash or size check (first: %s %s)", r.BadCount-r.Missing, firstBad(r).Digest, firstBad(r).Reason)
	}
	switch {
	case complete && sum == m.PayloadSHA256:
		r.PayloadOK = true
	case complete:
		r.problem("payload sha256 is %s; the manifest says %s", sum, m.PayloadSHA256)
	case r.BadCount == 0:
		r.problem("payload sha256 not checked: chunks could not be read")
	}
}

func firstBad(r *Report) BadChunk {
	for _, b := range r.Bad {
		if b.Reason != "missing" {
			return b
		}
	}
	return BadChunk{}
}

func checkSignature(m *Manifest, opts VerifyOptions, r *Report) {
	switch {
	case m.Signature == nil:
		r.Signature = "unsigned"
		if opts.Public != nil || opts.Keyset != nil {
			r.problem("manifest is unsigned but a key was given")
		}
		return
	case opts.Public == nil && opts.Keyset == nil:
		r.Signature = "unchecked"
		return
	}
	r.Signature = "invalid"
	pub := opts.Public
	if opts.Keyset != nil {
		if err := opts.Keyset.Verify(opts.Root); err != nil {
			r.problem("%v", err)
			return
		}
		if !opts.Now.IsZero() && opts.Keyset.Expired(opts.Now) {
			r.problem("keyset version %d expired at %s", opts.Keyset.Version, time.Unix(int64(opts.Keyset.Expires), 0).UTC().Format(time.RFC3339))
			return
		}
		if m.KeyID == "" {
			r.problem("a %s manifest names no key; verify it with --key", m.Schema)
			return
		}
		k, ok := opts.Keyset.Lookup(m.KeyID)
		if !ok {
			r.problem("manifest key %s is not in keyset version %d", m.KeyID, opts.Keyset.Version)
			return
		}
		if pub != nil && !bytes.Equal(pub, k) {
			r.problem("manifest key %s from the keyset is not the key given", m.KeyID)
			return
		}
		pub = k
	}
	if err := m.VerifySignature(pub); err != nil {
		r.problem("%v", err)
		return
	}
	r.Signature = "valid"
}

// listChunks returns the digests of the bundle's chunk files; a name that
// is not a digest is reported as bad.
func listChunks(dir string, r *Report) (map[Digest]bool, error) {
	f, err := os.Open(dir)
	if os.IsNotExist(err) {
		return map[Digest]bool{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	set := make(map[Digest]bool, len(names))
	for _, n := range names {
		d, err := ParseDigest(n)
		if err != nil {
			r.bad(-1, n, "stray file: name is not a sha256 digest")
			continue
		}
		set[d] = true
	}
	return set, nil
}

func checkExtra(dir string, inBundle, seen map[Digest]bool, cb uint64, r *Report) {
	buf := make([]byte, cb+1)
	for c := range inBundle {
		if seen[c] {
			continue
		}
		n, err := ReadChunkFile(filepath.Join(dir, c.String()), buf)
		switch {
		case err != nil:
			r.bad(-1, c.String(), err.Error())
		case uint64(n) != cb:
			r.bad(-1, c.String(), sizeReason(n, cb))
		case Digest(sha256.Sum256(buf[:n])) != c:
			r.bad(-1, c.String(), "content hashes to "+Digest(sha256.Sum256(buf[:n])).String())
		}
	}
}

func sizeReason(n int, cb uint64) string {
	if uint64(n) > cb {
		return fmt.Sprintf("longer than chunk_bytes %d", cb)
	}
	return fmt.Sprintf("has %d bytes; want chunk_bytes %d", n, cb)
}

// slab is a run of consecutive chunks read into one buffer.
type slab struct {
	buf   []byte // k*cb + 1: the spare byte detects an over-long last file
	start int
	k     int
	ok    bool // every chunk read with the right size
	bad   []BadChunk
	done  chan struct{}
}

// hashChunks reads every chunk once, checks each first occurrence against
// its digest, and returns the SHA-256 of the concatenation and whether it
// covers every chunk.
func hashChunks(m *Manifest, src []string, first []bool, r *Report, progress func(done, total int64)) (Digest, bool) {
	cb := int(m.ChunkBytes)
	n := len(m.Chunks)
	per := max(1, (1<<20)/cb) // about 1 MiB a slab
	workers := max(1, runtime.GOMAXPROCS(0))
	nslabs := 2*workers + 2
	free := make(chan *slab, nslabs)
	for i := 0; i < nslabs; i++ {
		free <- &slab{buf: make([]byte, per*cb+1)}
	}
	work := make(chan *slab, nslabs)
	ordered := make(chan *slab, nslabs)

	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range work {
				readSlab(s, m, src, first)
				close(s.done)
			}
		}()
	}
	go func() { // producer: hands out slabs in order, bounded by the free list
		for start := 0; start < n; start += per {
			s := <-free
			s.start, s.k, s.bad, s.done = start, min(per, n-start), s.bad[:0], make(chan struct{})
			ordered <- s
			work <- s
		}
		close(work)
		close(ordered)
	}()

	payload := sha256.New()
	complete := true
	var hashed int64
	for s := range ordered {
		<-s.done
		for _, b := range s.bad {
			r.bad(b.Index, b.Digest, b.Reason)
		}
		if !s.ok {
			complete = false
		}
		if complete {
			payload.Write(s.buf[:s.k*cb])
			hashed += int64(s.k * cb)
			if progress != nil {
				progress(hashed, int64(m.PayloadBytes))
			}
		}
		free <- s
	}
	wg.Wait()
	var d Digest
	copy(d[:], payload.Sum(nil))
	return d, complete
}

// readSlab reads the chunks of s into s.buf and hashes each first
// occurrence against its digest. s.ok is false when any chunk is missing or
// could not be read with the right size; s.bad lists the first occurrences
// that failed.
func readSlab(s *slab, m *Manifest, src []string, first []bool) {
	cb := int(m.ChunkBytes)
	s.ok = true
	for j := 0; j < s.k; j++ {
		i := s.start + j
		if src[i] == "" {
			s.ok = false // reported as missing already
			continue
		}
		region := s.buf[j*cb : (j+1)*cb+1]
		got, err := ReadChunkFile(src[i], region)
		switch {
		case err != nil:
			s.ok = false
			if first[i] {
				s.bad = append(s.bad, BadChunk{i, m.Chunks[i].String(), err.Error()})
			}
		case got != cb:
			s.ok = false
			if first[i] {
				s.bad = append(s.bad, BadChunk{i, m.Chunks[i].String(), sizeReason(got, m.ChunkBytes)})
			}
		case first[i]:
			if h := Digest(sha256.Sum256(region[:cb])); h != m.Chunks[i] {
				s.bad = append(s.bad, BadChunk{i, m.Chunks[i].String(), "content hashes to " + h.String()})
			}
		}
	}
}
