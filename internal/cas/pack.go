package cas

import (
	"archive/tar"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

const (
	// ManifestFile and ChunksDir name the parts of a bundle directory.
	ManifestFile = "manifest.cbor"
	ChunksDir    = "chunks"
	// MaxBundleChunks bounds the chunks of a bundle the tools pack or
	// verify (the hive's own bound is far lower: 8).
	MaxBundleChunks = 1 << 24
	// MaxChunkBytes bounds chunk_bytes for packing and verifying, so a
	// hostile manifest cannot make the tools allocate without limit.
	MaxChunkBytes = 64 << 20
)

// PackOptions tells Pack what to build.
type PackOptions struct {
	Epoch      string
	ChunkBytes uint64
	OutDir     string             // must not exist, or be empty
	Sign       ed25519.PrivateKey // nil = unsigned
	// Expires is when a signed bundle goes stale; zero = never. A signed or
	// expiring bundle is v2; an unsigned one without expiry is v1.
	Expires   time.Time
	DeltaFrom string                  // base bundle directory; "" = a full bundle
	Progress  func(done, total int64) // input bytes read so far; may be nil
}

type packEntry struct {
	rel  string // slash-separated, relative to the input root
	path string
	dir  bool
	exec bool
	size int64
}

// Pack writes a bundle of input (a directory or a single file) to
// opts.OutDir and returns its manifest. It streams: memory is bounded by
// chunk_bytes and the chunk list, never by the payload size.
func Pack(input string, opts PackOptions) (*Manifest, error) {
	m, err := newPackManifest(opts)
	if err != nil {
		return nil, err
	}
	var base map[Digest]bool
	if opts.DeltaFrom != "" {
		if base, m.Delta, err = packDeltaBase(opts); err != nil {
			return nil, err
		}
	}
	entries, total, err := walkInput(input)
	if err != nil {
		return nil, fmt.Errorf("pack: %w", err)
	}
	if err := prepareOut(opts.OutDir); err != nil {
		return nil, fmt.Errorf("pack: %w", err)
	}
	cw := &chunkWriter{
		buf:     make([]byte, opts.ChunkBytes),
		payload: sha256.New(),
		dir:     filepath.Join(opts.OutDir, ChunksDir),
		base:    base,
		written: make(map[Digest]bool),
	}
	if err := writeTar(cw, entries, total, opts.Progress); err != nil {
		return nil, fmt.Errorf("pack: %w", err)
	}
	if err := cw.pad(); err != nil {
		return nil, fmt.Errorf("pack: %w", err)
	}
	if len(cw.chunks) > MaxBundleChunks {
		return nil, fmt.Errorf("pack: %d chunks; at most %d: use a larger --chunk-bytes", len(cw.chunks), MaxBundleChunks)
	}
	m.Chunks = cw.chunks
	m.PayloadBytes = uint64(len(cw.chunks)) * opts.ChunkBytes
	copy(m.PayloadSHA256[:], cw.payload.Sum(nil))
	if opts.Sign != nil {
		m.Sign(opts.Sign)
	}
	if err := writeAtomic(filepath.Join(opts.OutDir, ManifestFile), m.Encode()); err != nil {
		return nil, fmt.Errorf("pack: %w", err)
	}
	return m, nil
}

// newPackManifest checks opts' epoch, chunk size and expiry and starts the
// manifest: v2 when signed or expiring, else v1.
func newPackManifest(opts PackOptions) (*Manifest, error) {
	if !ValidEpoch(opts.Epoch) {
		return nil, fmt.Errorf("pack: epoch %q: want 1 to 20 ASCII digits", opts.Epoch)
	}
	if opts.ChunkBytes == 0 || opts.ChunkBytes > MaxChunkBytes {
		return nil, fmt.Errorf("pack: chunk bytes %d: want 1 to %d", opts.ChunkBytes, MaxChunkBytes)
	}
	m := &Manifest{Schema: SchemaV1, Epoch: opts.Epoch, ChunkBytes: opts.ChunkBytes}
	if opts.Sign != nil || !opts.Expires.IsZero() {
		m.Schema = SchemaV2
		if !opts.Expires.IsZero() {
			if opts.Expires.Unix() <= 0 {
				return nil, fmt.Errorf("pack: expiry %v is before 1970", opts.Expires)
			}
			m.Expires = uint64(opts.Expires.Unix())
		}
	}
	return m, nil
}

// packDeltaBase reads the base bundle opts.DeltaFrom, checks that a delta
// of opts can build on it, and returns the chunks it holds and the delta
// item naming it.
func packDeltaBase(opts PackOptions) (map[Digest]bool, *Delta, error) {
	bm, err := readBundleManifest(opts.DeltaFrom)
	if err != nil {
		return nil, nil, fmt.Errorf("pack: delta base: %w", err)
	}
	switch {
	case bm.Delta != nil:
		return nil, nil, fmt.Errorf("pack: delta base %s is itself a delta on epoch %s; pack deltas against a full bundle", opts.DeltaFrom, bm.Delta.BaseEpoch)
	case bm.ChunkBytes != opts.ChunkBytes:
		return nil, nil, fmt.Errorf("pack: delta base %s has chunk_bytes %d; pack with --chunk-bytes %d", opts.DeltaFrom, bm.ChunkBytes, bm.ChunkBytes)
	case CompareEpochs(opts.Epoch, bm.Epoch) <= 0:
		return nil, nil, fmt.Errorf("pack: epoch %s is not above the base's epoch %s; epochs only rise", opts.Epoch, bm.Epoch)
	}
	base := make(map[Digest]bool, len(bm.Chunks))
	for _, c := range bm.Chunks {
		base[c] = true
	}
	return base, &Delta{BaseEpoch: bm.Epoch, BaseSHA256: bm.PayloadSHA256}, nil
}

func readBundleManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, err
	}
	m, err := DecodeManifest(b, MaxBundleChunks)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestFile), err)
	}
	if m.ChunkBytes > MaxChunkBytes {
		return nil, fmt.Errorf("%s: chunk_bytes %d above the tools' bound %d", dir, m.ChunkBytes, MaxChunkBytes)
	}
	return m, nil
}

