package settings

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cohesix/cohesix/internal/abpage"
	"github.com/cohesix/cohesix/internal/blockdev"
)

var lim = Limits{MaxKeyBytes: 32, MaxValueBytes: 96}

// 64-byte blocks, 4 per page: a page write is four block writes, so a cut
// can tear a page in the middle as well as in a block.
func newDev() *blockdev.Mem { return blockdev.NewMem(64, 8) }

type op struct {
	del  bool
	k, v string
}

// script is a sequence whose states all differ; the long values make
// pages span every block.
var script = []op{
	{k: "net.ipv4", v: "10.0.2.15/24"},
	{k: "hive.name", v: "pi4-lab"},
	{k: "net.ipv4", v: "192.168.1.20/24"},
	{k: "ui.motd", v: strings.Repeat("é", 40)},
	{del: true, k: "hive.name"},
	{k: "net.gw", v: strings.Repeat("g", 90)},
}

func states() [][]Entry {
	var cur []Entry
	out := [][]Entry{nil}
	for _, o := range script {
		m := map[string]string{}
		for _, e := range cur {
			m[e.Key] = e.Value
		}
		if o.del {
			delete(m, o.k)
		} else {
			m[o.k] = o.v
		}
		cur = nil
		for k, v := range m {
			cur = append(cur, Entry{k, v})
		}
		slices.SortFunc(cur, func(a, b Entry) int { return strings.Compare(a.Key, b.Key) })
		out = append(out, cur)
	}
	return out
}

func run(s *Store) (done int, err error) {
	for _, o := range script {
		if o.del {
			err = s.Delete(o.k)
		} else {
			err = s.Set(o.k, o.v)
		}
		if err != nil {
			return done, err
		}
		done++
	}
	return done, nil
}

// TestPowerCutEveryWrite cuts the power at every write of the script
// (the write lost, torn, and with the disk reordering the writes since
// the last flush so that only the newest lands): the store reopens to
// exactly the state before the interrupted update or after it, never
// anything else, and takes the next update.
func TestPowerCutEveryWrite(t *testing.T) {
	want := states()
	count := &blockdev.Counter{Device: newDev()}
	s, err := Open(count, lim)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := run(s); err != nil || n != len(script) {
		t.Fatalf("uncut run: %d ops, %v", n, err)
	}
	if count.Writes != 4*len(script) {
		t.Fatalf("%d writes for %d updates of 4-block pages", count.Writes, len(script))
	}
	for cut := 0; cut <= count.Writes; cut++ {
		for _, how := range []struct{ Torn, Reorder bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
			torn := how
			mem := newDev()
			s, err := Open(&blockdev.Cut{D: mem, Left: cut, Torn: how.Torn, Reorder: how.Reorder}, lim)
			if err != nil {
				t.Fatal(err)
			}
			done, err := run(s)
			if (err != nil) != (cut < count.Writes) || (err != nil && !errors.Is(err, blockdev.ErrPowerCut)) {
				t.Fatalf("cut %d: %d ops, err %v", cut, done, err)
			}
			r, err := Open(mem, lim)
			if err != nil {
				t.Fatalf("cut %d torn %v: reopen: %v", cut, torn, err)
			}
			got := r.Entries()
			old, next := want[done], want[min(done+1, len(want)-1)]
			if !slices.Equal(got, old) && !slices.Equal(got, next) {
				t.Fatalf("cut %d %+v after %d ops: %v, want %v or %v", cut, torn, done, got, old, next)
			}
			if err := r.Set("after", "cut"); err != nil {
				t.Fatalf("cut %d: update after recovery: %v", cut, err)
			}
			r2, _ := Open(mem, lim)
			if v, ok := r2.Get("after"); !ok || v != "cut" {
				t.Fatalf("cut %d: update after recovery not read back", cut)
			}
		}
	}
}

// TestGenerationWins: the page with the higher generation wins, whichever
// of A and B it is, and a corrupt newer page loses to the older one.
func TestGenerationWins(t *testing.T) {
	mem := newDev()
	s, _ := Open(mem, lim)
	for i := range 3 {
		if err := s.Set("k", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	if s.Active() != 'A' || s.Generation() != 3 {
		t.Fatalf("after 3 updates: page %c generation %d, want A 3", s.Active(), s.Generation())
	}
	mem.Data[abpage.HeaderLen+5] ^= 1 // inside page A's payload
	r, err := Open(mem, lim)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := r.Get("k"); v != "1" || r.Active() != 'B' || r.Generation() != 2 {
		t.Fatalf("corrupt A: k=%q page %c generation %d, want 1 from B generation 2", v, r.Active(), r.Generation())
	}
}

// TestLimits: the manifest's key and value bounds, strict UTF-8, no
// control characters, no '=' or space in keys, and a full page, are
// refused with the old set kept.
func TestLimits(t *testing.T) {
	s, _ := Open(newDev(), lim)
	if err := s.Set("a", "1"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ k, v string }{
		{"", "x"},
		{strings.Repeat("k", 33), "x"},
		{"k", strings.Repeat("v", 97)},
		{"bad\xff", "x"},
		{"k", "bad\xc3"},
		{"k", "two\nlines"},
		{"a=b", "x"},
		{"a b", "x"},
	} {
		if err := s.Set(c.k, c.v); !errors.Is(err, ErrInvalid) {
			t.Errorf("Set(%q, %q) = %v, want ErrInvalid", c.k, c.v, err)
		}
	}
	// 256-byte pages hold 232 payload bytes: "a" and two 96-byte values
	// take 210, a third does not fit.
	for _, k := range []string{"b", "c"} {
		if err := s.Set(k, strings.Repeat(k, 96)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Set("d", strings.Repeat("d", 96)); !errors.Is(err, abpage.ErrTooLarge) {
		t.Errorf("overfull page: %v, want ErrTooLarge", err)
	}
	if got := s.Entries(); len(got) != 3 || got[0] != (Entry{"a", "1"}) {
		t.Errorf("after refusals: %v", got)
	}
}

// FuzzDecodePage feeds arbitrary pages to the page and payload decoders:
// they never panic, and whatever they accept re-encodes to the same bytes
// (one encoding per value, so a page cannot be read two ways).
func FuzzDecodePage(f *testing.F) {
	page := make([]byte, 256)
	abpage.Encode(page, Magic, 7, Encode([]Entry{{"net.ipv4", "10.0.2.15/24"}, {"ui", "é"}}))
	f.Add(page)
	f.Add(make([]byte, 256))
	f.Fuzz(func(t *testing.T, b []byte) {
		gen, v, err := abpage.Decode(b, Magic)
		if err != nil {
			return
		}
		again := make([]byte, len(b))
		abpage.Encode(again, Magic, gen, v)
		if !bytes.Equal(again, b) {
			t.Fatalf("page decodes but re-encodes differently")
		}
		entries, err := Decode(v, lim)
		if err != nil {
			return
		}
		if !bytes.Equal(Encode(entries), v) {
			t.Fatalf("payload %x decodes to %v, re-encodes differently", v, entries)
		}
	})
}
