// Package gate is the one door into the namespace, and the tree behind it.
// Every transport (the console over serial and TCP, Secure9P, and the REST
// gateway and UI that come next) attaches (attach.go) and opens, walks,
// reads, appends and lists here (door.go), on behalf of a Session: its
// binds, its ticket's enforcement (quota.go) and the authority's watch
// that ends it (authority.go). The role rule asks the mounted provider
// first (its Allow), then applies the default. The tree is an ns.Mux with
// one mount line per provider package (namespace.go); providers render
// from queen snapshots and submit writes to the queen. The order of the
// checks is written once (spec roles-tickets §5):
//
//   - a walk (9P) or an open checks the path grammar, applies the
//     session's binds and asks the role rule;
//   - a read or an append on a handle then spends one request of the
//     ticket's scope and rate, charges a telemetry read's cursor quota,
//     and spends bandwidth on the bytes moved;
//   - a request that names its path in one step and lists or appends
//     (the console's ls, echo, spawn, kill) spends the ticket's request
//     first, then asks the role rule: the request counts against the rate
//     even when the role refuses it (DECISIONS P44).
//
// Errors stay classes (internal/errs, ticket denials) until the transport
// renders them in its own words.
package gate

import (
	"time"

	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/ticket"
)

// Door attaches sessions (attach.go) and opens handles on their behalf.
type Door struct {
	ns   *Namespace
	cfg  DoorConfig
	keys map[ticket.Role][]ticket.Key // MAC keys by role
}

// NewDoor returns the door over ns.
func NewDoor(ns *Namespace, cfg DoorConfig) *Door {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	d := &Door{ns: ns, cfg: cfg, keys: map[ticket.Role][]ticket.Key{}}
	for _, t := range cfg.Tickets {
		if r, err := ticket.ParseRole(t.Role); err == nil {
			d.keys[r] = append(d.keys[r], ticket.KeyFromSecret(t.Secret))
		}
	}
	return d
}

// Namespace is the tree behind the door.
func (d *Door) Namespace() *Namespace { return d.ns }

// Handle is a session's reference to one node. View is the path as the
// client walked or named it, Canon the same with the session's binds
// applied: the path every rule and audit line uses.
type Handle struct {
	d     *Door
	s     *Session
	view  []string
	canon []string
	node  Node
	kind  Kind
}

// Root is the session's handle on "/".
func (d *Door) Root(s *Session) (*Handle, error) {
	root, err := d.ns.Lookup(nil)
	if err != nil {
		return nil, err
	}
	return &Handle{d: d, s: s, node: root, kind: KindDir}, nil
}

// Open resolves path for op in one step, as the console names files
// (Namespace.Resolve): the path grammar, the session's binds, the role
// rule for op, the walk, and for a write that the node takes appends.
func (d *Door) Open(s *Session, path string, op Op) (*Handle, error) {
	n, canon, err := d.ns.Resolve(s, path, op)
	if err != nil {
		return nil, err
	}
	// Stat may render a file's content: the kind is read when asked for.
	return &Handle{d: d, s: s, view: canon, canon: canon, node: n, kind: kindUnknown}, nil
}

// List answers a one-step listing of path: the ticket's listing request,
// then the role rule for reading, then the provider's names in ls order.
// The path is parsed and rebound once for both.
func (d *Door) List(s *Session, path string) ([]string, error) {
	canon, err := d.ns.canon(s, path)
	if err != nil {
		return nil, err
	}
	if err := d.ns.TicketAuthorize(s, Join(canon), ticket.VerbRead, true); err != nil {
		return nil, err
	}
	n, err := d.ns.resolveCanon(s, canon, OpRead)
	if err != nil {
		return nil, err
	}
	return n.List()
}

// Write answers a one-step append of p to path: the ticket's write
// request and bandwidth, then the role rule and that the node takes
// appends, then the provider's append.
func (d *Door) Write(s *Session, path string, p []byte) (int, error) {
	canon, err := d.ns.canon(s, path)
	if err != nil {
		return 0, err
	}
	if err := d.ns.TicketAuthorize(s, Join(canon), ticket.VerbWrite, false); err != nil {
		return 0, err
	}
	if err := d.ns.TicketBandwidth(s, path, ticket.VerbWrite, len(p)); err != nil {
		return 0, err
	}
	n, err := d.ns.resolveCanon(s, canon, OpWrite)
	if err != nil {
		return 0, err
	}
	return n.Append(s, p, -1)
}

// Charge spends one request of the session ticket for verb on path (after
// binds), for a verb that answers from elsewhere than a node (the
// console's log verb reads the queen's snapshot).
func (d *Door) Charge(s *Session, path string, v ticket.Verb) error {
	return d.ns.TicketAuthorizePath(s, path, v, false)
}

// Walk steps one name down, as 9P walks: the name grammar, the walk depth,
// the binds and the role rule for passing through. A step no bind
// redirects walks from this node; otherwise the canonical path is looked
// up from the root.
func (h *Handle) Walk(name string) (*Handle, error) {
	ns := h.d.ns
	if err := ns.CheckName(name); err != nil {
		return nil, err
	}
	if len(h.view) >= ns.Config().WalkDepth {
		return nil, errs.New(errs.ErrInvalid, "invalid path")
	}
	view := append(h.view[:len(h.view):len(h.view)], name)
	canon := ns.Rebind(h.s, view)
	if err := ns.Check(h.s, canon, OpWalk); err != nil {
		return nil, err
	}
	var n Node
	var err error
	if oneStep(h.canon, canon, name) {
		n, err = h.node.Walk(name)
	} else {
		n, err = ns.Lookup(canon)
	}
	if err != nil {
		return nil, err
	}
	st, err := n.Stat()
	if err != nil {
		return nil, err
	}
	return &Handle{d: h.d, s: h.s, view: view, canon: canon, node: n, kind: st.Kind}, nil
}

