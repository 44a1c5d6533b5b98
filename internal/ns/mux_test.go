package ns

import (
	"errors"
	"slices"
	"testing"

	"github.com/cohesix/cohesix/internal/errs"
)

type who string

func (w who) Identity() Identity { return Identity{Role: string(w)} }

// ruled is a provider with its own rule: only role "r" reads, nobody writes.
type ruled struct{ root Node }

func (p ruled) Root() Node { return p.root }

func (ruled) Allow(c Caller, rel Path, op Op) Verdict {
	switch {
	case op == OpWrite:
		return Deny
	case c.Identity().Role == "r":
		return Allow
	}
	return Defer
}

func file(text string) Node {
	return Content{ReadOnly: ReadOnly{Path: "/x"}, Render: func() []byte { return []byte(text) }}
}

func TestMuxListsInMountOrder(t *testing.T) {
	m := NewMux(lim)
	for _, name := range []string{"b", "a", "c"} {
		m.Mount(name, Plain(file(name)))
	}
	if got, err := m.List(); err != nil || !slices.Equal(got, []string{"b", "a", "c"}) {
		t.Errorf("List() = %q, %v; want mount order [b a c]", got, err)
	}
	n, err := m.Walk("a")
	if err != nil {
		t.Fatalf("Walk(a) = %v; want nil", err)
	}
	if b, _ := ReadAll(n); string(b) != "a" {
		t.Errorf("ReadAll(/a) = %q; want %q", b, "a")
	}
	if _, err := m.Walk("d"); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("Walk(d) = %v; want ErrNotFound", err)
	}
	if st, err := m.Stat(); err != nil || st.Kind != KindDir {
		t.Errorf("Stat() = %+v, %v; want a directory", st, err)
	}
	if _, err := m.Append(who("q"), []byte("x"), -1); err == nil || err.Error() != "cannot write directory /" {
		t.Errorf("Append(/) = %v; want %q", err, "cannot write directory /")
	}
}

func TestMuxMountPanics(t *testing.T) {
	for _, name := range []string{"", ".", "..", "a/b", "toolong", "a"} {
		m := NewMux(lim)
		m.Mount("a", Plain(file("a")))
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Mount(%q) did not panic; want a wiring panic", name)
				}
			}()
			m.Mount(name, Plain(file(name)))
		}()
	}
}

func TestMuxAllowRoutes(t *testing.T) {
	m := NewMux(DefaultLimits())
	m.Mount("plain", Plain(file("p")))
	m.Mount("ruled", ruled{file("r")})
	tests := []struct {
		c    Caller
		p    Path
		op   Op
		want Verdict
	}{
		{who("r"), nil, OpRead, Defer},
		{who("r"), Path{"plain"}, OpWrite, Defer},
		{who("r"), Path{"absent"}, OpRead, Defer},
		{who("r"), Path{"ruled"}, OpRead, Allow},
		{who("r"), Path{"ruled", "deep"}, OpWrite, Deny},
		{who("s"), Path{"ruled"}, OpRead, Defer},
	}
	for _, tt := range tests {
		if got := m.Allow(tt.c, tt.p, tt.op); got != tt.want {
			t.Errorf("Allow(%v, %s, %s) = %s; want %s", tt.c.Identity().Role, tt.p, tt.op, got, tt.want)
		}
	}
	if got := m.Mounts(); len(got) != 2 || got[0].Name != "plain" || got[1].Name != "ruled" {
		t.Errorf("Mounts() = %+v; want plain, ruled", got)
	}
}
