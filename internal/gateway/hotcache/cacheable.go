package hotcache

import (
	"path"
	"strings"
)

// Cacheable reports whether a read of p may be answered from the cache:
// only a clean absolute path under /proc, whose files are small read-only
// renderings of the hive's state that dashboards poll (lifecycle, pressure,
// schedule, lease, net, peers, 9p, ingest counters, root reachability).
// A TTL-old copy of them is as good as a fresh one to a poller.
//
// Never cached:
//   - anything outside /proc: /log and /worker grow, /queen and /actions
//     are control surfaces, /gpu and /trace change on their own schedule;
//   - a ctl file anywhere (a write target: caching its reads hides writes);
//   - watch files (/proc/ingest/watch) and anything else tail-like: a
//     follower needs every new line, not a copy that is up to a TTL stale;
//   - a path that is not clean (".", "..", "//", a trailing "/") or holds a
//     control byte: the gateway refuses those, a cache must never hold two
//     keys for one file, and Key's NUL separator must stay unambiguous.
func Cacheable(p string) bool {
	const root = "/proc"
	if p != path.Clean(p) || !strings.HasPrefix(p, root+"/") && p != root {
		return false
	}
	if strings.ContainsFunc(p, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return false
	}
	for _, name := range strings.Split(p[len(root):], "/") {
		switch name {
		case "ctl", "watch", "tail", "stream":
			return false
		}
		if strings.HasSuffix(name, ".log") || strings.HasSuffix(name, "ctl") {
			return false // appended logs and every *ctl control file
		}
	}
	return true
}
