// Package nstest is the conformance suite every namespace provider runs,
// in the spirit of testing/fstest.TestFS and hugelgupf/p9's fsimpl/test:
// TestProvider walks the provider's whole tree and checks that Stat, List,
// Walk, ReadAt and Append keep the ns.Node contract, plus what the
// provider declares in cases (byte caps, content, exact error words).
package nstest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/ns"
)

// Case declares something about one node of a provider that the suite
// cannot infer. Paths are relative to the provider's root, '/'-separated;
// "" is the root itself.
type Case struct {
	path   string
	open   bool // the directory walks names it does not list
	anyOff bool // the file reads 0, nil at every offset, negative ones too
	max    int  // > 0: the file's content never exceeds max bytes
	run    func(s *suite, n ns.Node, path string)
}

// Cap declares that the file at path never renders more than max bytes.
func Cap(path string, max int) Case { return Case{path: path, max: max} }

// Open declares that the directory at path walks names it does not list,
// as a directory whose first write creates the child does.
func Open(path string) Case { return Case{path: path, open: true} }

// IgnoresOffset declares that the file at path, a control file with
// nothing to read, answers 0, nil at every offset, negative ones too: the
// suite then does not ask a negative offset to fail. It records a known
// exception to the ReadAt contract; a new provider should not need it.
func IgnoresOffset(path string) Case { return Case{path: path, anyOff: true} }

// Content declares the exact content of the file at path.
func Content(path, want string) Case {
	return Case{path: path, run: func(s *suite, n ns.Node, p string) {
		if got, err := ns.ReadAll(n); err != nil || string(got) != want {
			s.errorf("ReadAll(%s) = %q, %v; want %q, nil", p, got, err, want)
		}
	}}
}

// Lists declares the exact listing, in order, of the directory at path.
func Lists(path string, names ...string) Case {
	return Case{path: path, run: func(s *suite, n ns.Node, p string) {
		if got, err := n.List(); err != nil || !slices.Equal(got, names) {
			s.errorf("List(%s) = %q, %v; want %q, nil", p, got, err, names)
		}
	}}
}

// ReadError declares that reading the file at path at off fails with
// exactly words.
func ReadError(path string, off int64, words string) Case {
	return Case{path: path, run: func(s *suite, n ns.Node, p string) {
		k, err := n.ReadAt(make([]byte, 8), off)
		s.wantWords(fmt.Sprintf("ReadAt(%s, %d)", p, off), k, err, words)
	}}
}

// AppendError declares that appending to the node at path fails with
// exactly words. The suite appends as a caller with no identity, so only
// declare it for nodes that refuse before they submit anything.
func AppendError(path string, words string) Case {
	return Case{path: path, run: func(s *suite, n ns.Node, p string) {
		k, err := n.Append(Nobody{}, []byte("x\n"), -1)
		s.wantWords(fmt.Sprintf("Append(%s)", p), k, err, words)
	}}
}

// WalkError declares that walking name from the node at path fails with
// exactly words.
func WalkError(path, name, words string) Case {
	return Case{path: path, run: func(s *suite, n ns.Node, p string) {
		_, err := n.Walk(name)
		s.wantWords(fmt.Sprintf("Walk(%s, %q)", p, name), 0, err, words)
	}}
}

func (s *suite) wantWords(call string, k int, err error, words string) {
	if err == nil || err.Error() != words {
		s.errorf("%s = %d, %v; want error %q", call, k, err, words)
	}
}

// Nobody is the caller the suite appends and asks access questions as:
// an identity with nothing in it.
type Nobody struct{}

// Identity implements ns.Caller.
func (Nobody) Identity() ns.Identity { return ns.Identity{} }

// unlisted is the name the suite walks to check that an absent child is
// errs.ErrNotFound.
const unlisted = "no-such-entry"

// suite is one run of the checks; errorf reports a violation.
type suite struct {
	errorf func(format string, args ...any)
	p      ns.Provider
	lim    ns.Limits
	open   map[string]bool
	anyOff map[string]bool
	caps   map[string]int
	seen   map[string]bool
}

// TestProvider walks every node of p's tree and checks that
//   - every listed name is a valid, unique component that walks, and an
//     unlisted name is errs.ErrNotFound (unless declared Open);
//   - directories refuse ReadAt and ReadAll (errs.ErrInvalid) and Append
//     (errs.ErrPermission); files refuse List and Walk;
//   - a file's Stat size is its ring base plus what ReadAll returns, reads
//     at 0, the middle, the end and past it agree with ReadAll, reading in
//     small pieces gives the same bytes, and a negative offset (or one
//     below a ring's base) is an error;
//   - a read-only file refuses Append with errs.ErrPermission;
//   - Allow answers a valid Verdict for every path and op;
//
// and then every declared case. It does not append to writable files:
// their effects belong to the provider's own tests.
func TestProvider(t *testing.T, p ns.Provider, cases ...Case) {
	t.Helper()
	check(p, cases, func(format string, args ...any) {
		t.Helper()
		t.Errorf(format, args...)
	})
}

