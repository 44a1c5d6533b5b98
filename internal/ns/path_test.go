package ns

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cohesix/cohesix/internal/errs"
)

// lim is a small grammar for tests: 3 components of at most 4 bytes.
var lim = Limits{Depth: 3, Component: 4}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Path
		ok   bool
	}{
		{"root", "/", nil, true},
		{"file", "/a/bb", Path{"a", "bb"}, true},
		{"empty components skipped", "//a///bb/", Path{"a", "bb"}, true},
		{"component at the cap", "/cccc", Path{"cccc"}, true},
		{"depth at the cap", "/a/b/c", Path{"a", "b", "c"}, true},
		{"star is a name", "/a/*", Path{"a", "*"}, true},
		{"empty", "", nil, false},
		{"relative", "a/b", nil, false},
		{"dot", "/a/./b", nil, false},
		{"dot dot", "/a/../b", nil, false},
		{"NUL", "/a\x00", nil, false},
		{"component over the cap", "/ccccc", nil, false},
		{"depth over the cap", "/a/b/c/d", nil, false},
		{"CR LF", "/a\r\n", nil, false},
		{"invalid UTF-8", "/\xff", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lim.Parse(tt.in)
			if !tt.ok {
				if !errors.Is(err, errs.ErrInvalid) || err.Error() != "invalid path" {
					t.Errorf("Parse(%q) = %q, %v; want ErrInvalid %q", tt.in, got, err, "invalid path")
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("Parse(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestCheckName(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"log", true},
		{"cccc", true},
		{"ü", true},
		{"", false},
		{".", false},
		{"..", false},
		{"a/b", false},
		{"a\x00", false},
		{"ccccc", false},
		{"a\x1b", false},
		{"a\u0085", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			err := lim.CheckName(tt.in)
			if tt.ok != (err == nil) || (err != nil && err.Error() != "invalid path") {
				t.Errorf("CheckName(%q) = %v; want ok %v (else %q)", tt.in, err, tt.ok, "invalid path")
			}
		})
	}
}

func TestBindTarget(t *testing.T) {
	tests := []struct {
		in   string
		want Path // nil: refused
	}{
		{"/a/b", Path{"a", "b"}},
		{"/", nil},
		{"/a//b", nil},
		{"/a/", nil},
		{"/a/*", nil},
		{"/a/..", nil},
	}
	for _, tt := range tests {
		got, err := lim.BindTarget(tt.in)
		if tt.want == nil {
			if err == nil || err.Error() != "invalid path" {
				t.Errorf("BindTarget(%q) = %q, %v; want %q", tt.in, got, err, "invalid path")
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("BindTarget(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.want)
		}
	}
}

func TestValidName(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{{"a", true}, {"aaaa", true}, {"a/b", true}, {"", false}, {".", false}, {"..", false}, {"aaaaa", false}} {
		if got := ValidName(tt.in, 4); got != tt.ok {
			t.Errorf("ValidName(%q, 4) = %v; want %v", tt.in, got, tt.ok)
		}
	}
}

func TestJoin(t *testing.T) {
	for _, tt := range []struct {
		in   Path
		want string
	}{{nil, "/"}, {Path{"a"}, "/a"}, {Path{"a", "b"}, "/a/b"}} {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("Path(%q).String() = %q; want %q", []string(tt.in), got, tt.want)
		}
	}
}

func TestDefaultLimits(t *testing.T) {
	l := DefaultLimits()
	if l.Depth <= 0 || l.Component <= 0 {
		t.Fatalf("DefaultLimits() = %+v; want positive limits from the manifest", l)
	}
	if _, err := l.Parse("/" + strings.Repeat("a", l.Component)); err != nil {
		t.Errorf("Parse(component of %d bytes) = %v; want nil", l.Component, err)
	}
}
