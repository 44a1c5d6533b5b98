package gate

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/auditline"
	"github.com/cohesix/cohesix/internal/errs"
	nscore "github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/prov/govfs"
	"github.com/cohesix/cohesix/internal/prov/gpufs"
	"github.com/cohesix/cohesix/internal/prov/logfs"
	"github.com/cohesix/cohesix/internal/prov/procfs"
	"github.com/cohesix/cohesix/internal/prov/tracefs"
	"github.com/cohesix/cohesix/internal/prov/workerfs"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/ticket"
)

// Session is one attached client: its identity and its bind table.
type Session struct {
	ID      uint64
	Role    ticket.Role
	Subject string
	Ticket  string     // masked ticket for audit lines, "" if none
	Peer    queen.Peer // the connection's transport and remote, for audit lines

	enf *ticket.Enforcer // per-ticket scopes and quotas, nil if none (quota.go)
	g   guard            // what ends the session besides its transport (authority.go)

	mu    sync.Mutex
	binds []binding // guarded by mu
}

type binding struct{ from, to []string }

// Identity implements Caller: what a provider may know of the session.
func (s *Session) Identity() nscore.Identity {
	return nscore.Identity{Role: s.Role.String(), Subject: s.Subject, Ticket: s.Ticket, Transport: s.Peer.Transport, Remote: s.Peer.Remote, Via: s.Peer.Via}
}

// Who is the session's identity as the queen records it.
func (s *Session) Who() queen.Who { return queen.WhoOf(s) }

// Config is the namespace's share of the manifest.
type Config struct {
	WalkDepth    int
	ComponentMax int
	ShardEnabled bool
	ShardBits    int
	LegacyAlias  bool
	MaxBinds     int
	Mounts       map[string][]string // service → canonical components
	Extra        []nscore.Mounted    // providers the wiring adds after the governance trees (/updates, /models)
	Spool        nscore.Node         // /proc/spool (internal/prov/spoolfs); nil: none
	Settings     nscore.Node         // /proc/settings (internal/prov/settingsfs); nil: none
}

// DefaultConfig reads the namespace limits from the generated tables.
func DefaultConfig() Config {
	c := Config{
		WalkDepth:    generated.Secure9pWalkDepth,
		ComponentMax: generated.Secure9pWalkComponentMaxBytes,
		ShardEnabled: generated.ShardingEnabled,
		ShardBits:    generated.ShardingShardBits,
		LegacyAlias:  generated.ShardingLegacyWorkerAlias,
		MaxBinds:     generated.QueenMaxBindsPerSession,
		Mounts:       map[string][]string{},
	}
	for _, m := range generated.NamespacesMounts {
		c.Mounts[m.Service] = m.Target
	}
	return c
}

// Namespace is the whole synthetic tree plus its policy.
type Namespace struct {
	q        *queen.Queen
	cfg      Config
	root     *nscore.Mux
	sessions atomic.Uint64

	obs     observe  // /proc/9p and /proc/ingest counters (observe.go)
	guarded registry // sessions the authority may end (authority.go)
}

// NewSession returns a new session with the next monotonic id.
func (ns *Namespace) NewSession(role ticket.Role, subject string) *Session {
	return &Session{ID: ns.sessions.Add(1), Role: role, Subject: subject}
}

// Config returns the namespace configuration.
func (ns *Namespace) Config() Config { return ns.cfg }

// New builds the namespace over q. boot is the /proc/boot text and tests
// the preinstalled self-test scripts by file name.
func New(q *queen.Queen, cfg Config, boot []byte, tests []Entry) *Namespace {
	ns := &Namespace{q: q, cfg: cfg}
	q.OnRevoke(ns.workerRevoked) // authority.go
	ns.root = nscore.NewMux(cfg.limits())
	for _, m := range ns.providers(boot, tests) {
		ns.root.Mount(m.Name, m.Provider)
	}
	return ns
}

// limits are the path grammar's limits of c.
func (c Config) limits() nscore.Limits {
	return nscore.Limits{Depth: c.WalkDepth, Component: c.ComponentMax}
}

