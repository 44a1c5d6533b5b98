package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/cohesix/cohesix/internal/syncfile"
)

// casPack keeps a disk-backed CAS store's objects in one append-only
// file, objects.pack: a record per object, a header then the bytes. One
// file, not a file per object, because creating a file and making its
// directory entry durable costs more than the object (8 KiB chunks): an
// append needs one write, and concurrent commits share one fdatasync
// (group commit). Objects are removed by compaction, which rewrites the
// live records once the dead bytes outweigh them.
type casPack struct {
	path string

	cmu   sync.RWMutex // compaction excludes every read and append
	wmu   sync.Mutex   // one append at a time
	f     *os.File
	end   int64
	group groupSync

	mu    sync.Mutex // index and dead
	index map[string]packLoc
	dead  int64
}

// packLoc is where an object's bytes are in the pack.
type packLoc struct{ off, n int64 }

// A record header: magic, the object's length, its SHA-256, and a CRC
// of those, so a scan tells a record from the bytes of a torn append.
const (
	packMagic      = "CASo"
	packHeaderSize = 4 + 4 + sha256.Size + 4
)

var packCRC = crc32.MakeTable(crc32.Castagnoli)

func packHeader(b []byte) []byte { return packHeaderSum(b, sha256.Sum256(b)) }

// objectHeader is packHeader for an object stored under its digest's hex
// name: Put's callers checked that name is b's SHA-256, so the header
// takes it from the name instead of hashing the bytes a second time (a
// name that is not a digest is hashed).
func objectHeader(name string, b []byte) []byte {
	var sum [sha256.Size]byte
	if len(name) != hex.EncodedLen(sha256.Size) {
		return packHeader(b)
	}
	if _, err := hex.Decode(sum[:], []byte(name)); err != nil {
		return packHeader(b)
	}
	return packHeaderSum(b, sum)
}

func packHeaderSum(b []byte, sum [sha256.Size]byte) []byte {
	h := make([]byte, packHeaderSize)
	copy(h, packMagic)
	binary.LittleEndian.PutUint32(h[4:], uint32(len(b)))
	copy(h[8:], sum[:])
	binary.LittleEndian.PutUint32(h[40:], crc32.Checksum(h[:40], packCRC))
	return h
}

// openPack opens (creating) the pack at path and indexes its records. The
// first record that is not whole and sound ends the pack: only an append
// no reply acknowledged can be there (each reply waits for the fdatasync
// covering its record and every record before it), so the tail from it
// is moved to quarantine and cut off. It returns what it cut.
func openPack(path, quarantine string) (*casPack, int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, 0, err
	}
	p := &casPack{path: path, f: f, index: map[string]packLoc{}}
	end, err := p.scan()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	cut := st.Size() - end
	if cut > 0 {
		tail := make([]byte, cut)
		if _, err := f.ReadAt(tail, end); err == nil {
			_ = syncfile.Replace(filepath.Join(quarantine, fmt.Sprintf("torn-pack-%d", end)), tail)
		}
		if err := f.Truncate(end); err != nil {
			f.Close()
			return nil, 0, err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, 0, err
		}
	}
	p.end = end
	return p, cut, nil
}

// scan indexes the sound records from the start and returns where they
// end. A second record of a name (a re-commit after a compaction) counts
// as dead.
func (p *casPack) scan() (int64, error) {
	var off int64
	h := make([]byte, packHeaderSize)
	var buf []byte
	for {
		if _, err := p.f.ReadAt(h, off); err != nil {
			if errors.Is(err, io.EOF) {
				return off, nil
			}
			return 0, err
		}
		if string(h[:4]) != packMagic || binary.LittleEndian.Uint32(h[40:]) != crc32.Checksum(h[:40], packCRC) {
			return off, nil
		}
		n := int64(binary.LittleEndian.Uint32(h[4:]))
		if int64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		data := buf[:n]
		if _, err := p.f.ReadAt(data, off+packHeaderSize); err != nil {
			return off, nil // a record cut short
		}
		sum := sha256.Sum256(data)
		if string(sum[:]) != string(h[8:40]) {
			return off, nil
		}
		name := hex.EncodeToString(sum[:])
		if _, dup := p.index[name]; dup {
			p.dead += packHeaderSize + n
		} else {
			p.index[name] = packLoc{off: off + packHeaderSize, n: n}
		}
		off += packHeaderSize + n
	}
}

