package ns

import (
	"fmt"
	"slices"

	"github.com/cohesix/cohesix/internal/errs"
)

// Verdict is a provider's answer to an access question.
type Verdict uint8

const (
	Defer Verdict = iota // no opinion: the door's default rule decides
	Allow                // the provider allows the access
	Deny                 // the provider refuses the access
)

func (v Verdict) String() string {
	return [...]string{"defer", "allow", "deny"}[v]
}

// Provider is one independently mounted subtree of the namespace.
type Provider interface {
	// Root is the node mounted under the provider's name: a directory or,
	// for a one-file provider, a file. It may be called on every walk.
	Root() Node
	// Allow decides whether c may do op on rel, a path inside the
	// provider (the empty Path is its root). Most providers Defer to the
	// door's role rule; a provider with its own rule answers Allow or Deny.
	Allow(c Caller, rel Path, op Op) Verdict
}

// Plain returns a provider serving root whose every access question
// defers to the door's default rule.
func Plain(root Node) Provider { return plain{root} }

type plain struct{ root Node }

func (p plain) Root() Node                   { return p.root }
func (plain) Allow(Caller, Path, Op) Verdict { return Defer }

// Mux is the namespace root: it mounts providers by name, in the spirit of
// hugelgupf/p9's composefs, and lists them in mount order (the ls order).
// Mount everything before serving; after that a Mux is read-only and safe
// for concurrent use.
type Mux struct {
	DirOps
	lim    Limits
	mounts []Mounted
}

// Mounted is one provider of a Mux and the name it is mounted under.
type Mounted struct {
	Name     string
	Provider Provider
}

// NewMux returns an empty root whose mount names obey lim.
func NewMux(lim Limits) *Mux { return &Mux{DirOps: DirOps{Path: "/"}, lim: lim} }

// Mount mounts p under name. A name the path grammar refuses, or one
// already mounted, is a wiring mistake and panics, as net/http.ServeMux
// does for a conflicting pattern.
func (m *Mux) Mount(name string, p Provider) {
	if err := m.lim.CheckName(name); err != nil {
		panic(fmt.Sprintf("ns: Mount(%q): %v", name, err))
	}
	if _, ok := m.provider(name); ok {
		panic(fmt.Sprintf("ns: Mount(%q): already mounted", name))
	}
	m.mounts = append(m.mounts, Mounted{name, p})
}

func (m *Mux) provider(name string) (Provider, bool) {
	for _, e := range m.mounts {
		if e.Name == name {
			return e.Provider, true
		}
	}
	return nil, false
}

// Mounts returns the mounted providers in mount order.
func (m *Mux) Mounts() []Mounted { return slices.Clone(m.mounts) }

// Root implements Provider: a Mux can itself be mounted.
func (m *Mux) Root() Node { return m }

// Allow implements Provider: it asks the provider mounted at p's first
// component about the rest of p. The root itself and unmounted names defer.
func (m *Mux) Allow(c Caller, p Path, op Op) Verdict {
	if len(p) == 0 {
		return Defer
	}
	pr, ok := m.provider(p[0])
	if !ok {
		return Defer
	}
	return pr.Allow(c, p[1:], op)
}

// Walk implements Node.
func (m *Mux) Walk(name string) (Node, error) {
	if p, ok := m.provider(name); ok {
		return p.Root(), nil
	}
	return nil, errs.ErrNotFound
}

// List implements Node.
func (m *Mux) List() ([]string, error) {
	names := make([]string, len(m.mounts))
	for i, e := range m.mounts {
		names[i] = e.Name
	}
	return names, nil
}

var (
	_ Node     = (*Mux)(nil)
	_ Provider = (*Mux)(nil)
	_ Provider = plain{}
)
