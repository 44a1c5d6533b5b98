package cohfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/hugelgupf/p9/p9"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/nineclient"
)

// appendAtEnd is the Twrite offset u64::MAX: "append at the current end"
// for both AO and AO-off files (spec namespace.md, modes).
const appendAtEnd = -1

// dirReadBytes is the Treaddir count: one msize of entries.
var dirReadBytes = uint32(generated.Secure9pMsize - 64)

// Mount serves the namespace at dir until ctx ends or someone unmounts
// dir, then unmounts. ready (if set) runs once the kernel has the mount.
func Mount(ctx context.Context, cl *nineclient.Client, dir string, cfg Config, ready func()) error {
	return serve(ctx, &node{cl: cl, cfg: cfg, path: cfg.Root}, dir, cfg, ready)
}

// serve mounts root at dir and serves it until ctx ends or dir is
// unmounted from outside; Mount and MountREST share it.
func serve(ctx context.Context, root fs.InodeEmbedder, dir string, cfg Config, ready func()) error {
	zero := time.Duration(0)
	srv, err := fs.Mount(dir, root, &fs.Options{
		MountOptions: fuse.MountOptions{
			FsName:      "cohesix",
			Name:        "coh",
			MaxWrite:    cfg.MaxWrite,
			DirectMount: true, // mount(2) as root, fusermount3 otherwise
			// The namespace has no extended attributes; without this the
			// kernel asks for security.capability before every write.
			DisableXAttrs: true,
		},
		// The namespace is live: segments and workers come and go, and
		// sizes change under every append. Nothing is cached.
		EntryTimeout:    &zero,
		AttrTimeout:     &zero,
		NegativeTimeout: &zero,
		NullPermissions: true, // modes exactly as 9P reports them
	})
	if err != nil {
		return fmt.Errorf("mount %s: %w", dir, err)
	}
	if ready != nil {
		ready()
	}
	unmounted := make(chan struct{})
	go func() { srv.Wait(); close(unmounted) }()
	select {
	case <-unmounted:
		return nil // unmounted from outside (umount, fusermount3 -u)
	case <-ctx.Done():
	}
	// A shell whose cwd is inside the mount keeps it busy: retry, then
	// detach it lazily so coh never hangs on exit.
	for i := 0; i < 10; i++ {
		if err = srv.Unmount(); err == nil {
			<-unmounted
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	if derr := syscall.Unmount(dir, syscall.MNT_DETACH); derr != nil {
		return fmt.Errorf("unmount %s: %w", dir, err)
	}
	<-unmounted
	return nil
}

// node is one 9P path. It holds no fid: each operation walks afresh, so a
// node never goes stale when the namespace changes underneath it.
type node struct {
	fs.Inode
	cl   *nineclient.Client
	cfg  Config
	path string
}

// handle is one open file: its own opened fid.
type handle struct {
	f p9.File
}

var (
	_ fs.NodeLookuper  = (*node)(nil)
	_ fs.NodeGetattrer = (*node)(nil)
	_ fs.NodeSetattrer = (*node)(nil)
	_ fs.NodeReaddirer = (*node)(nil)
	_ fs.NodeOpener    = (*node)(nil)
	_ fs.NodeReader    = (*node)(nil)
	_ fs.NodeWriter    = (*node)(nil)
	_ fs.NodeReleaser  = (*node)(nil)
	_ fs.NodeFlusher   = (*node)(nil)
	_ fs.NodeFsyncer   = (*node)(nil)
	_ fs.NodeStatfser  = (*node)(nil)
	_ fs.NodeCreater   = (*node)(nil)
	_ fs.NodeMkdirer   = (*node)(nil)
	_ fs.NodeMknoder   = (*node)(nil)
	_ fs.NodeLinker    = (*node)(nil)
	_ fs.NodeSymlinker = (*node)(nil)
	_ fs.NodeUnlinker  = (*node)(nil)
	_ fs.NodeRmdirer   = (*node)(nil)
	_ fs.NodeRenamer   = (*node)(nil)
)

// getattr reads one path's attributes over 9P.
func (n *node) getattr(p string, f p9.File) (p9.Attr, syscall.Errno) {
	if f == nil {
		w, err := n.cl.Walk(p)
		if err != nil {
			return p9.Attr{}, Errno(err)
		}
		defer w.Close()
		f = w
	}
	_, _, a, err := f.GetAttr(p9.AttrMask{Mode: true, Size: true, NLink: true, Blocks: true})
	if err != nil {
		return p9.Attr{}, Errno(err)
	}
	return a, 0
}

// fill copies a 9P attribute into a FUSE one: the mode and size exactly
// as the namespace reports them.
func fill(out *fuse.Attr, a p9.Attr) {
	out.Mode = uint32(a.Mode)
	out.Size = a.Size
	out.Blocks = a.Blocks
	out.Nlink = uint32(a.NLink)
	out.Blksize = 4096
}

// Lookup walks to name if the allowlist shows it.
func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	p := Join(n.path, name)
	if !n.cfg.Visible(p) {
		return nil, syscall.ENOENT
	}
	a, errno := n.getattr(p, nil)
	if errno != 0 {
		return nil, errno
	}
	fill(&out.Attr, a)
	child := &node{cl: n.cl, cfg: n.cfg, path: p}
	return n.NewInode(ctx, child, fs.StableAttr{Mode: uint32(a.Mode) & syscall.S_IFMT}), 0
}

// Getattr stats the node (through the open fid when there is one).
func (n *node) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	var f p9.File
	if h, ok := fh.(*handle); ok {
		f = h.f
	}
	a, errno := n.getattr(n.path, f)
	if errno != 0 {
		return errno
	}
	fill(&out.Attr, a)
	return 0
}

