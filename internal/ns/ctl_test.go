package ns

import (
	"errors"
	"slices"
	"testing"

	"github.com/cohesix/cohesix/internal/errs"
)

type submitted struct {
	line string
	off  int64
}

func TestAppendLines(t *testing.T) {
	for _, tt := range []struct {
		p    string
		off  int64
		want []submitted
	}{
		{"a\nbb\n\n", -1, []submitted{{"a", -1}, {"bb", -1}}},
		{"a\nbb", 10, []submitted{{"a", 10}, {"bb", 12}}},
		{"a\n\nc\n", 0, []submitted{{"a", 0}, {"", 2}, {"c", 3}}},
		{"", 5, []submitted{{"", 5}}},
	} {
		var got []submitted
		k, err := AppendLines([]byte(tt.p), tt.off, func(l []byte, off int64) error {
			got = append(got, submitted{string(l), off})
			return nil
		})
		if k != len(tt.p) || err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("AppendLines(%q, %d) = %d, %v submitting %v; want %d, nil submitting %v", tt.p, tt.off, k, err, got, len(tt.p), tt.want)
		}
	}
}

// The first refusal ends the write: nothing after it is submitted.
func TestAppendLinesRefusal(t *testing.T) {
	var got []string
	refuse := errs.New(errs.ErrInvalid, "no")
	k, err := AppendLines([]byte("a\nb\nc\n"), -1, func(l []byte, _ int64) error {
		got = append(got, string(l))
		if string(l) == "b" {
			return refuse
		}
		return nil
	})
	if k != 0 || err != refuse || !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("AppendLines = %d, %v submitting %q; want 0, %v submitting a, b", k, err, got, refuse)
	}
}

// Only an offset-checked LineCtl passes the writer's offset on.
func TestLineCtlOffsets(t *testing.T) {
	for _, kind := range []Kind{KindAppend, KindAppendOffset} {
		var offs []int64
		f := LineCtl{Kind: kind, Render: func() []byte { return []byte("shown\n") }, Submit: func(_ Caller, _ []byte, off int64) error {
			offs = append(offs, off)
			return nil
		}}
		if _, err := f.Append(nil, []byte("x\ny\n"), 4); err != nil {
			t.Fatal(err)
		}
		want := []int64{-1, -1}
		if kind == KindAppendOffset {
			want = []int64{4, 6}
		}
		if !slices.Equal(offs, want) {
			t.Errorf("kind %d: offsets %v; want %v", kind, offs, want)
		}
		if st, _ := f.Stat(); st.Kind != kind || st.Size != 6 {
			t.Errorf("Stat = %+v; want kind %d size 6", st, kind)
		}
	}
}

func TestRendered(t *testing.T) {
	gone := errs.New(errs.ErrInvalid, "invalid path")
	ok := Rendered{Kind: KindAppend, Render: func() ([]byte, error) { return []byte("abc"), nil }}
	if st, err := ok.Stat(); err != nil || st != (Stat{Kind: KindAppend, Size: 3}) {
		t.Errorf("Stat = %+v, %v; want append size 3", st, err)
	}
	p := make([]byte, 8)
	if k, err := ok.ReadAt(p, 1); err != nil || string(p[:k]) != "bc" {
		t.Errorf("ReadAt(1) = %q, %v; want %q", p[:k], err, "bc")
	}
	bad := Rendered{Kind: KindAppend, Render: func() ([]byte, error) { return nil, gone }}
	if _, err := bad.Stat(); !errors.Is(err, errs.ErrInvalid) {
		t.Errorf("Stat of a gone file = %v; want %v", err, gone)
	}
	if _, err := bad.ReadAt(p, 0); !errors.Is(err, errs.ErrInvalid) {
		t.Errorf("ReadAt of a gone file = %v; want %v", err, gone)
	}
}

func TestCapped(t *testing.T) {
	for _, tt := range []struct {
		in   string
		max  int
		want string
	}{
		{"a\nb\n", 4, "a\nb\n"},
		{"a\nbc\n", 4, "a\n"},
		{"abcdef", 4, "abcd"},
	} {
		if got := string(Capped([]byte(tt.in), tt.max)); got != tt.want {
			t.Errorf("Capped(%q, %d) = %q; want %q", tt.in, tt.max, got, tt.want)
		}
	}
}
