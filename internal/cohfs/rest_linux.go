package cohfs

import (
	"context"
	"strings"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/gatewayapi"
)

// MountREST serves the namespace at dir over hive-gateway (coh mount
// --rest-url) until ctx ends or dir is unmounted. It keeps Mount's rules
// — no caching, direct I/O, the allowlist, create/mkdir/unlink/rename
// refused — with what REST offers: a stat per lookup, raw reads from an
// offset, and appends as echo lines (one per line written).
func MountREST(ctx context.Context, r Remote, dir string, cfg Config, ready func()) error {
	return serve(ctx, &restNode{r: r, cfg: cfg, path: cfg.Root}, dir, cfg, ready)
}

// restNode is one path of the REST mount; like node it holds nothing
// open, so it never goes stale.
type restNode struct {
	fs.Inode
	r    Remote
	cfg  Config
	path string
}

var (
	_ fs.NodeLookuper  = (*restNode)(nil)
	_ fs.NodeGetattrer = (*restNode)(nil)
	_ fs.NodeSetattrer = (*restNode)(nil)
	_ fs.NodeReaddirer = (*restNode)(nil)
	_ fs.NodeOpener    = (*restNode)(nil)
	_ fs.NodeReader    = (*restNode)(nil)
	_ fs.NodeWriter    = (*restNode)(nil)
	_ fs.NodeFlusher   = (*restNode)(nil)
	_ fs.NodeStatfser  = (*restNode)(nil)
	_ fs.NodeCreater   = (*restNode)(nil)
	_ fs.NodeMkdirer   = (*restNode)(nil)
	_ fs.NodeMknoder   = (*restNode)(nil)
	_ fs.NodeLinker    = (*restNode)(nil)
	_ fs.NodeSymlinker = (*restNode)(nil)
	_ fs.NodeUnlinker  = (*restNode)(nil)
	_ fs.NodeRmdirer   = (*restNode)(nil)
	_ fs.NodeRenamer   = (*restNode)(nil)
)

func (n *restNode) stat(p string, out *fuse.Attr) (gatewayapi.Stat, syscall.Errno) {
	st, err := n.r.Stat(p)
	if err != nil {
		return st, Errno(err)
	}
	out.Mode = restMode(st)
	out.Size = uint64(max(st.Size, 0))
	out.Nlink = 1
	out.Blksize = 4096
	return st, 0
}

func (n *restNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	p := Join(n.path, name)
	if !n.cfg.Visible(p) {
		return nil, syscall.ENOENT
	}
	st, errno := n.stat(p, &out.Attr)
	if errno != 0 {
		return nil, errno
	}
	child := &restNode{r: n.r, cfg: n.cfg, path: p}
	return n.NewInode(ctx, child, fs.StableAttr{Mode: restMode(st) & syscall.S_IFMT}), 0
}

func (n *restNode) Getattr(_ context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	_, errno := n.stat(n.path, &out.Attr)
	return errno
}

// Setattr accepts the truncate to 0 and the time stamps a shell's `>`
// sends on a file the caller may append to (the hive ignores them too);
// anything else is refused.
func (n *restNode) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	_, modeSet := in.GetMode()
	_, uidSet := in.GetUID()
	_, gidSet := in.GetGID()
	sz, sizeSet := in.GetSize()
	if modeSet || uidSet || gidSet || (sizeSet && sz != 0) {
		return syscall.EPERM
	}
	st, errno := n.stat(n.path, &out.Attr)
	if errno == 0 && sizeSet && !st.AppendOnly {
		return syscall.EPERM
	}
	return errno
}

func (n *restNode) Readdir(context.Context) (fs.DirStream, syscall.Errno) {
	names, err := n.r.List(n.path)
	if err != nil {
		return nil, Errno(err)
	}
	var list []fuse.DirEntry
	for _, name := range names {
		p := Join(n.path, name)
		if !n.cfg.Visible(p) {
			continue
		}
		st, err := n.r.Stat(p)
		if err != nil {
			continue // gone since the listing
		}
		list = append(list, fuse.DirEntry{Name: name, Mode: restMode(st) & syscall.S_IFMT})
	}
	return fs.NewListDirStream(list), 0
}

// Open refuses a write open of a file the caller may not append to, as
// the hive refuses the 9P open.
func (n *restNode) Open(_ context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if flags&syscall.O_ACCMODE != syscall.O_RDONLY {
		st, err := n.r.Stat(n.path)
		if err != nil {
			return nil, 0, Errno(err)
		}
		if !st.AppendOnly {
			return nil, 0, syscall.EPERM
		}
	}
	return nil, fuse.FOPEN_DIRECT_IO, 0
}

func (n *restNode) Read(_ context.Context, _ fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	got := 0
	for got < len(dest) {
		b, err := n.r.ReadAt(n.path, off+int64(got), len(dest)-got)
		if err != nil {
			if got > 0 {
				break
			}
			return nil, Errno(err)
		}
		copy(dest[got:], b)
		got += len(b)
		if len(b) == 0 {
			break
		}
	}
	return fuse.ReadResultData(dest[:got]), 0
}

// Write appends each line of data as one echo; the offset is not used
// (every write appends, as over 9P).
func (n *restNode) Write(_ context.Context, _ fs.FileHandle, data []byte, _ int64) (uint32, syscall.Errno) {
	var recs [][]byte
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if l != "" {
			recs = append(recs, []byte(l))
		}
	}
	if _, err := n.r.Append(n.path, appendAtEnd, recs...); err != nil {
		return 0, Errno(err)
	}
	return uint32(len(data)), 0
}

func (n *restNode) Flush(context.Context, fs.FileHandle) syscall.Errno { return 0 }

func (n *restNode) Statfs(_ context.Context, out *fuse.StatfsOut) syscall.Errno {
	out.Bsize = 4096
	out.NameLen = uint32(generated.Secure9pWalkComponentMaxBytes)
	return 0
}

// As over 9P, nothing is created, removed or renamed by name (D1).

func (n *restNode) Create(context.Context, string, uint32, uint32, *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.EPERM
}
func (n *restNode) Mkdir(context.Context, string, uint32, *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}
func (n *restNode) Mknod(context.Context, string, uint32, uint32, *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}
func (n *restNode) Link(context.Context, fs.InodeEmbedder, string, *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}
func (n *restNode) Symlink(context.Context, string, string, *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}
func (n *restNode) Unlink(context.Context, string) syscall.Errno { return syscall.EPERM }
func (n *restNode) Rmdir(context.Context, string) syscall.Errno  { return syscall.EPERM }
func (n *restNode) Rename(context.Context, string, fs.InodeEmbedder, string, uint32) syscall.Errno {
	return syscall.EPERM
}