// Setattr passes a truncate (and time stamps) to the hive, which accepts
// only the truncate to 0 a shell's `>` sends, on a file the role may
// write; mode and owner changes are refused here.
func (n *node) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if _, ok := in.GetMode(); ok {
		return syscall.EPERM
	}
	if _, ok := in.GetUID(); ok {
		return syscall.EPERM
	}
	if _, ok := in.GetGID(); ok {
		return syscall.EPERM
	}
	var valid p9.SetAttrMask
	var attr p9.SetAttr
	if sz, ok := in.GetSize(); ok {
		valid.Size, attr.Size = true, sz
	}
	if _, ok := in.GetATime(); ok {
		valid.ATime = true
	}
	if _, ok := in.GetMTime(); ok {
		valid.MTime = true
	}
	if valid.Size || valid.ATime || valid.MTime {
		f, err := n.cl.Walk(n.path)
		if err != nil {
			return Errno(err)
		}
		err = f.SetAttr(valid, attr)
		f.Close()
		if err != nil {
			return Errno(err)
		}
	}
	return n.Getattr(ctx, fh, out)
}

// Readdir lists the directory over 9P, allowlisted entries only, in the
// namespace's order.
func (n *node) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	f, err := n.cl.Walk(n.path)
	if err != nil {
		return nil, Errno(err)
	}
	defer f.Close()
	if _, _, err := f.Open(p9.ReadOnly); err != nil {
		return nil, Errno(err)
	}
	var list []fuse.DirEntry
	off := uint64(0)
	for {
		ents, err := f.Readdir(off, dirReadBytes)
		if err != nil {
			return nil, Errno(err)
		}
		if len(ents) == 0 {
			break
		}
		for _, e := range ents {
			off = e.Offset
			if !n.cfg.Visible(Join(n.path, e.Name)) {
				continue
			}
			mode := uint32(syscall.S_IFREG)
			if e.QID.Type&p9.TypeDir != 0 {
				mode = syscall.S_IFDIR
			}
			list = append(list, fuse.DirEntry{Name: e.Name, Mode: mode})
		}
	}
	return fs.NewListDirStream(list), 0
}

// Open opens a fid with the same access: the hive refuses a write open of
// a read-only file or of a file the role may not write (EPERM, EACCES).
// O_TRUNC and O_APPEND mean nothing: every write appends.
func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	mode := p9.ReadOnly
	switch flags & syscall.O_ACCMODE {
	case syscall.O_WRONLY:
		mode = p9.WriteOnly
	case syscall.O_RDWR:
		mode = p9.ReadWrite
	}
	f, err := n.cl.Walk(n.path)
	if err != nil {
		return nil, 0, Errno(err)
	}
	if _, _, err := f.Open(mode); err != nil {
		f.Close()
		return nil, 0, Errno(err)
	}
	return &handle{f: f}, fuse.FOPEN_DIRECT_IO, 0
}

// Read reads through the open fid.
func (n *node) Read(ctx context.Context, fh fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	h, ok := fh.(*handle)
	if !ok {
		return nil, syscall.EBADF
	}
	got := 0
	for got < len(dest) {
		k, err := h.f.ReadAt(dest[got:], off+int64(got))
		got += k
		if errors.Is(err, io.EOF) || (err == nil && k == 0) {
			break
		}
		if err != nil {
			if got > 0 {
				break
			}
			return nil, Errno(err)
		}
	}
	return fuse.ReadResultData(dest[:got]), 0
}

// Write appends data as one Twrite at u64::MAX; the kernel's offset (its
// idea of the size, stale after any other writer) is not used.
func (n *node) Write(ctx context.Context, fh fs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	h, ok := fh.(*handle)
	if !ok {
		return 0, syscall.EBADF
	}
	if len(data) > n.cfg.MaxWrite || len(data) > math.MaxUint32 {
		return 0, syscall.EFBIG // MaxWrite bounds what the kernel sends
	}
	k, err := h.f.WriteAt(data, appendAtEnd)
	if err != nil {
		return uint32(k), Errno(err)
	}
	return uint32(k), 0
}

// Flush has nothing to do: writes are applied when acknowledged.
func (n *node) Flush(ctx context.Context, fh fs.FileHandle) syscall.Errno { return 0 }

// Fsync has nothing to do, for the same reason.
func (n *node) Fsync(ctx context.Context, fh fs.FileHandle, flags uint32) syscall.Errno { return 0 }

// Release clunks the handle's fid.
func (n *node) Release(ctx context.Context, fh fs.FileHandle) syscall.Errno {
	if h, ok := fh.(*handle); ok {
		h.f.Close()
	}
	return 0
}

// Statfs reports the namespace's name length and no blocks.
func (n *node) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	out.Bsize = 4096
	out.NameLen = uint32(generated.Secure9pWalkComponentMaxBytes)
	return 0
}

// The namespace creates nothing by name (DECISIONS D1): a telemetry
// segment is made through its device's ctl file.

func (n *node) Create(context.Context, string, uint32, uint32, *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.EPERM
}
func (n *node) Mkdir(context.Context, string, uint32, *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}
func (n *node) Mknod(context.Context, string, uint32, uint32, *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}
func (n *node) Link(context.Context, fs.InodeEmbedder, string, *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}
func (n *node) Symlink(context.Context, string, string, *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}
func (n *node) Unlink(context.Context, string) syscall.Errno { return syscall.EPERM }
func (n *node) Rmdir(context.Context, string) syscall.Errno  { return syscall.EPERM }
func (n *node) Rename(context.Context, string, fs.InodeEmbedder, string, uint32) syscall.Errno {
	return syscall.EPERM
}
