package store

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/syncfile"
)

// CAS keeps the bytes of /updates and /models (DECISIONS P49): committed
// objects named by their SHA-256, accepted manifests, model side files,
// the partial chunks being appended, and the quarantine. It decides
// nothing the queen must order: an object's name is its proof, so a
// commit needs no authority, only a hash check. Objects count against a
// byte budget; on disk (a state dir) each commit is durable before it is
// answered, in memory it lasts as long as the process.
type CAS struct {
	dir    string // "" keeps everything in memory
	budget int64

	mu        sync.Mutex
	used      int64
	objects   map[string][]byte // memory only: digest hex → bytes
	sizes     map[string]int64  // digest hex → size, both backings
	pending   map[string][]byte // partial uploads by key
	pendMax   int
	pendBytes int               // bytes held by pending
	pendLimit int               // most bytes pending may hold
	pendUsed  map[string]uint64 // key → when it was last appended to (pendClock)
	pendClock uint64
	files     map[string][]byte // memory only: manifests and model side files by name
	quarantMu sync.Mutex
	quarant   [][]byte // memory only: the newest quarantined partials
	quarMax   int

	pack *casPack // disk: the objects (caspack.go)

	// TornBytes is what OpenCAS cut off the end of the pack: an append
	// a crash interrupted, never acknowledged.
	TornBytes int64
}

// CASOptions bound a CAS store.
type CASOptions struct {
	Dir         string // state dir subfolder; "" for memory
	BudgetBytes int64
	PendingMax  int
	// PendingBytes bounds the bytes all partial uploads hold together
	// (a model's weights are held whole until they hash to their name).
	PendingBytes  int
	QuarantineMax int
}

// packName is the disk-backed store's object pack (caspack.go).
const packName = "objects.pack"

// OpenCAS opens (creating) a CAS store; on disk it indexes the objects
// already committed, cutting a torn tail off the pack into the
// quarantine (TornBytes says how much).
func OpenCAS(o CASOptions) (*CAS, error) {
	c := &CAS{dir: o.Dir, budget: o.BudgetBytes, objects: map[string][]byte{}, sizes: map[string]int64{}, pending: map[string][]byte{}, pendMax: o.PendingMax, pendLimit: o.PendingBytes, pendUsed: map[string]uint64{}, files: map[string][]byte{}, quarMax: o.QuarantineMax}
	if c.dir == "" {
		return c, nil
	}
	for _, sub := range []string{"files", "quarantine"} {
		if err := os.MkdirAll(filepath.Join(c.dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("cas store %s: %w", c.dir, err)
		}
	}
	pack, cut, err := openPack(filepath.Join(c.dir, packName), filepath.Join(c.dir, "quarantine"))
	if err != nil {
		return nil, fmt.Errorf("cas store %s: %w", c.dir, err)
	}
	c.pack, c.TornBytes = pack, cut
	for name, n := range pack.names() {
		c.sizes[name] = n
		c.used += n
	}
	return c, nil
}

// Dir is where the store keeps its files, "" in memory.
func (c *CAS) Dir() string { return c.dir }

// Append adds p to the partial upload key at off (-1: at its end) and
// returns the partial's bytes so far; bytes at an offset inside the
// partial that equal what it holds there are taken again (a resend), any
// other offset than its end is refused; more than limit bytes drops the
// partial and fails. Past the pending bounds (count or bytes) the least
// recently appended other partials are dropped: an abandoned upload must
// not lock the store, and the dropped one's next append at its offset is
// refused, so its client resumes from the partial's size (0) again.
func (c *CAS) Append(key string, p []byte, off int64, limit int) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.pending[key]
	if off >= 0 && off < int64(len(cur)) {
		// A resend of bytes the partial already holds is taken again
		// (idempotent, as over a committed object): only what is new
		// past its end is added.
		have := cur[off:]
		if n := min(len(have), len(p)); bytes.Equal(have[:n], p[:n]) {
			p, off = p[n:], int64(len(cur))
		}
	}
	if off >= 0 && off != int64(len(cur)) {
		return nil, errs.New(errs.ErrInvalid, "offset %d is not the end of the partial upload (%d bytes): resume at its end", off, len(cur))
	}
	if len(cur)+len(p) > limit {
		c.dropLocked(key)
		return nil, errs.New(errs.ErrTooBig, "%d bytes exceed the %d-byte object", len(cur)+len(p), limit)
	}
	if len(cur)+len(p) > c.pendLimit {
		return nil, errs.New(errs.ErrBusy, "a partial upload of %d bytes exceeds the %d bytes partial uploads may hold", len(cur)+len(p), c.pendLimit)
	}
	c.makeRoom(key, len(p))
	cur = append(cur, p...)
	c.pending[key] = cur
	c.pendBytes += len(p)
	c.pendClock++
	c.pendUsed[key] = c.pendClock
	// Capped: a later append reallocates rather than writing under the
	// caller's view.
	return cur[:len(cur):len(cur)], nil
}

// Pending returns how many bytes the partial upload key holds.
func (c *CAS) Pending(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending[key])
}

