package hotcache

import (
	"path"
	"strings"
	"testing"
)

func TestCacheable(t *testing.T) {
	for _, tt := range []struct {
		path string
		want bool
	}{
		{"/proc/lifecycle/state", true},
		{"/proc/pressure/busy", true},
		{"/proc/lease/summary", true},
		{"/proc/9p/sessions", true},
		{"/proc/ingest/p95_ms", true},
		{"/proc/net/secure9p", true},
		{"/proc", true},
		{"/proc/ingest/watch", false}, // a stream a follower tails
		{"/proc/lifecycle/ctl", false},
		{"/queen/ctl", false},
		{"/queen/lifecycle/ctl", false},
		{"/log/queen.log", false},
		{"/worker/w1/telemetry", false},
		{"/gpu/GPU-0/info", false},
		{"/procfoo", false},
		{"proc/boot", false},
		{"/proc/", false},
		{"/proc//boot", false},
		{"/proc/../queen/ctl", false},
		{"/proc/./boot", false},
		{"", false},
		{"/proc/boot\x00x", false},
		{"/proc/boot\n", false},
	} {
		if got := Cacheable(tt.path); got != tt.want {
			t.Errorf("Cacheable(%q) = %v; want %v", tt.path, got, tt.want)
		}
	}
}

// FuzzCacheable: whatever the path, a cacheable one is clean, under /proc
// and names no ctl or watch file.
func FuzzCacheable(f *testing.F) {
	for _, s := range []string{"/proc/lifecycle/state", "/proc/ingest/watch", "/proc/../x", "/queen/ctl", "/proc//a", "/proc\x00/a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if !Cacheable(p) {
			return
		}
		if p != path.Clean(p) || (p != "/proc" && !strings.HasPrefix(p, "/proc/")) {
			t.Fatalf("Cacheable(%q) = true for a path not clean and under /proc", p)
		}
		for _, name := range strings.Split(p, "/") {
			if name == "ctl" || name == "watch" || name == ".." || strings.ContainsAny(name, "\x00\n") {
				t.Fatalf("Cacheable(%q) = true for a %s path", p, name)
			}
		}
	})
}
