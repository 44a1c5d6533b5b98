package secure9p

import (
	"errors"
	"hash/fnv"
	"slices"

	"github.com/hugelgupf/p9/fsimpl/templatefs"
	"github.com/hugelgupf/p9/linux"
	"github.com/hugelgupf/p9/p9"

	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/ninedoor"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/ticket"
)

// File modes shown by GetAttr. The namespace is synthetic: owner and group
// are 0, and the mode says what the file kind allows, not what the caller's
// role may do (the role check happens at walk and open).
const (
	modeDir      = p9.ModeDirectory | 0o555 // listable, walkable
	modeReadOnly = p9.ModeRegular | 0o444   // read only
	modeAppend   = p9.ModeRegular | 0o644   // writes append (ctl, logs, telemetry)
)

// v9fsMagic is the statfs type of a 9P mount.
const v9fsMagic = 0x01021997

// Linux dirent types (DT_DIR, DT_REG): Rreaddir carries these, which the
// kernel hands straight to getdents.
const (
	dtDir = 4
	dtReg = 8
)

// file is a p9.File over one namespace node, as seen by one session.
// Files are immutable once built, so every method may run concurrently.
type file struct {
	templatefs.NotSymlinkFile
	templatefs.NilCloser
	templatefs.NoopRenamed
	templatefs.NotLockable
	p9.DefaultWalkGetAttr
	refuseMutations

	c     *conn
	s     *ninedoor.Session
	view  []string // the path as the client walked it
	canon []string // view with the session's binds applied
	node  ninedoor.Node
	kind  ninedoor.Kind
}

var _ p9.File = (*file)(nil)

// qid returns the stable QID of the file: its type bits and a hash of its
// canonical path.
func (f *file) qid() p9.QID {
	return qidFor(f.canon, f.kind)
}

func qidFor(canon []string, k ninedoor.Kind) p9.QID {
	h := fnv.New64a()
	for _, c := range canon {
		h.Write([]byte{'/'})
		h.Write([]byte(c))
	}
	t := p9.TypeRegular
	switch k {
	case ninedoor.KindDir:
		t = p9.TypeDir
	case ninedoor.KindAppend, ninedoor.KindAppendOffset:
		t = p9.TypeAppendOnly
	}
	return p9.QID{Type: t, Path: h.Sum64()}
}

// Walk implements p9.File. The server walks one name at a time; each step
// is checked against the name rules and the role policy (spec secure9p
// §9, §10). Reaching a file counts as walking to it, so the final step
// needs no separate read check: every readable path is also walkable.
func (f *file) Walk(names []string) ([]p9.QID, p9.File, error) {
	cur := f
	qids := make([]p9.QID, 0, len(names))
	for _, name := range names {
		next, err := cur.step(name)
		if err != nil {
			return nil, nil, err
		}
		qids = append(qids, next.qid())
		cur = next
	}
	if cur == f {
		clone := *f
		return nil, &clone, nil
	}
	return qids, cur, nil
}

func (f *file) step(name string) (*file, error) {
	ns := f.c.srv.ns
	if err := ns.CheckName(name); err != nil {
		return nil, linux.EINVAL
	}
	if len(f.view) >= f.c.srv.cfg.WalkDepth {
		return nil, linux.EINVAL
	}
	view := append(slices.Clip(f.view), name)
	canon := ns.Rebind(f.s, view)
	if err := ns.Check(f.s, canon, ninedoor.OpWalk); err != nil {
		return nil, Errno(err)
	}
	var (
		n   ninedoor.Node
		err error
	)
	if len(canon) == len(f.canon)+1 && canon[len(canon)-1] == name && slices.Equal(canon[:len(f.canon)], f.canon) {
		n, err = f.node.Walk(name) // no bind in the way: one step from here
	} else {
		n, err = ns.Lookup(canon)
	}
	if err != nil {
		return nil, Errno(err)
	}
	st, err := n.Stat()
	if err != nil {
		return nil, Errno(err)
	}
	return &file{c: f.c, s: f.s, view: view, canon: canon, node: n, kind: st.Kind}, nil
}

// StatFS implements p9.File.
func (f *file) StatFS() (p9.FSStat, error) {
	return p9.FSStat{Type: v9fsMagic, BlockSize: 4096, NameLength: uint32(f.c.srv.cfg.ComponentMax)}, nil
}

