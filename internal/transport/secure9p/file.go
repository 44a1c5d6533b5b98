package secure9p

import (
	"errors"
	"hash/fnv"
	"slices"

	"github.com/hugelgupf/p9/fsimpl/templatefs"
	"github.com/hugelgupf/p9/linux"
	"github.com/hugelgupf/p9/p9"

	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/gate"
	"github.com/cohesix/cohesix/internal/queen"
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

// file is a p9.File over one door handle: a namespace node as one
// session reached it. Files are immutable once built, so every method may
// run concurrently.
type file struct {
	templatefs.NotSymlinkFile
	templatefs.NilCloser
	templatefs.NoopRenamed
	templatefs.NotLockable
	p9.DefaultWalkGetAttr
	refuseMutations

	c *conn
	h *gate.Handle
}

var _ p9.File = (*file)(nil)

// qid returns the stable QID of the file: its type bits and a hash of its
// canonical path.
func (f *file) qid() p9.QID {
	return qidFor(f.h.Canon(), f.h.Kind())
}

func qidFor(canon []string, k gate.Kind) p9.QID {
	h := fnv.New64a()
	for _, c := range canon {
		h.Write([]byte{'/'})
		h.Write([]byte(c))
	}
	t := p9.TypeRegular
	switch k {
	case gate.KindDir:
		t = p9.TypeDir
	case gate.KindAppend, gate.KindAppendOffset:
		t = p9.TypeAppendOnly
	}
	return p9.QID{Type: t, Path: h.Sum64()}
}

// Walk implements p9.File. The server walks one name at a time; the door
// checks each step against the name rules and the role policy (spec
// secure9p §9, §10). Reaching a file counts as walking to it, so the final
// step needs no separate read check: every readable path is also walkable.
func (f *file) Walk(names []string) ([]p9.QID, p9.File, error) {
	cur := f
	qids := make([]p9.QID, 0, len(names))
	for _, name := range names {
		next, err := cur.h.Walk(name)
		if err != nil {
			return nil, nil, Errno(err)
		}
		cur = &file{c: f.c, h: next}
		qids = append(qids, cur.qid())
	}
	if cur == f {
		clone := *f
		return nil, &clone, nil
	}
	return qids, cur, nil
}

// StatFS implements p9.File.
func (f *file) StatFS() (p9.FSStat, error) {
	return p9.FSStat{Type: v9fsMagic, BlockSize: 4096, NameLength: uint32(f.c.srv.cfg.ComponentMax)}, nil
}

// GetAttr implements p9.File. Sizes are read fresh from the node.
func (f *file) GetAttr(p9.AttrMask) (p9.QID, p9.AttrMask, p9.Attr, error) {
	st, err := f.h.Node().Stat()
	if err != nil {
		return p9.QID{}, p9.AttrMask{}, p9.Attr{}, Errno(err)
	}
	attr := p9.Attr{Size: st.Size, BlockSize: 4096, Blocks: (st.Size + 511) / 512, NLink: 1}
	switch st.Kind {
	case gate.KindDir:
		attr.Mode, attr.NLink = modeDir, 2
	case gate.KindReadOnly:
		attr.Mode = modeReadOnly
	default:
		attr.Mode = modeAppend
	}
	valid := p9.AttrMask{Mode: true, NLink: true, UID: true, GID: true, Size: true, Blocks: true,
		ATime: true, MTime: true, CTime: true}
	return qidFor(f.h.Canon(), st.Kind), valid, attr, nil
}

// SetAttr implements p9.File. The policy layer has already refused every
// mask but size (plus time stamps); here only the truncate to 0 that a
// shell's "echo x > file" sends is accepted, on a file the role may
// write, and it changes nothing.
func (f *file) SetAttr(valid p9.SetAttrMask, attr p9.SetAttr) error {
	if !f.appendable() || !valid.Size || attr.Size != 0 {
		return linux.EPERM
	}
	if err := f.h.Allowed(gate.OpWrite); err != nil {
		return Errno(err)
	}
	return nil
}

func (f *file) appendable() bool {
	k := f.h.Kind()
	return k == gate.KindAppend || k == gate.KindAppendOffset
}

// Open implements p9.File: reads need the read right, writes the write
// right on an append file. Truncate and append flags are accepted and
// mean nothing: every write appends.
func (f *file) Open(mode p9.OpenFlags) (p9.QID, uint32, error) {
	m := mode.Mode()
	if err := f.h.Permit(m == p9.ReadOnly || m == p9.ReadWrite, m == p9.WriteOnly || m == p9.ReadWrite); err != nil {
		return p9.QID{}, 0, Errno(err)
	}
	return f.qid(), f.c.pol.Msize() - 24, nil // 24: P9_IOHDRSZ
}

// ReadAt implements p9.File: the door charges the ticket (rate, cursor,
// bandwidth; EDQUOT per D2).
func (f *file) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.h.ReadAt(p, off)
	if err != nil {
		return 0, Errno(err)
	}
	return n, nil
}

// WriteAt implements p9.File: every write is an append by the session. A
// write at an explicit offset waits for its turn: earlier such writes to
// the file on this connection go first (DECISIONS P29); where the queen
// orders appends, the next write may go as soon as this one is in its
// inbox.
func (f *file) WriteAt(p []byte, off int64) (int, error) {
	var wait func() func()
	if off >= 0 {
		wait = func() func() { return f.c.pol.Turn(f.qid().Path, uint64(off), uint32(len(p))) }
	}
	n, err := f.h.Append(p, off, wait)
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

// Readdir implements p9.File. Offsets are entry indexes in the provider's
// (ls) order.
func (f *file) Readdir(offset uint64, count uint32) (p9.Dirents, error) {
	names, err := f.h.List()
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
		k := gate.KindReadOnly
		if child, err := f.h.Node().Walk(name); err == nil {
			if st, err := child.Stat(); err == nil {
				k = st.Kind
			}
		}
		typ := p9.QIDType(dtReg)
		if k == gate.KindDir {
			typ = dtDir
		}
		canon := append(slices.Clip(f.h.Canon()), name)
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