// PendingKeys returns the keys of the partial uploads with prefix.
func (c *CAS) PendingKeys(prefix string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for k := range c.pending {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// Drop forgets the partial upload key.
func (c *CAS) Drop(key string) {
	c.mu.Lock()
	c.dropLocked(key)
	c.mu.Unlock()
}

func (c *CAS) dropLocked(key string) {
	c.pendBytes -= len(c.pending[key])
	delete(c.pending, key)
	delete(c.pendUsed, key)
}

// makeRoom drops the least recently appended partials other than key
// until key may hold n more bytes within both pending bounds.
func (c *CAS) makeRoom(key string, n int) {
	_, has := c.pending[key]
	for {
		count := len(c.pending)
		if !has {
			count++
		}
		if count <= c.pendMax && c.pendBytes+n <= c.pendLimit {
			return
		}
		oldest, at := "", uint64(0)
		for k, t := range c.pendUsed {
			if k != key && (oldest == "" || t < at) {
				oldest, at = k, t
			}
		}
		if oldest == "" {
			return
		}
		c.dropLocked(oldest)
	}
}

// Put commits b under its digest hex name (which the caller checked) and
// drops the partial key; it returns once b is durable, and only then can
// it be read. Committing an object already there is a no-op.
func (c *CAS) Put(name, key string, b []byte) error {
	c.mu.Lock()
	if _, ok := c.sizes[name]; ok {
		c.dropLocked(key)
		c.mu.Unlock()
		return nil
	}
	if c.used+int64(len(b)) > c.budget {
		c.mu.Unlock()
		return errs.New(errs.ErrQuota, "the store holds %d of %d bytes (cas.store.budget_bytes): %d more do not fit", c.used, c.budget, len(b))
	}
	c.used += int64(len(b)) // reserved while the bytes are written
	c.dropLocked(key)
	if c.dir == "" {
		c.objects[name] = slices.Clone(b)
		c.sizes[name] = int64(len(b))
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	err := c.pack.append(name, b)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.used -= int64(len(b))
		return err
	}
	if _, dup := c.sizes[name]; dup { // a concurrent Put of the same bytes won
		c.used -= int64(len(b))
		return nil
	}
	c.sizes[name] = int64(len(b))
	return nil
}

// Has reports whether the object name is committed, and its size.
func (c *CAS) Has(name string) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.sizes[name]
	return n, ok
}

// Used returns the committed bytes.
func (c *CAS) Used() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}

// ReadAt reads the committed object name at off.
func (c *CAS) ReadAt(name string, p []byte, off int64) (int, error) {
	c.mu.Lock()
	b, mem := c.objects[name]
	_, ok := c.sizes[name]
	c.mu.Unlock()
	if !ok {
		return 0, errs.New(errs.ErrNotFound, "object %s is not committed", name)
	}
	if c.dir == "" || mem {
		return readBytes(b, p, off), nil
	}
	return c.pack.readAt(name, p, off)
}

func readBytes(b, p []byte, off int64) int {
	if off >= int64(len(b)) {
		return 0
	}
	return copy(p, b[off:])
}

// Remove deletes committed objects no longer referenced; on disk the
// pack is compacted once its dead bytes pass its live ones.
func (c *CAS) Remove(names ...string) error {
	c.mu.Lock()
	for _, n := range names {
		size, ok := c.sizes[n]
		if !ok {
			continue
		}
		c.used -= size
		delete(c.sizes, n)
		delete(c.objects, n)
	}
	c.mu.Unlock()
	if c.pack != nil {
		return c.pack.remove(names...)
	}
	return nil
}

// Close releases the pack.
func (c *CAS) Close() error {
	if c.pack != nil {
		return c.pack.close()
	}
	return nil
}

// Objects returns the committed object names.
func (c *CAS) Objects() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.sizes))
	for n := range c.sizes {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// PutFile keeps a small named file (an accepted manifest, a model's
// schema or signature) durably. once refuses to replace an existing one.
func (c *CAS) PutFile(name string, b []byte, once bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.fileLocked(name); ok && once {
		return errs.New(errs.ErrPermission, "%s is written once and already holds its bytes", name)
	}
	if c.dir == "" {
		c.files[name] = slices.Clone(b)
		return nil
	}
	return syncfile.Replace(filepath.Join(c.dir, "files", fileName(name)), b)
}

// File returns a file PutFile kept.
func (c *CAS) File(name string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fileLocked(name)
}

func (c *CAS) fileLocked(name string) ([]byte, bool) {
	if c.dir == "" {
		b, ok := c.files[name]
		return b, ok
	}
	b, err := os.ReadFile(filepath.Join(c.dir, "files", fileName(name)))
	return b, err == nil
}

// RemoveFile deletes a file PutFile kept.
func (c *CAS) RemoveFile(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.files, name)
	if c.dir != "" {
		_ = os.Remove(filepath.Join(c.dir, "files", fileName(name)))
	}
}

// fileName flattens a store file name (e.g. "update/42/manifest.cbor")
// into one directory entry.
func fileName(name string) string {
	out := []byte(name)
	for i, b := range out {
		if b == '/' {
			out[i] = '_'
		}
	}
	return string(out)
}

// Quarantine sets aside the bytes of a refused upload under name (the
// audit line says why); the newest quarantine_max are kept.
func (c *CAS) Quarantine(name string, b []byte) {
	c.quarantMu.Lock()
	defer c.quarantMu.Unlock()
	if c.dir == "" {
		c.quarant = append(c.quarant, slices.Clone(b))
		if over := len(c.quarant) - c.quarMax; over > 0 {
			c.quarant = c.quarant[over:]
		}
		return
	}
	dir := filepath.Join(c.dir, "quarantine")
	_ = syncfile.Replace(filepath.Join(dir, fileName(name)), b)
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) <= c.quarMax {
		return
	}
	slices.SortFunc(ents, func(a, b os.DirEntry) int {
		ia, _ := a.Info()
		ib, _ := b.Info()
		if ia == nil || ib == nil {
			return 0
		}
		return ia.ModTime().Compare(ib.ModTime())
	})
	for _, e := range ents[:len(ents)-c.quarMax] {
		_ = os.Remove(filepath.Join(dir, e.Name()))
	}
}
