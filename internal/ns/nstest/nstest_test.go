package nstest_test

import (
	"strings"
	"testing"

	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/ns/nstest"
)

func text(path, s string) ns.Node {
	return ns.Content{ReadOnly: ns.ReadOnly{Path: path}, Render: func() []byte { return []byte(s) }}
}

// tree is a small well-behaved provider: a directory, two files, and an
// empty subdirectory.
func tree(extra ...ns.Entry) ns.Provider {
	return ns.Plain(ns.Static{DirOps: ns.DirOps{Path: "/t"}, Entries: append([]ns.Entry{
		{Name: "hello", Node: text("/t/hello", "hello, world\n")},
		{Name: "empty", Node: text("/t/empty", "")},
		{Name: "sub", Node: ns.Static{DirOps: ns.DirOps{Path: "/t/sub"}}},
	}, extra...)})
}

func TestGoodProvider(t *testing.T) {
	nstest.TestProvider(t, tree(),
		nstest.Cap("hello", 13),
		nstest.Content("hello", "hello, world\n"),
		nstest.Lists("", "hello", "empty", "sub"),
		nstest.ReadError("hello", -1, "negative offset"),
		nstest.AppendError("hello", "cannot write read-only file /t/hello"),
		nstest.AppendError("sub", "cannot write directory /t/sub"),
		nstest.WalkError("hello", "x", "not a directory"),
		nstest.WalkError("", "absent", "not found"),
	)
}

func TestFileRoot(t *testing.T) {
	nstest.TestProvider(t, ns.Plain(text("/f", "one file\n")))
}

// Each broken provider breaks one rule; Check must name it.
type brokenFile struct {
	ns.NotDir
	stat   ns.Stat
	read   func(p []byte, off int64) (int, error)
	append func() error
}

func (f brokenFile) Stat() (ns.Stat, error)                  { return f.stat, nil }
func (f brokenFile) ReadAt(p []byte, off int64) (int, error) { return f.read(p, off) }
func (f brokenFile) Append(ns.Caller, []byte, int64) (int, error) {
	if f.append != nil {
		return 0, f.append()
	}
	return 1, nil
}

func good(p []byte, off int64) (int, error) { return ns.ReadBytes([]byte("abc"), p, off) }

type openDir struct{ ns.Static }

func (d openDir) Walk(name string) (ns.Node, error) {
	if n, err := d.Static.Walk(name); err == nil {
		return n, nil
	}
	return text("/o/x", ""), nil
}

type ghostDir struct{ ns.Static }

func (ghostDir) List() ([]string, error) { return []string{"ghost", "ghost"}, nil }

func TestBrokenProviders(t *testing.T) {
	tests := []struct {
		name  string
		p     ns.Provider
		cases []nstest.Case
		want  string
	}{
		{"read-only file takes appends", ns.Plain(brokenFile{stat: ns.Stat{Kind: ns.KindReadOnly, Size: 3}, read: good}), nil,
			"want ErrPermission for a read-only file"},
		{"size disagrees", ns.Plain(brokenFile{stat: ns.Stat{Kind: ns.KindAppend, Size: 4}, read: good}), nil,
			"want Stat size 4"},
		{"negative offset reads", ns.Plain(brokenFile{stat: ns.Stat{Kind: ns.KindAppend, Size: 3}, read: func(p []byte, off int64) (int, error) {
			return good(p, max(off, 0))
		}}), nil, "want an error for a negative offset"},
		{"error past the end", ns.Plain(brokenFile{stat: ns.Stat{Kind: ns.KindAppend, Size: 3}, read: func(p []byte, off int64) (int, error) {
			if off >= 3 {
				return 0, errs.New(errs.ErrInvalid, "eof")
			}
			return good(p, off)
		}}), nil, "ReadAll(./) = eof"},
		{"over its cap", tree(), []nstest.Case{nstest.Cap("hello", 5)}, "want at most the cap 5"},
		{"wrong words", tree(), []nstest.Case{nstest.ReadError("hello", -1, "bad offset")}, `want error "bad offset"`},
		{"case names no node", tree(), []nstest.Case{nstest.Content("nope", "")}, "want the declared node"},
		{"unlisted name walks", ns.Plain(openDir{ns.Static{DirOps: ns.DirOps{Path: "/o"}}}), nil, "want ErrNotFound"},
		{"listed name does not walk", ns.Plain(ghostDir{ns.Static{DirOps: ns.DirOps{Path: "/g"}}}), nil, "want the listed child"},
		{"duplicate names", ns.Plain(ghostDir{ns.Static{DirOps: ns.DirOps{Path: "/g"}}}), nil, "not a valid, unique name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := nstest.Check(tt.p, tt.cases...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check() = %v; want a violation containing %q", err, tt.want)
			}
		})
	}
}

func TestOpenDirDeclared(t *testing.T) {
	p := ns.Plain(openDir{ns.Static{DirOps: ns.DirOps{Path: "/o"}}})
	if err := nstest.Check(p, nstest.Open("")); err != nil {
		t.Errorf("Check(open dir, Open) = %v; want nil", err)
	}
}

func TestIgnoresOffset(t *testing.T) {
	ctl := ns.Plain(brokenFile{stat: ns.Stat{Kind: ns.KindAppend}, read: func([]byte, int64) (int, error) { return 0, nil }})
	if err := nstest.Check(ctl, nstest.IgnoresOffset("")); err != nil {
		t.Errorf("Check(ctl, IgnoresOffset) = %v; want nil", err)
	}
	if err := nstest.Check(ctl); err == nil || !strings.Contains(err.Error(), "want an error for a negative offset") {
		t.Errorf("Check(ctl) = %v; want the negative offset violation", err)
	}
	strict := ns.Plain(brokenFile{stat: ns.Stat{Kind: ns.KindAppend, Size: 3}, read: good})
	if err := nstest.Check(strict, nstest.IgnoresOffset("")); err == nil || !strings.Contains(err.Error(), "as declared (IgnoresOffset)") {
		t.Errorf("Check(strict, IgnoresOffset) = %v; want the declaration refuted", err)
	}
}