// Check runs TestProvider's checks and returns every violation joined,
// nil if none: for a caller without a *testing.T, or a test of the suite.
func Check(p ns.Provider, cases ...Case) error {
	var errs []error
	check(p, cases, func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) })
	return errors.Join(errs...)
}

func check(p ns.Provider, cases []Case, errorf func(string, ...any)) {
	s := &suite{errorf: errorf, p: p, lim: ns.DefaultLimits(), open: map[string]bool{}, anyOff: map[string]bool{}, caps: map[string]int{}, seen: map[string]bool{}}
	for _, c := range cases {
		if c.open {
			s.open[c.path] = true
		}
		if c.max > 0 {
			s.caps[c.path] = c.max
		}
		if c.anyOff {
			s.anyOff[c.path] = true
		}
	}
	s.walk(p.Root(), nil)
	for _, c := range cases {
		s.runCase(c)
	}
}

// show renders a provider-relative path for failure messages.
func show(rel ns.Path) string { return "." + ns.Join(rel) }

func (s *suite) walk(n ns.Node, rel ns.Path) {
	s.seen[strings.Join(rel, "/")] = true
	s.checkAllow(rel)
	st, err := n.Stat()
	if err != nil {
		s.errorf("Stat(%s) = %v; want nil", show(rel), err)
		return
	}
	if st.Kind != ns.KindDir {
		s.checkFile(n, rel, st)
		return
	}
	s.checkDir(n, rel)
	if len(rel) >= s.lim.Depth {
		s.errorf("%s: directory at the walk depth %d; nothing below it can be reached", show(rel), s.lim.Depth)
		return
	}
	names, _ := n.List()
	for _, name := range names {
		if c, err := n.Walk(name); err == nil {
			s.walk(c, append(slices.Clip(rel), name))
		}
	}
}

func (s *suite) checkAllow(rel ns.Path) {
	for _, op := range []ns.Op{ns.OpWalk, ns.OpRead, ns.OpWrite} {
		if v := s.p.Allow(Nobody{}, rel, op); v > ns.Deny {
			s.errorf("Allow(nobody, %s, %s) = %d; want Defer, Allow or Deny", show(rel), op, v)
		}
	}
}

func (s *suite) checkDir(n ns.Node, rel ns.Path) {
	path := show(rel)
	names, err := n.List()
	if err != nil {
		s.errorf("List(%s) = %v; want nil for a directory", path, err)
	}
	for i, name := range names {
		if s.lim.CheckName(name) != nil || slices.Contains(names[:i], name) {
			s.errorf("List(%s) = %q; entry %q is not a valid, unique name", path, names, name)
		}
		if _, err := n.Walk(name); err != nil {
			s.errorf("Walk(%s, %q) = %v; want the listed child", path, name, err)
		}
	}
	if _, err := n.Walk(unlisted); !s.open[strings.Join(rel, "/")] && !slices.Contains(names, unlisted) && !errors.Is(err, errs.ErrNotFound) {
		s.errorf("Walk(%s, %q) = %v; want ErrNotFound", path, unlisted, err)
	}
	if k, err := n.ReadAt(make([]byte, 8), 0); err == nil {
		s.errorf("ReadAt(%s, 0) = %d, nil; want an error for a directory", path, k)
	}
	if _, err := ns.ReadAll(n); !errors.Is(err, errs.ErrInvalid) {
		s.errorf("ReadAll(%s) = %v; want ErrInvalid for a directory", path, err)
	}
	if _, err := n.Append(Nobody{}, []byte("x"), -1); !errors.Is(err, errs.ErrPermission) {
		s.errorf("Append(%s) = %v; want ErrPermission for a directory", path, err)
	}
}

func (s *suite) checkFile(n ns.Node, rel ns.Path, st ns.Stat) {
	path := show(rel)
	if st.Kind != ns.KindReadOnly && st.Kind != ns.KindAppend && st.Kind != ns.KindAppendOffset {
		s.errorf("Stat(%s).Kind = %d; want a file kind", path, st.Kind)
	}
	if names, err := n.List(); err == nil {
		s.errorf("List(%s) = %q, nil; want an error for a file", path, names)
	}
	if _, err := n.Walk(unlisted); err == nil {
		s.errorf("Walk(%s, %q) = nil error; want an error for a file", path, unlisted)
	}
	if st.Kind == ns.KindReadOnly {
		if _, err := n.Append(Nobody{}, []byte("x"), -1); !errors.Is(err, errs.ErrPermission) {
			s.errorf("Append(%s) = %v; want ErrPermission for a read-only file", path, err)
		}
	}
	data, base, ok := s.content(n, path, st)
	if !ok {
		return
	}
	if max, ok := s.caps[strings.Join(rel, "/")]; ok && len(data) > max {
		s.errorf("ReadAll(%s) = %d bytes; want at most the cap %d", path, len(data), max)
	}
	s.checkOffsets(n, path, data, base, s.anyOff[strings.Join(rel, "/")])
	s.checkPieces(n, path, data, base)
}

