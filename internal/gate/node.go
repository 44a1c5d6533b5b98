// The node vocabulary, the path grammar and the Mux live in internal/ns;
// the aliases below keep this package's spelling of them.

package gate

import (
	nscore "github.com/cohesix/cohesix/internal/ns"
)

// The node vocabulary (internal/ns).
type (
	Kind           = nscore.Kind
	Stat           = nscore.Stat
	Node           = nscore.Node
	Caller         = nscore.Caller
	QueuedAppender = nscore.QueuedAppender
	Tailer         = nscore.Tailer
	Windowed       = nscore.Windowed
	ReadOnly       = nscore.ReadOnly
	NotDir         = nscore.NotDir
	DirOps         = nscore.DirOps
	Content        = nscore.Content
	Static         = nscore.Static
	Entry          = nscore.Entry
	Dynamic        = nscore.Dynamic
	Op             = nscore.Op
)

const (
	KindDir          = nscore.KindDir
	KindReadOnly     = nscore.KindReadOnly
	KindAppend       = nscore.KindAppend
	KindAppendOffset = nscore.KindAppendOffset

	OpWalk  = nscore.OpWalk
	OpRead  = nscore.OpRead
	OpWrite = nscore.OpWrite
)

// ReadAll reads a file node's whole retained content, starting at the
// ring base for windowed files.
func ReadAll(n Node) ([]byte, error) { return nscore.ReadAll(n) }

// Join renders components as an absolute path.
func Join(comps []string) string { return nscore.Join(comps) }

// readBytes serves ReadAt from a rendered byte slice.
func readBytes(b []byte, p []byte, off int64) (int, error) { return nscore.ReadBytes(b, p, off) }