// providers are the top-level providers in the ls order of /.
func (ns *Namespace) providers(boot []byte, tests []Entry) []nscore.Mounted {
	plain := func(name string, root Node) nscore.Mounted {
		return nscore.Mounted{Name: name, Provider: nscore.Plain(root)}
	}
	top := []nscore.Mounted{
		{Name: "gpu", Provider: gpufs.New(gpufs.Config{Queen: ns.q})},
		{Name: "kmesg", Provider: tracefs.Kmesg(tracefs.Config{Queen: ns.q})},
		{Name: "log", Provider: logfs.New(logfs.Config{Queen: ns.q})},
		plain("proc", procfs.New(ns.procConfig(boot, tests))),
		{Name: "queen", Provider: ns.newQueenFS()}, // providers.go
		{Name: "trace", Provider: tracefs.Trace(tracefs.Config{Queen: ns.q})},
	}
	if ns.cfg.ShardEnabled {
		top = append(top, nscore.Mounted{Name: "shard", Provider: workerfs.Shards(ns.workerConfig())})
	}
	if !ns.cfg.ShardEnabled || ns.cfg.LegacyAlias {
		top = append(top, nscore.Mounted{Name: "worker", Provider: workerfs.Workers(ns.workerConfig())})
	}
	top = append(top, govfs.Mounts(govfs.Config{Queen: ns.q, Gov: ns.q.Gov()})...) // policy, actions, audit, replay
	top = append(top, ns.cfg.Extra...)
	return top
}

// Providers returns the mounted top-level providers in the ls order of /.
func (ns *Namespace) Providers() []nscore.Mounted { return ns.root.Mounts() }

// Queen returns the authority the namespace submits to.
func (ns *Namespace) Queen() *queen.Queen { return ns.q }

// ShardLabel is the two-hex-digit shard of a worker id (spec secure9p §12).
func (ns *Namespace) ShardLabel(id string) string {
	if !ns.cfg.ShardEnabled {
		return "00"
	}
	return workerfs.ShardLabel(id, ns.cfg.ShardBits)
}

// Split validates an absolute path (spec secure9p §9) and returns its
// components; empty components are skipped.
func (ns *Namespace) Split(path string) ([]string, error) { return ns.cfg.limits().Parse(path) }

// CheckName validates one walk component. A control character (CR, LF,
// ESC, DEL, C1) or invalid UTF-8 makes the name invalid before any policy
// sees it: it could only serve to forge or garble a log line.
func (ns *Namespace) CheckName(name string) error { return ns.cfg.limits().CheckName(name) }

// Rebind applies s's bind table to comps: the longest bound prefix wins.
func (ns *Namespace) Rebind(s *Session, comps []string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	best := -1
	for i, b := range s.binds {
		if len(b.to) <= len(comps) && slices.Equal(b.to, comps[:len(b.to)]) && (best < 0 || len(b.to) > len(s.binds[best].to)) {
			best = i
		}
	}
	if best < 0 {
		return comps
	}
	b := s.binds[best]
	return append(slices.Clone(b.from), comps[len(b.to):]...)
}

// Lookup walks comps from the root without policy checks.
func (ns *Namespace) Lookup(comps []string) (Node, error) {
	var n Node = ns.root
	for i, c := range comps {
		next, err := n.Walk(c)
		if err != nil {
			return nil, errs.New(errs.ErrNotFound, "path %s not found", Join(comps[:i+1]))
		}
		n = next
	}
	return n, nil
}

// Resolve validates path, applies binds, checks the role policy for op and
// walks to the node. It returns the node and its canonical components.
func (ns *Namespace) Resolve(s *Session, path string, op Op) (Node, []string, error) {
	comps, err := ns.canon(s, path)
	if err != nil {
		return nil, nil, err
	}
	n, err := ns.resolveCanon(s, comps, op)
	return n, comps, err
}

// canon validates path and applies s's binds: the canonical components
// every rule and audit line uses.
func (ns *Namespace) canon(s *Session, path string) ([]string, error) {
	comps, err := ns.Split(path)
	if err != nil {
		return nil, err
	}
	return ns.Rebind(s, comps), nil
}

// resolveCanon checks the role rule for op on canonical comps and walks to
// the node; for a write, the node must take appends.
func (ns *Namespace) resolveCanon(s *Session, comps []string, op Op) (Node, error) {
	if err := ns.Check(s, comps, op); err != nil {
		return nil, err
	}
	n, err := ns.Lookup(comps)
	if err == nil && op == OpWrite {
		err = ns.Writable(s, comps, n)
	}
	return n, err
}