func prepareOut(dir string) error {
	if dir == "" {
		return errors.New("no output directory given")
	}
	ents, err := os.ReadDir(dir)
	switch {
	case err == nil && len(ents) > 0:
		return fmt.Errorf("output directory %s is not empty; choose a new one", dir)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	return os.MkdirAll(filepath.Join(dir, ChunksDir), 0o755)
}

func writeAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// walkInput lists what the payload tar holds, refusing anything but
// regular files and directories.
func walkInput(input string) ([]packEntry, int64, error) {
	fi, err := os.Stat(input)
	if err != nil {
		return nil, 0, err
	}
	if fi.Mode().IsRegular() {
		return []packEntry{{rel: filepath.Base(input), path: input, exec: fi.Mode()&0o111 != 0, size: fi.Size()}}, fi.Size(), nil
	}
	if !fi.IsDir() {
		return nil, 0, fmt.Errorf("%s is neither a regular file nor a directory", input)
	}
	var out []packEntry
	var total int64
	err = filepath.WalkDir(input, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == input {
			return nil
		}
		rel, err := filepath.Rel(input, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		t := d.Type()
		switch {
		case t&fs.ModeSymlink != 0:
			return fmt.Errorf("%s is a symlink; bundles hold regular files and directories only (copy the target in or remove the link)", p)
		case d.IsDir():
			out = append(out, packEntry{rel: rel + "/", path: p, dir: true})
		case t.IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			out = append(out, packEntry{rel: rel, path: p, exec: fi.Mode()&0o111 != 0, size: fi.Size()})
			total += fi.Size()
		default:
			return fmt.Errorf("%s is a %v, not a regular file or directory; remove it from the input", p, t)
		}
		return nil
	})
	return out, total, err
}

// writeTar writes the deterministic payload tar: entries in WalkDir order
// (each directory's names sorted, a directory before its contents), mtime
// 0, uid/gid 0, no user names, mode 0755 for directories and executables,
// else 0644.
func writeTar(w io.Writer, entries []packEntry, total int64, progress func(done, total int64)) error {
	tw := tar.NewWriter(w)
	var done int64
	for _, e := range entries {
		h := &tar.Header{Name: e.rel, Mode: 0o644, ModTime: time.Unix(0, 0)}
		if e.dir || e.exec {
			h.Mode = 0o755
		}
		if e.dir {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, e.size
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("tar %s: %w", e.path, err)
		}
		if e.dir {
			continue
		}
		f, err := os.Open(e.path)
		if err != nil {
			return err
		}
		n, err := io.Copy(tw, &progressReader{r: io.LimitReader(f, e.size), done: &done, total: total, f: progress})
		f.Close()
		if err != nil {
			return fmt.Errorf("read %s: %w", e.path, err)
		}
		if n != e.size {
			return fmt.Errorf("%s changed size while packing (%d bytes, had %d); pack again", e.path, n, e.size)
		}
	}
	return tw.Close()
}

type progressReader struct {
	r     io.Reader
	done  *int64
	total int64
	f     func(done, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	*p.done += int64(n)
	if p.f != nil && n > 0 {
		p.f(*p.done, p.total)
	}
	return n, err
}

// chunkWriter cuts the payload into chunk files and hashes it.
type chunkWriter struct {
	buf     []byte
	n       int
	payload hash.Hash
	dir     string
	base    map[Digest]bool // chunks the delta base holds; nil when not a delta
	written map[Digest]bool
	chunks  []Digest
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		k := copy(c.buf[c.n:], p)
		c.n += k
		p = p[k:]
		if c.n == len(c.buf) {
			if err := c.flush(); err != nil {
				return total - len(p), err
			}
		}
	}
	return total, nil
}

// pad zero-pads a partly filled last chunk to a whole one and writes it;
// tar readers ignore trailing zeros.
func (c *chunkWriter) pad() error {
	if c.n == 0 {
		return nil
	}
	clear(c.buf[c.n:])
	c.n = len(c.buf)
	return c.flush()
}

func (c *chunkWriter) flush() error {
	d := Digest(sha256.Sum256(c.buf))
	c.payload.Write(c.buf)
	c.chunks = append(c.chunks, d)
	c.n = 0
	if c.base[d] || c.written[d] {
		return nil
	}
	c.written[d] = true
	return os.WriteFile(filepath.Join(c.dir, d.String()), c.buf, 0o644)
}