// append writes b's record and returns once it is durable.
func (p *casPack) append(name string, b []byte) error {
	h := objectHeader(name, b) // outside wmu: appends serialise only on the write
	p.cmu.RLock()
	defer p.cmu.RUnlock()
	p.wmu.Lock()
	off := p.end
	if err := p.writeRecord(h, b, off); err != nil {
		// Nothing after it was written (one append at a time): cut it
		// so the pack stays a sequence of sound records.
		_ = p.f.Truncate(off)
		p.wmu.Unlock()
		return err
	}
	p.end = off + packHeaderSize + int64(len(b))
	p.wmu.Unlock()
	if err := p.group.sync(func() error { return unix.Fdatasync(int(p.f.Fd())) }); err != nil {
		return err
	}
	// Indexed before the compaction lock is released, so a compaction
	// cannot rewrite the pack without it.
	p.mu.Lock()
	if _, dup := p.index[name]; dup {
		p.dead += packHeaderSize + int64(len(b))
	} else {
		p.index[name] = packLoc{off: off + packHeaderSize, n: int64(len(b))}
	}
	p.mu.Unlock()
	return nil
}

// writeRecord writes a record's header and bytes at off with one
// pwritev, without copying the bytes behind the header.
func (p *casPack) writeRecord(h, b []byte, off int64) error {
	want := len(h) + len(b)
	n, err := unix.Pwritev(int(p.f.Fd()), [][]byte{h, b}, off)
	if err == nil && n != want {
		err = fmt.Errorf("short write of a pack record: %d of %d bytes", n, want)
	}
	return err
}

// readAt reads object name at off; a short read at its end is not an
// error.
func (p *casPack) readAt(name string, b []byte, off int64) (int, error) {
	p.cmu.RLock()
	defer p.cmu.RUnlock()
	p.mu.Lock()
	loc, ok := p.index[name]
	p.mu.Unlock()
	if !ok || off < 0 {
		return 0, fmt.Errorf("object %s is not in the pack", name)
	}
	if off >= loc.n {
		return 0, nil
	}
	if rest := loc.n - off; int64(len(b)) > rest {
		b = b[:rest]
	}
	n, err := p.f.ReadAt(b, loc.off+off)
	if errors.Is(err, io.EOF) && n == len(b) {
		err = nil
	}
	return n, err
}

// names returns the indexed objects and their sizes.
func (p *casPack) names() map[string]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int64, len(p.index))
	for n, l := range p.index {
		out[n] = l.n
	}
	return out
}

// remove forgets objects and compacts the pack once its dead bytes pass
// its live ones.
func (p *casPack) remove(names ...string) error {
	p.mu.Lock()
	live := int64(0)
	for _, n := range names {
		if l, ok := p.index[n]; ok {
			p.dead += packHeaderSize + l.n
			delete(p.index, n)
		}
	}
	for _, l := range p.index {
		live += packHeaderSize + l.n
	}
	compact := p.dead > live
	p.mu.Unlock()
	if !compact {
		return nil
	}
	return p.compact()
}

// compact rewrites the live records into a new pack that replaces the old
// one whole (a synced temporary file renamed over it).
func (p *casPack) compact() error {
	p.cmu.Lock()
	defer p.cmu.Unlock()
	tmp := p.path + ".compact"
	out, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	index := make(map[string]packLoc, len(p.index))
	var off int64
	var buf []byte
	for name, loc := range p.index {
		if int64(cap(buf)) < loc.n {
			buf = make([]byte, loc.n)
		}
		b := buf[:loc.n]
		if _, err := p.f.ReadAt(b, loc.off); err != nil {
			out.Close()
			return err
		}
		rec := append(objectHeader(name, b), b...)
		if _, err := out.WriteAt(rec, off); err != nil {
			out.Close()
			return err
		}
		index[name] = packLoc{off: off + packHeaderSize, n: loc.n}
		off += int64(len(rec))
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	if err := os.Rename(tmp, p.path); err != nil {
		out.Close()
		return err
	}
	if err := fsyncDir(filepath.Dir(p.path)); err != nil {
		out.Close()
		return err
	}
	p.f.Close()
	p.f, p.end = out, off
	p.mu.Lock()
	p.index, p.dead = index, 0
	p.mu.Unlock()
	return nil
}

func (p *casPack) close() error { return p.f.Close() }

// groupSync runs one sync for every caller whose write came before that
// sync began (group commit): concurrent commits share an fsync.
type groupSync struct {
	mu            sync.Mutex
	cond          *sync.Cond
	started, done uint64
	syncing       bool
	err           error
}

// sync returns once a call of do that began after this call has ended,
// with that call's error.
func (g *groupSync) sync(do func() error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cond == nil {
		g.cond = sync.NewCond(&g.mu)
	}
	need := g.started + 1 // the first sync to begin after the caller's write
	for g.done < need {
		if g.syncing {
			g.cond.Wait()
			continue
		}
		g.syncing, g.started = true, g.started+1
		g.mu.Unlock()
		err := do()
		g.mu.Lock()
		g.syncing, g.done, g.err = false, g.started, err
		g.cond.Broadcast()
	}
	return g.err
}

func fsyncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
