// Package cohfs is `coh mount`: a FUSE view of the hive's namespace
// (spec host-tools.md §2) served over a Secure9P session, so every rule
// the hive enforces (roles, append-only files, quotas, D1's refusal of
// create, remove and rename) reaches the shell unchanged:
//
//   - directories and files, sizes and modes come from 9P Tgetattr on every
//     lookup (no attribute or entry caching: the namespace is live);
//   - reads go straight to Tread (direct I/O, no page cache), so a file
//     whose content is rendered on demand reads the same as over 9P;
//   - every write is one Twrite at offset u64::MAX, the namespace's "append
//     at the end" (spec namespace.md modes AO and AO-off), so `echo x >>`
//     appends one record; a shell `>` on an append file arrives as a
//     truncate to 0 and a write, which the hive accepts as it does from
//     the kernel's own 9P client (the truncate changes nothing);
//   - create, mkdir, mknod, link, symlink, unlink, rmdir and rename answer
//     EPERM: the only create-like operation is a telemetry segment, made
//     by writing {"new":"segment",...} to /queen/telemetry/<dev>/ctl;
//   - only paths under client_policies.coh.mount.allowlist (relative to
//     coh.mount.root) are visible.
//
// Mount lives in mount_linux.go; elsewhere it returns errors.ErrUnsupported.
package cohfs

import (
	"errors"
	"path"
	"strings"
	"syscall"

	"github.com/hugelgupf/p9/linux"

	"github.com/cohesix/cohesix/generated"
)

// Config is one mount.
type Config struct {
	Root      string   // the 9P path shown at the mount point (coh.mount.root)
	Allowlist []string // absolute 9P paths visible below Root (coh.mount.allowlist)
	MaxWrite  int      // largest write handed to one Twrite
}

// DefaultConfig reads the mount policy from the generated tables.
func DefaultConfig() Config {
	return Config{
		Root:      generated.ClientPoliciesCohMountRoot,
		Allowlist: generated.ClientPoliciesCohMountAllowlist,
		// One FUSE write is one Twrite, so one record: the payload that
		// fits msize after the Twrite header (size[4] type[1] tag[2]
		// fid[4] offset[8] count[4] = 23 bytes, rounded up).
		MaxWrite: generated.Secure9pMsize - 24,
	}
}

// Visible reports whether the absolute 9P path p may be shown: it is the
// root, an allowlisted path or below one, or a directory on the way to one.
func (c Config) Visible(p string) bool {
	p = path.Clean("/" + p)
	root := path.Clean("/" + c.Root)
	if p == root {
		return true
	}
	if !within(p, root) {
		return false
	}
	for _, a := range c.Allowlist {
		a = path.Clean("/" + a)
		if within(p, a) || within(a, p) {
			return true
		}
	}
	return false
}

// within reports whether p is dir or below it.
func within(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

// Join is the 9P path of name in dir.
func Join(dir, name string) string { return path.Join("/", dir, name) }

// Errno turns a 9P client error into the errno the shell sees: the
// server's own errno when it sent one, EIO for a broken session.
func Errno(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	var le linux.Errno
	if errors.As(err, &le) {
		return syscall.Errno(le)
	}
	var se syscall.Errno
	if errors.As(err, &se) {
		return se
	}
	return syscall.EIO
}