// content reads the whole file and checks it against Stat: the size is the
// ring base plus the retained bytes.
func (s *suite) content(n ns.Node, path string, st ns.Stat) (data []byte, base int64, ok bool) {
	if w, isRing := n.(ns.Windowed); isRing {
		b, err := w.Base()
		if err != nil {
			s.errorf("Base(%s) = %v; want nil", path, err)
			return nil, 0, false
		}
		base = int64(b)
	}
	data, err := ns.ReadAll(n)
	if err != nil {
		s.errorf("ReadAll(%s) = %v; want nil", path, err)
		return nil, 0, false
	}
	if want := st.Size - uint64(base); uint64(len(data)) != want {
		s.errorf("ReadAll(%s) = %d bytes; want Stat size %d - base %d = %d", path, len(data), st.Size, base, want)
	}
	return data, base, true
}

// checkOffsets reads at the start, the middle, the end and past the end,
// then below the start: a negative offset, and the byte before a ring's
// base.
func (s *suite) checkOffsets(n ns.Node, path string, data []byte, base int64, anyOff bool) {
	end := base + int64(len(data))
	for _, off := range []int64{base, base + int64(len(data)/2), end, end + 1, end + 100} {
		p := make([]byte, len(data)+8)
		k, err := n.ReadAt(p, off)
		if want := data[min(off-base, int64(len(data))):]; err != nil || string(p[:k]) != string(want) {
			s.errorf("ReadAt(%s, %d) = %q, %v; want %q, nil", path, off, p[:k], err, want)
		}
	}
	if k, err := n.ReadAt(make([]byte, 8), -1); anyOff && (k != 0 || err != nil) {
		s.errorf("ReadAt(%s, -1) = %d, %v; want 0, nil as declared (IgnoresOffset)", path, k, err)
	} else if !anyOff && err == nil {
		s.errorf("ReadAt(%s, -1) = %d, nil; want an error for a negative offset", path, k)
	}
	if base > 0 {
		if k, err := n.ReadAt(make([]byte, 8), base-1); err == nil {
			s.errorf("ReadAt(%s, %d) = %d, nil; want an error below the ring base %d", path, base-1, k, base)
		}
	}
}

// checkPieces reads the file in 3-byte pieces; they must join to data.
func (s *suite) checkPieces(n ns.Node, path string, data []byte, base int64) {
	var got []byte
	p := make([]byte, 3)
	for off := base; ; {
		k, err := n.ReadAt(p, off)
		if err != nil {
			s.errorf("ReadAt(%s, %d) = %v; want nil", path, off, err)
			return
		}
		if k == 0 {
			break
		}
		got = append(got, p[:k]...)
		off += int64(k)
	}
	if string(got) != string(data) {
		s.errorf("ReadAt(%s) in 3-byte pieces = %q; want %q", path, got, data)
	}
}

// runCase finds the case's node and runs its check; a case must name a
// node the provider serves.
func (s *suite) runCase(c Case) {
	var rel ns.Path
	if c.path != "" {
		rel = strings.Split(c.path, "/")
	}
	n := s.p.Root()
	for i, name := range rel {
		next, err := n.Walk(name)
		if err != nil {
			s.errorf("case %s: Walk(%s, %q) = %v; want the declared node", show(rel), show(rel[:i]), name, err)
			return
		}
		n = next
	}
	if (c.max > 0 || c.open || c.anyOff) && !s.seen[c.path] {
		s.errorf("case %s: the walk never reached it; want a listed node", show(rel))
	}
	if c.run != nil {
		c.run(s, n, show(rel))
	}
}

// Queen is a Caller with the queen's role.
type Queen struct{}

// Identity implements ns.Caller.
func (Queen) Identity() ns.Identity { return ns.Identity{Role: "queen"} }

// Child walks n to its child name, failing t if it cannot.
func Child(t testing.TB, n ns.Node, name string) ns.Node {
	t.Helper()
	c, err := n.Walk(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Read returns the whole content of n's child name, failing t on an error.
func Read(t testing.TB, n ns.Node, name string) string {
	t.Helper()
	b, err := ns.ReadAll(Child(t, n, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Write appends data to n's child name as the queen (no offset) and
// returns the provider's answer.
func Write(t testing.TB, n ns.Node, name, data string) error {
	t.Helper()
	_, err := Child(t, n, name).Append(Queen{}, []byte(data), -1)
	return err
}