// oneStep reports whether canon is from plus name: no bind in the way.
func oneStep(from, canon []string, name string) bool {
	if len(canon) != len(from)+1 || canon[len(from)] != name {
		return false
	}
	for i := range from {
		if from[i] != canon[i] {
			return false
		}
	}
	return true
}

// Allowed applies the role rule for op to the handle's path (audited when
// it refuses).
func (h *Handle) Allowed(op Op) error { return h.d.ns.Check(h.s, h.canon, op) }

// Permit checks that the session may open the handle for reading, writing
// or both (9P Topen): the role rule, that the node takes appends, and the
// ticket's scope. Rate and bandwidth are spent by each read and append.
func (h *Handle) Permit(read, write bool) error {
	ns := h.d.ns
	if write {
		if err := ns.Check(h.s, h.canon, OpWrite); err != nil {
			return err
		}
		if err := ns.Writable(h.s, h.canon, h.node); err != nil {
			return err
		}
		if err := ns.TicketScope(h.s, h.Path(), ticket.VerbWrite); err != nil {
			return err
		}
	}
	if read {
		if err := ns.Check(h.s, h.canon, OpRead); err != nil {
			return err
		}
		if err := ns.TicketScope(h.s, h.Path(), ticket.VerbRead); err != nil {
			return err
		}
	}
	return nil
}

// ReadAt reads at off: one request under the ticket's scope and rate, a
// cursor advance on a telemetry ring (a read below the last end read is a
// resume), then the bytes returned spend bandwidth. A negative offset is
// the provider's to refuse; it charges no cursor.
func (h *Handle) ReadAt(p []byte, off int64) (int, error) {
	var n int
	err := h.read(off, true, func() (int, error) {
		var err error
		n, err = h.node.ReadAt(p, off)
		return n, err
	})
	return n, err
}

// ReadAll reads a file's whole retained content (a ring from its base) as
// one request, for cat and tail, through the same charges as ReadAt: the
// cursor is charged at the ring base, so reading again what was read
// before is a resume. charged false spends no bandwidth (cat of the log
// sends only its summary).
func (h *Handle) ReadAll(charged bool) ([]byte, error) {
	var base int64
	if w, ok := h.node.(Windowed); ok {
		b, err := w.Base() // a snapshot's ring base: no side effect before the checks
		if err != nil {
			return nil, err
		}
		base = int64(b)
	}
	var data []byte
	err := h.read(base, charged, func() (int, error) {
		var err error
		data, err = ReadAll(h.node)
		return len(data), err
	})
	return data, err
}

// read is every read's order of checks: the request (scope and rate), the
// cursor at off, the provider's read, bandwidth for the n bytes it
// returned (when charged), and the cursor's new end.
func (h *Handle) read(off int64, charged bool, do func() (int, error)) error {
	ns, path := h.d.ns, h.Path()
	if err := ns.TicketAuthorize(h.s, path, ticket.VerbRead, false); err != nil {
		return err
	}
	if off >= 0 {
		if err := ns.TicketCursor(h.s, h.canon, uint64(off)); err != nil {
			return err
		}
	}
	n, err := do()
	if err != nil {
		return err
	}
	if charged {
		if err := ns.TicketBandwidth(h.s, path, ticket.VerbRead, n); err != nil {
			return err
		}
	}
	ns.TicketRecord(h.s, h.canon, uint64(off)+uint64(n))
	return nil
}

// Append writes p as the session: one request under the ticket's scope
// and rate, its bytes spend bandwidth, then the provider appends. off is
// the writer's offset or -1. wait, if not nil, is called after the checks
// and returns the release that lets the transport's next ordered write go
// (Secure9P, DECISIONS P29): a provider whose appends the queen orders
// calls it once this one is in the queen's inbox, otherwise it is called
// on return.
func (h *Handle) Append(p []byte, off int64, wait func() (release func())) (int, error) {
	ns, path := h.d.ns, h.Path()
	if err := ns.TicketAuthorize(h.s, path, ticket.VerbWrite, false); err != nil {
		return 0, err
	}
	if err := ns.TicketBandwidth(h.s, path, ticket.VerbWrite, len(p)); err != nil {
		return 0, err
	}
	if wait == nil {
		return h.node.Append(h.s, p, off)
	}
	release := wait()
	defer release()
	if qa, ok := h.node.(QueuedAppender); ok {
		return qa.AppendQueued(h.s, p, off, release)
	}
	return h.node.Append(h.s, p, off)
}

// List names a directory's children in the provider's (ls) order: one
// listing request under the ticket's scope and rate.
func (h *Handle) List() ([]string, error) {
	if err := h.d.ns.TicketAuthorize(h.s, h.Path(), ticket.VerbRead, true); err != nil {
		return nil, err
	}
	return h.node.List()
}

// Path is the canonical path.
func (h *Handle) Path() string { return Join(h.canon) }

// Canon is the canonical path's components; the caller must not change them.
func (h *Handle) Canon() []string { return h.canon }

// kindUnknown marks a handle whose node has not been stat'ed.
const kindUnknown Kind = 0xff

// Kind is the node's kind when the handle was made (by Walk or Root), or
// now for a handle Open made; a node that cannot stat reads as read-only.
func (h *Handle) Kind() Kind {
	if h.kind != kindUnknown {
		return h.kind
	}
	if st, err := h.node.Stat(); err == nil {
		return st.Kind
	}
	return KindReadOnly
}

// Node is the provider's node, for metadata (Stat, children's kinds)
// that needs no check.
func (h *Handle) Node() Node { return h.node }