// GetAttr implements p9.File. Sizes are read fresh from the node.
func (f *file) GetAttr(p9.AttrMask) (p9.QID, p9.AttrMask, p9.Attr, error) {
	st, err := f.node.Stat()
	if err != nil {
		return p9.QID{}, p9.AttrMask{}, p9.Attr{}, Errno(err)
	}
	attr := p9.Attr{Size: st.Size, BlockSize: 4096, Blocks: (st.Size + 511) / 512, NLink: 1}
	switch st.Kind {
	case ninedoor.KindDir:
		attr.Mode, attr.NLink = modeDir, 2
	case ninedoor.KindReadOnly:
		attr.Mode = modeReadOnly
	default:
		attr.Mode = modeAppend
	}
	valid := p9.AttrMask{Mode: true, NLink: true, UID: true, GID: true, Size: true, Blocks: true,
		ATime: true, MTime: true, CTime: true}
	return qidFor(f.canon, st.Kind), valid, attr, nil
}

// SetAttr implements p9.File. The policy layer has already refused every
// mask but size (plus time stamps); here only the truncate to 0 that a
// shell's "echo x > file" sends is accepted, on a file the role may
// write, and it changes nothing.
func (f *file) SetAttr(valid p9.SetAttrMask, attr p9.SetAttr) error {
	if !f.appendable() || !valid.Size || attr.Size != 0 {
		return linux.EPERM
	}
	if err := f.c.srv.ns.Check(f.s, f.canon, ninedoor.OpWrite); err != nil {
		return Errno(err)
	}
	return nil
}

func (f *file) appendable() bool {
	return f.kind == ninedoor.KindAppend || f.kind == ninedoor.KindAppendOffset
}

// Open implements p9.File: reads need the read right, writes the write
// right on an append file. Truncate and append flags are accepted and
// mean nothing: every write appends.
func (f *file) Open(mode p9.OpenFlags) (p9.QID, uint32, error) {
	ns := f.c.srv.ns
	m := mode.Mode()
	if m == p9.WriteOnly || m == p9.ReadWrite {
		if err := ns.Check(f.s, f.canon, ninedoor.OpWrite); err != nil {
			return p9.QID{}, 0, Errno(err)
		}
		if err := ns.Writable(f.s, f.canon, f.node); err != nil {
			return p9.QID{}, 0, Errno(err)
		}
		if err := ns.TicketScope(f.s, ninedoor.Join(f.canon), ticket.VerbWrite); err != nil {
			return p9.QID{}, 0, Errno(err)
		}
	}
	if m == p9.ReadOnly || m == p9.ReadWrite {
		if err := ns.Check(f.s, f.canon, ninedoor.OpRead); err != nil {
			return p9.QID{}, 0, Errno(err)
		}
		if err := ns.TicketScope(f.s, ninedoor.Join(f.canon), ticket.VerbRead); err != nil {
			return p9.QID{}, 0, Errno(err)
		}
	}
	return f.qid(), f.c.pol.Msize() - 24, nil // 24: P9_IOHDRSZ
}

// ReadAt implements p9.File.
// Each read is a request under the ticket's scope rate; a telemetry read
// is a cursor advance (a resume below the last end read), and the bytes
// returned spend bandwidth (spec roles-tickets §5; EDQUOT per D2).
func (f *file) ReadAt(p []byte, off int64) (int, error) {
	ns := f.c.srv.ns
	path := ninedoor.Join(f.canon)
	if err := ns.TicketAuthorize(f.s, path, ticket.VerbRead, false); err != nil {
		return 0, Errno(err)
	}
	if off >= 0 {
		if err := ns.TicketCursor(f.s, f.canon, uint64(off)); err != nil {
			return 0, Errno(err)
		}
	}
	n, err := f.node.ReadAt(p, off)
	if err != nil {
		return 0, Errno(err)
	}
	if err := ns.TicketBandwidth(f.s, path, ticket.VerbRead, n); err != nil {
		return 0, Errno(err)
	}
	ns.TicketRecord(f.s, f.canon, uint64(off)+uint64(n))
	return n, nil
}

