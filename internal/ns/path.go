package ns

import (
	"slices"
	"strings"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/auditline"
	"github.com/cohesix/cohesix/internal/errs"
)

// Op is what a caller wants to do with a path.
type Op uint8

const (
	OpWalk  Op = iota // pass through a directory
	OpRead            // read a file or list a directory
	OpWrite           // append to a file
)

func (o Op) String() string {
	return [...]string{"walk", "read", "write"}[o]
}

// Path is a validated path as its components: none is empty, "." or "..".
// The root is the empty Path.
type Path []string

// String renders p as an absolute path.
func (p Path) String() string { return Join(p) }

// Join renders components as an absolute path.
func Join(comps []string) string { return "/" + strings.Join(comps, "/") }

// Limits bound a path. Build them from the manifest (DefaultLimits), never
// from literals.
type Limits struct {
	Depth     int // most components in one path
	Component int // most bytes in one component
}

// DefaultLimits are the manifest's walk limits (secure9p.walk_depth and
// secure9p.walk_component_max_bytes).
func DefaultLimits() Limits {
	return Limits{Depth: generated.Secure9pWalkDepth, Component: generated.Secure9pWalkComponentMaxBytes}
}

// errInvalidPath is the one refusal of the grammar; its text is what
// operators see.
func errInvalidPath() error { return errs.New(errs.ErrInvalid, "invalid path") }

// Reserved reports whether c is a path component that names no file: the
// empty component, "." or "..". Every path rule of the tree refuses these
// through here (the namespace, Secure9P's walk names, policy targets, the
// shell's client-side check).
func Reserved(c string) bool { return c == "" || c == "." || c == ".." }

// ValidName reports whether name can be one path component of at most max
// bytes: not Reserved and not longer than max. Callers add their own
// character rules.
func ValidName(name string, max int) bool {
	return !Reserved(name) && len(name) <= max
}

// Parse validates an absolute path (spec secure9p §9) and returns its
// components: a leading '/', no NUL or control character, no "." or ".."
// component, each component within l.Component bytes and at most l.Depth
// of them. Empty components are skipped, so "//a/" is /a.
func (l Limits) Parse(p string) (Path, error) {
	if !strings.HasPrefix(p, "/") || strings.ContainsRune(p, 0) || auditline.HasControl(p) {
		return nil, errInvalidPath()
	}
	var comps Path
	for c := range strings.SplitSeq(p, "/") {
		if c == "" {
			continue
		}
		if !ValidName(c, l.Component) {
			return nil, errInvalidPath()
		}
		comps = append(comps, c)
	}
	if len(comps) > l.Depth {
		return nil, errInvalidPath()
	}
	return comps, nil
}

// CheckName validates one walk component. A control character (CR, LF,
// ESC, DEL, C1) or invalid UTF-8 makes the name invalid before any policy
// sees it: it could only serve to forge or garble a log line.
func (l Limits) CheckName(name string) error {
	if !ValidName(name, l.Component) || strings.ContainsAny(name, "/\x00") || auditline.HasControl(name) {
		return errInvalidPath()
	}
	return nil
}

// BindTarget validates a bind or mount target: like Parse, but empty
// components, a trailing '/', "*" and the root alone are refused (spec
// secure9p §9).
func (l Limits) BindTarget(p string) (Path, error) {
	comps, err := l.Parse(p)
	if err != nil || len(comps) == 0 || strings.Contains(p, "//") || strings.HasSuffix(p, "/") || slices.Contains(comps, "*") {
		return nil, errInvalidPath()
	}
	return comps, nil
}