// Writable refuses, with an audit line, a write to a node that is not an
// append file (a read-only file or a directory); the role policy has
// already allowed the path.
func (ns *Namespace) Writable(s *Session, comps []string, n Node) error {
	st, err := n.Stat()
	if err != nil {
		return err
	}
	if st.Kind == KindAppend || st.Kind == KindAppendOffset {
		return nil
	}
	p := Join(comps)
	what := "read-only file"
	if st.Kind == KindDir {
		what = "directory"
	}
	ns.q.Audit(fmt.Sprintf("write denied role=%s subject=%s path=%s reason=%s%s", s.Role, auditline.Field(subjectOrNone(s.Subject)), auditline.Field(p), strings.ReplaceAll(what, " ", "-"), s.Peer.Fields()))
	return errs.New(errs.ErrPermission, "cannot write %s %s", what, p)
}

// Check applies the role matrix (spec secure9p §10) and audits a denial.
// It does not count the denial in /proc/pressure: the console counts each
// refusal it sends, and 9P counts only Busy (spec namespace §2).
func (ns *Namespace) Check(s *Session, comps []string, op Op) error {
	if ns.permits(s, comps, op) {
		return nil
	}
	p := Join(comps)
	ns.q.Audit(fmt.Sprintf("access denied role=%s subject=%s path=%s op=%s%s", s.Role, auditline.Field(subjectOrNone(s.Subject)), auditline.Field(p), op, s.Peer.Fields()))
	return errs.New(errs.ErrPermission, "access to %s denied", p)
}

func subjectOrNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// permits asks the provider mounted at comps first; one that defers
// leaves the decision to the role matrix.
func (ns *Namespace) permits(s *Session, comps []string, op Op) bool {
	if s.Role == ticket.RoleQueen {
		return true
	}
	switch ns.root.Allow(s, comps, op) {
	case nscore.Allow:
		return true
	case nscore.Deny:
		return false
	}
	return ns.allowed(s, comps, op)
}

// allowed is the default role rule (spec secure9p §10) for what no
// provider decides.
func (ns *Namespace) allowed(s *Session, comps []string, op Op) bool {
	p := Join(comps)
	readable := []string{"/proc/boot", "/log/queen.log"}
	var own []string // files the worker may read and append
	switch s.Role {
	case ticket.RoleWorkerHeartbeat, ticket.RoleWorkerGPU:
		if s.Subject != "" {
			if ns.cfg.ShardEnabled {
				own = append(own, Join([]string{"shard", ns.ShardLabel(s.Subject), "worker", s.Subject, "telemetry"}))
			}
			if !ns.cfg.ShardEnabled || ns.cfg.LegacyAlias {
				own = append(own, Join([]string{"worker", s.Subject, "telemetry"}))
			}
		}
	case ticket.RoleWorkerBus, ticket.RoleWorkerLora:
		readable = append(readable, "/proc", "/log")
	}
	if len(comps) > 0 && comps[0] == "host" && op != OpWrite {
		return true
	}
	switch op {
	case OpWrite:
		return slices.Contains(own, p)
	case OpRead:
		return slices.Contains(own, p) || slices.Contains(readable, p)
	default: // walk: any ancestor of (or equal to) an allowed file
		for _, f := range append(own, readable...) {
			if f == p || strings.HasPrefix(f, p+"/") || p == "/" {
				return true
			}
		}
		return false
	}
}

// bind installs a queen-approved binding in c's session. Binds are
// per-session state of this package, so a caller that is not a *Session
// has no table to hold one.
func (ns *Namespace) bind(c Caller, from, to []string) error {
	s, ok := c.(*Session)
	if !ok || s == nil {
		return errs.New(errs.ErrInvalid, "caller keeps no bind table")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, b := range s.binds {
		if slices.Equal(b.to, to) {
			s.binds[i].from = from
			return nil
		}
	}
	if len(s.binds) >= ns.cfg.MaxBinds {
		return errs.New(errs.ErrQuota, "buffer full")
	}
	s.binds = append(s.binds, binding{from: from, to: to})
	return nil
}

// submit hands c to the queen with the session's context.
func (ns *Namespace) submit(c queen.Cmd) (queen.Result, error) {
	return ns.q.Do(context.Background(), c)
}

// submitQueued is submit that calls queued (if not nil) once c is in the
// queen's inbox.
func (ns *Namespace) submitQueued(c queen.Cmd, queued func()) (queen.Result, error) {
	return ns.q.DoQueued(context.Background(), c, queued)
}