// WriteAt implements p9.File: every write is an append by the session.
func (f *file) WriteAt(p []byte, off int64) (int, error) {
	ns := f.c.srv.ns
	path := ninedoor.Join(f.canon)
	if err := ns.TicketAuthorize(f.s, path, ticket.VerbWrite, false); err != nil {
		return 0, Errno(err)
	}
	if err := ns.TicketBandwidth(f.s, path, ticket.VerbWrite, len(p)); err != nil {
		return 0, Errno(err)
	}
	n, err := f.append(p, off)
	if err != nil {
		if errors.Is(err, errs.ErrBusy) && !queen.IsInboxFull(err) {
			f.c.srv.ns.Queen().Pressure.Busy.Add(1) // 9P Busy counts (spec namespace §2)
		}
		return 0, Errno(err)
	}
	if n < len(p) {
		f.c.srv.ns.NineP().ShortWrites.Add(1)
	}
	return n, nil
}

// append applies one write. A write at an explicit offset waits for its
// turn: earlier such writes to the file on this connection go first
// (DECISIONS P29); where the queen orders appends, the next write may go
// as soon as this one is in its inbox.
func (f *file) append(p []byte, off int64) (int, error) {
	if off < 0 {
		return f.node.Append(f.s, p, off)
	}
	done := f.c.pol.Turn(f.qid().Path, uint64(off), uint32(len(p)))
	defer done()
	if qa, ok := f.node.(ninedoor.QueuedAppender); ok {
		return qa.AppendQueued(f.s, p, off, done)
	}
	return f.node.Append(f.s, p, off)
}

// Readdir implements p9.File. Offsets are entry indexes in the provider's
// (ls) order.
func (f *file) Readdir(offset uint64, count uint32) (p9.Dirents, error) {
	if err := f.c.srv.ns.TicketAuthorize(f.s, ninedoor.Join(f.canon), ticket.VerbRead, true); err != nil {
		return nil, Errno(err)
	}
	names, err := f.node.List()
	if err != nil {
		return nil, Errno(err)
	}
	var out p9.Dirents
	used := uint32(0)
	for i := offset; i < uint64(len(names)); i++ {
		name := names[i]
		used += 13 + 8 + 1 + 2 + uint32(len(name))
		if used > count {
			break
		}
		k := ninedoor.KindReadOnly
		if child, err := f.node.Walk(name); err == nil {
			if st, err := child.Stat(); err == nil {
				k = st.Kind
			}
		}
		typ := p9.QIDType(dtReg)
		if k == ninedoor.KindDir {
			typ = dtDir
		}
		canon := append(slices.Clip(f.canon), name)
		out = append(out, p9.Dirent{QID: qidFor(canon, k), Offset: i + 1, Type: typ, Name: name})
	}
	return out, nil
}

// FSync implements p9.File: writes are applied when acknowledged.
func (*file) FSync() error { return nil }

// GetXattr implements p9.File: the namespace has no extended attributes.
func (*file) GetXattr(string) ([]byte, error) { return nil, linux.ENODATA }

// ListXattrs implements p9.File.
func (*file) ListXattrs() ([]string, error) { return nil, linux.EOPNOTSUPP }

// SetXattr implements p9.File.
func (*file) SetXattr(string, []byte, p9.XattrFlags) error { return linux.EOPNOTSUPP }

// RemoveXattr implements p9.File.
func (*file) RemoveXattr(string) error { return linux.EOPNOTSUPP }

// refuseMutations answers EPERM to every call that would change the tree
// (DECISIONS D1). The policy layer refuses these messages before the
// server sees them; this is the second line.
type refuseMutations struct{}

func (refuseMutations) Create(string, p9.OpenFlags, p9.FileMode, p9.UID, p9.GID) (p9.File, p9.QID, uint32, error) {
	return nil, p9.QID{}, 0, linux.EPERM
}
func (refuseMutations) Mkdir(string, p9.FileMode, p9.UID, p9.GID) (p9.QID, error) {
	return p9.QID{}, linux.EPERM
}
func (refuseMutations) Symlink(string, string, p9.UID, p9.GID) (p9.QID, error) {
	return p9.QID{}, linux.EPERM
}
func (refuseMutations) Link(p9.File, string) error { return linux.EPERM }
func (refuseMutations) Mknod(string, p9.FileMode, uint32, uint32, p9.UID, p9.GID) (p9.QID, error) {
	return p9.QID{}, linux.EPERM
}
func (refuseMutations) Rename(p9.File, string) error           { return linux.EPERM }
func (refuseMutations) RenameAt(string, p9.File, string) error { return linux.EPERM }
func (refuseMutations) UnlinkAt(string, uint32) error          { return linux.EPERM }
