package ninedoor

import (
	"errors"
	"slices"
	"testing"

	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/queen"
)

// checkTree is the provider conformance suite (ninedoortest): it walks
// every node reachable from root and checks that Stat, List, Walk and
// ReadAt agree with each other. path names root in failure messages.
func checkTree(t *testing.T, root Node, path string, depth int) {
	t.Helper()
	seen := 0
	var walk func(n Node, path string, depth int)
	walk = func(n Node, path string, depth int) {
		seen++
		st, err := n.Stat()
		if err != nil {
			t.Errorf("Stat(%s) = %v; want nil", path, err)
			return
		}
		if st.Kind == KindDir {
			checkDir(t, n, path)
			if depth == 0 {
				t.Errorf("%s: directory deeper than the walk depth", path)
				return
			}
			names, _ := n.List()
			for _, name := range names {
				c, err := n.Walk(name)
				if err != nil {
					continue // reported by checkDir
				}
				walk(c, join(path, name), depth-1)
			}
			return
		}
		checkFile(t, n, path, st)
	}
	walk(root, path, depth)
	if seen < 2 {
		t.Errorf("conformance walk of %s saw %d nodes; want a tree", path, seen)
	}
}

func join(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

func checkDir(t *testing.T, n Node, path string) {
	t.Helper()
	names, err := n.List()
	if err != nil {
		t.Errorf("List(%s) = %v; want nil for a directory", path, err)
		return
	}
	for i, name := range names {
		if name == "" || name == "." || name == ".." || slices.Contains(names[:i], name) {
			t.Errorf("List(%s) = %q; entry %q is empty, dot or duplicated", path, names, name)
		}
		if _, err := n.Walk(name); err != nil {
			t.Errorf("Walk(%s, %q) = %v; want the listed child", path, name, err)
		}
	}
	// /queen/telemetry creates a device directory on its first ctl write
	// (namespace.md §3), so any device name walks there.
	if _, err := n.Walk("no-such-entry"); path != "/queen/telemetry" && !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("Walk(%s, no-such-entry) = %v; want ErrNotFound", path, err)
	}
	if k, err := n.ReadAt(make([]byte, 8), 0); err == nil {
		t.Errorf("ReadAt(%s) = %d, nil; want an error for a directory", path, k)
	}
	if _, err := n.Append(nil, []byte("x"), -1); !errors.Is(err, errs.ErrPermission) {
		t.Errorf("Append(%s) = %v; want ErrPermission for a directory", path, err)
	}
	if _, err := ReadAll(n); !errors.Is(err, errs.ErrInvalid) {
		t.Errorf("ReadAll(%s) = %v; want ErrInvalid for a directory", path, err)
	}
}

func checkFile(t *testing.T, n Node, path string, st Stat) {
	t.Helper()
	switch st.Kind {
	case KindReadOnly, KindAppend, KindAppendOffset:
	default:
		t.Errorf("Stat(%s).Kind = %d; want a file kind", path, st.Kind)
	}
	if names, err := n.List(); err == nil {
		t.Errorf("List(%s) = %q, nil; want an error for a file", path, names)
	}
	if _, err := n.Walk("x"); err == nil {
		t.Errorf("Walk(%s, x) = nil error; want an error for a file", path)
	}
	var base uint64
	if w, ok := n.(Windowed); ok {
		b, err := w.Base()
		if err != nil {
			t.Errorf("Base(%s) = %v", path, err)
		}
		base = b
	}
	data, err := ReadAll(n)
	if err != nil {
		t.Errorf("ReadAll(%s) = %v; want nil", path, err)
		return
	}
	if want := st.Size - base; uint64(len(data)) != want {
		t.Errorf("ReadAll(%s) = %d bytes; want Stat size %d - base %d = %d", path, len(data), st.Size, base, want)
	}
	if k, err := n.ReadAt(make([]byte, 8), int64(st.Size)); k != 0 || err != nil {
		t.Errorf("ReadAt(%s, size %d) = %d, %v; want 0, nil at EOF", path, st.Size, k, err)
	}
	if k, err := n.ReadAt(make([]byte, 8), int64(st.Size)+100); k != 0 || err != nil {
		t.Errorf("ReadAt(%s, past end) = %d, %v; want 0, nil", path, k, err)
	}
	if len(data) > 0 {
		// Reading in small pieces gives the same bytes.
		var got []byte
		p := make([]byte, 3)
		for off := int64(base); ; {
			k, err := n.ReadAt(p, off)
			if err != nil {
				t.Errorf("ReadAt(%s, %d) = %v", path, off, err)
				break
			}
			if k == 0 {
				break
			}
			got = append(got, p[:k]...)
			off += int64(k)
		}
		if string(got) != string(data) {
			t.Errorf("ReadAt(%s) in 3-byte pieces = %q; want %q", path, got, data)
		}
	}
	if st.Kind == KindReadOnly {
		if _, err := n.Append(nil, []byte("x"), -1); !errors.Is(err, errs.ErrPermission) {
			t.Errorf("Append(%s) = %v; want ErrPermission for a read-only file", path, err)
		}
	}
}

func TestConformance(t *testing.T) {
	tests := []struct {
		name string
		opt  options
	}{
		{"manifest", options{}},
		{"sharding off", options{ns: func(c *Config) { c.ShardEnabled = false }}},
		{"shard bits 2 without alias", options{ns: func(c *Config) { c.ShardBits, c.LegacyAlias = 2, false }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.opt)
			checkTree(t, f.ns.root, "/", f.ns.cfg.WalkDepth)
			f.spawn(3, "100")
			f.tick(4)
			f.mustWrite(f.queen(), "/log/queen.log", "user line")
			checkTree(t, f.ns.root, "/", f.ns.cfg.WalkDepth)
		})
	}
}

func TestConformanceWrappedRing(t *testing.T) {
	f := newFixture(t, options{queen: func(c *queen.Config) { c.RingBytesPerWorker = 64 }})
	f.spawn(1, "100")
	f.tick(10)
	checkTree(t, f.ns.root, "/", f.ns.cfg.WalkDepth)
}

// A file made of the embeddable defaults is a Node.
type roFile struct {
	ReadOnly
	NotDir
}

func (roFile) Stat() (Stat, error)                     { return Stat{Kind: KindReadOnly}, nil }
func (roFile) ReadAt(p []byte, off int64) (int, error) { return readBytes(nil, p, off) }

var (
	_ Node = roFile{}
	_ Node = Static{}
	_ Node = Dynamic{}
	_ Node = Content{}
)

func TestEmbeddedDefaults(t *testing.T) {
	checkTree(t, Static{DirOps: DirOps{Path: "/d"}, Entries: []Entry{
		{Name: "f", Node: roFile{ReadOnly: ReadOnly{Path: "/d/f"}}},
		{Name: "c", Node: Content{ReadOnly: ReadOnly{Path: "/d/c"}, Render: func() []byte { return []byte("hello\n") }}},
		{Name: "e", Node: Dynamic{DirOps: DirOps{Path: "/d/e"}, Names: func() []string { return nil }, Child: func(string) (Node, bool) { return nil, false }}},
	}}, "/d", 4)
}
