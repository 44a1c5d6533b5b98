package ns

import (
	"bytes"
	"strings"
)

// The shapes providers repeat: a file rendered on every access whose
// rendering may fail (its subject went away since the walk), a control
// file that submits each written line on its own, and a rendering cut to
// its byte cap.

// Rendered is the read side of a file rendered on every access: Stat
// reports Kind and the rendered size, ReadAt reads the rendering, and a
// Render error is returned by both. Embed it with NotDir and an Append.
type Rendered struct {
	Kind   Kind
	Render func() ([]byte, error)
}

// Stat implements Node.
func (r Rendered) Stat() (Stat, error) {
	b, err := r.Render()
	return Stat{Kind: r.Kind, Size: uint64(len(b))}, err
}

// ReadAt implements Node.
func (r Rendered) ReadAt(p []byte, off int64) (int, error) {
	b, err := r.Render()
	if err != nil {
		return 0, err
	}
	return ReadBytes(b, p, off)
}

// LineCtl is a control file: each written line is submitted on its own,
// in order, and the first refusal ends the write. A read shows what
// Render gives. Kind is KindAppend, or KindAppendOffset when Submit must
// see each line's offset.
type LineCtl struct {
	NotDir
	Kind   Kind
	Render func() []byte
	Submit func(c Caller, line []byte, off int64) error
}

// Stat implements Node.
func (f LineCtl) Stat() (Stat, error) {
	return Stat{Kind: f.Kind, Size: uint64(len(f.Render()))}, nil
}

// ReadAt implements Node.
func (f LineCtl) ReadAt(p []byte, off int64) (int, error) { return ReadBytes(f.Render(), p, off) }

// Append implements Node: only a KindAppendOffset file passes the
// writer's offset on; the others submit -1.
func (f LineCtl) Append(c Caller, p []byte, off int64) (int, error) {
	if f.Kind != KindAppendOffset {
		off = -1
	}
	return AppendLines(p, off, func(line []byte, off int64) error { return f.Submit(c, line, off) })
}

// AppendLines submits each line of p in order and returns len(p), or 0
// and the first refusal. Trailing newlines end the last line; they do not
// make empty ones. off is p's offset, or -1 when there is none: each line
// gets its own offset, off plus the bytes before it, and -1 stays -1.
func AppendLines(p []byte, off int64, submit func(line []byte, off int64) error) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if err := submit([]byte(line), off); err != nil {
			return 0, err
		}
		if off >= 0 {
			off += int64(len(line)) + 1
		}
	}
	return len(p), nil
}

// Capped bounds a rendered node to its byte cap max, cutting after the
// last whole line that fits.
func Capped(b []byte, max int) []byte {
	if len(b) <= max {
		return b
	}
	b = b[:max]
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[:i+1]
	}
	return b
}

var (
	_ Node = LineCtl{}
	_ Node = struct {
		Rendered
		NotDir
		ReadOnly
	}{}
)
