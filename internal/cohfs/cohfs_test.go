package cohfs

import (
	"path"
	"strings"
	"syscall"
	"testing"

	"github.com/hugelgupf/p9/linux"
)

func TestVisible(t *testing.T) {
	cfg := Config{Root: "/", Allowlist: []string{"/proc", "/queen", "/gpu/models"}}
	for _, tc := range []struct {
		name string
		p    string
		want bool
	}{
		{"root", "/", true},
		{"allowlisted", "/proc", true},
		{"below allowlisted", "/queen/telemetry/edge-1/seg/seg-000001", true},
		{"on the way to allowlisted", "/gpu", true},
		{"sibling of a deep entry", "/gpu/GPU-0", false},
		{"below a deep entry", "/gpu/models/active", true},
		{"unlisted", "/trace", false},
		{"prefix is not a parent", "/procfoo", false},
		{"dot-dot cleaned", "/proc/../trace", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := cfg.Visible(tc.p); got != tc.want {
				t.Errorf("Visible(%q) = %v; want %v", tc.p, got, tc.want)
			}
		})
	}
	sub := Config{Root: "/queen", Allowlist: []string{"/queen/telemetry"}}
	if sub.Visible("/proc") || !sub.Visible("/queen") || !sub.Visible("/queen/telemetry/x") || sub.Visible("/queen/ctl") {
		t.Errorf("Visible under root /queen is wrong")
	}
}

func TestErrno(t *testing.T) {
	for _, tc := range []struct {
		in   error
		want syscall.Errno
	}{{nil, 0}, {linux.EPERM, syscall.EPERM}, {linux.EDQUOT, syscall.EDQUOT}, {syscall.EACCES, syscall.EACCES}, {errString("broken pipe"), syscall.EIO}} {
		if got := Errno(tc.in); got != tc.want {
			t.Errorf("Errno(%v) = %v; want %v", tc.in, got, tc.want)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// FuzzVisible: a visible path is the root or lies under it, and a path
// is never visible when its cleaned form is not.
func FuzzVisible(f *testing.F) {
	f.Add("/queen/telemetry/a")
	f.Add("/../proc")
	f.Add("//gpu//models/")
	f.Fuzz(func(t *testing.T, p string) {
		cfg := DefaultConfig()
		got := cfg.Visible(p)
		if got != cfg.Visible(path.Clean("/"+p)) {
			t.Fatalf("Visible(%q) differs from its cleaned form", p)
		}
		c := path.Clean("/" + p)
		if got && c != "/" && !strings.HasPrefix(c, path.Clean("/"+cfg.Root)) {
			t.Fatalf("Visible(%q) outside the root %q", p, cfg.Root)
		}
	})
}
