// Package ns is the namespace core: the Node interface every provider
// implements, its embeddable defaults and content helpers, the one path
// grammar, and the Mux that mounts providers by name. It knows no
// transport, no queen and no session type: a provider learns who calls it
// through the small Caller interface.
package ns

import (
	"github.com/cohesix/cohesix/internal/errs"
)

// Kind says how a node may be used.
type Kind uint8

const (
	KindDir          Kind = iota // listable, walkable
	KindReadOnly                 // read only
	KindAppend                   // every write appends; offsets ignored
	KindAppendOffset             // appends whose offset must equal the end
)

// Stat describes a node.
type Stat struct {
	Kind Kind
	Size uint64
}

// Identity is what a provider may know of its caller, for the lines the
// authority writes on its behalf.
type Identity struct {
	Role      string // the role's wire label: queen, worker-heartbeat, ...
	Subject   string // worker id or scope; "" for the queen
	Ticket    string // masked ticket for audit lines, "" if none
	Transport string // tcp, 9p or serial; "" for a caller with no transport
	Remote    string // host:port of the connection; "" on serial
	Via       string // the client a trusted forwarder attached for (ip:port); "" if direct
}

// Caller is the session an Append, a Tail or an access rule acts for. The
// door passes its own session; a provider only asks who it is and never
// keeps it past the call.
type Caller interface {
	Identity() Identity
}

// Node is one file or directory of the namespace. Implementations must be
// safe for concurrent use: every method may run alongside any other, since
// content comes from immutable queen snapshots and writes go through the
// queen's inbox.
type Node interface {
	// Stat describes the node now.
	Stat() (Stat, error)
	// Walk returns the child called name; errs.ErrNotFound if absent.
	Walk(name string) (Node, error)
	// List returns the child names in the provider's (ls) order.
	List() ([]string, error)
	// ReadAt copies the node's content at off into p, like io.ReaderAt but
	// a short read at the end is not an error: it returns 0, nil at EOF.
	ReadAt(p []byte, off int64) (int, error)
	// Append writes p on behalf of c. off is the writer's offset, or -1
	// when the transport has none; only KindAppendOffset nodes check it.
	Append(c Caller, p []byte, off int64) (int, error)
}

// QueuedAppender is a node whose appends the queen applies in inbox
// order. AppendQueued is Append that calls queued once the append has its
// place in that order, before it is applied, so a transport keeping a
// connection's writes in order (secure9p, DECISIONS P29) can let the next
// one go without waiting for this one's result.
type QueuedAppender interface {
	AppendQueued(c Caller, p []byte, off int64, queued func()) (int, error)
}

// Tailer is a node whose console tail first advances it (the ingest watch
// stream); the console calls Tail before reading.
type Tailer interface {
	Tail(c Caller)
}

// Windowed is implemented by ring files whose retained bytes start at a
// base offset; reads below it are stale.
type Windowed interface {
	Base() (uint64, error)
}

// ReadOnly refuses writes; embed it in read-only files.
type ReadOnly struct{ Path string }

// Append implements Node.
func (r ReadOnly) Append(Caller, []byte, int64) (int, error) {
	return 0, errs.New(errs.ErrPermission, "cannot write read-only file %s", r.Path)
}

// NotDir refuses directory operations; embed it in files.
type NotDir struct{}

// Walk implements Node.
func (NotDir) Walk(string) (Node, error) { return nil, errs.New(errs.ErrInvalid, "not a directory") }

// List implements Node.
func (NotDir) List() ([]string, error) { return nil, errs.New(errs.ErrInvalid, "not a directory") }

// DirOps refuses file operations; embed it in directories.
type DirOps struct{ Path string }

// ReadAt implements Node.
func (DirOps) ReadAt([]byte, int64) (int, error) {
	return 0, errs.New(errs.ErrInvalid, "is a directory")
}

// Append implements Node.
func (d DirOps) Append(Caller, []byte, int64) (int, error) {
	return 0, errs.New(errs.ErrPermission, "cannot write directory %s", d.Path)
}

// Stat implements Node.
func (DirOps) Stat() (Stat, error) { return Stat{Kind: KindDir}, nil }

// ReadBytes serves a Node's ReadAt from a rendered byte slice b: a
// negative offset is invalid, an offset at or past the end reads 0, nil.
func ReadBytes(b []byte, p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errs.New(errs.ErrInvalid, "negative offset")
	}
	if off >= int64(len(b)) {
		return 0, nil
	}
	return copy(p, b[off:]), nil
}

// Content is a read-only file whose bytes are rendered on every access.
type Content struct {
	ReadOnly
	NotDir
	Render func() []byte
}

// Stat implements Node.
func (c Content) Stat() (Stat, error) {
	return Stat{Kind: KindReadOnly, Size: uint64(len(c.Render()))}, nil
}

// ReadAt implements Node.
func (c Content) ReadAt(p []byte, off int64) (int, error) { return ReadBytes(c.Render(), p, off) }

// Static is a directory with a fixed table of children; the table order is
// the ls order.
type Static struct {
	DirOps
	Entries []Entry
}

// Entry is one named child of a Static directory.
type Entry struct {
	Name string
	Node Node
}

// Walk implements Node.
func (d Static) Walk(name string) (Node, error) {
	for _, e := range d.Entries {
		if e.Name == name {
			return e.Node, nil
		}
	}
	return nil, errs.ErrNotFound
}

// List implements Node.
func (d Static) List() ([]string, error) {
	names := make([]string, len(d.Entries))
	for i, e := range d.Entries {
		names[i] = e.Name
	}
	return names, nil
}

// Dynamic is a directory whose children are computed from a snapshot on
// every access.
type Dynamic struct {
	DirOps
	Names func() []string
	Child func(name string) (Node, bool)
}

// Walk implements Node.
func (d Dynamic) Walk(name string) (Node, error) {
	if n, ok := d.Child(name); ok {
		return n, nil
	}
	return nil, errs.ErrNotFound
}

// List implements Node.
func (d Dynamic) List() ([]string, error) { return d.Names(), nil }

var (
	_ Node = Content{}
	_ Node = Static{}
	_ Node = Dynamic{}
)

// ReadAll reads a file node's whole retained content, starting at the
// ring base for windowed files.
func ReadAll(n Node) ([]byte, error) {
	st, err := n.Stat()
	if err != nil {
		return nil, err
	}
	if st.Kind == KindDir {
		return nil, errs.New(errs.ErrInvalid, "invalid path")
	}
	var off int64
	if w, ok := n.(Windowed); ok {
		b, err := w.Base()
		if err != nil {
			return nil, err
		}
		off = int64(b)
	}
	// A ring's size is its absolute end; only the bytes past the base
	// are retained, so size the buffer by those.
	out := make([]byte, 0, st.Size-min(st.Size, uint64(off)))
	buf := make([]byte, 4096)
	for {
		k, err := n.ReadAt(buf, off)
		if err != nil {
			return nil, err
		}
		if k == 0 {
			return out, nil
		}
		out = append(out, buf[:k]...)
		off += int64(k)
	}
}
