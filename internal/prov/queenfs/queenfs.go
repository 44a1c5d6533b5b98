// Package queenfs is the /queen provider: ctl (one JSON command per line,
// binds and mounts installed in the writer's session), lifecycle/ctl, and,
// when the manifest enables telemetry ingest, telemetry/<device> and
// export/lora_jobs. Every write is a command the queen decides; the
// provider renders from queen snapshots.
package queenfs

import (
	"context"
	"strings"

	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/queen"
)

// Queen is what the provider needs of the authority.
type Queen interface {
	Snapshot() *queen.Snapshot
	Do(ctx context.Context, c queen.Cmd) (queen.Result, error)
	DoIngest(ctx context.Context, c queen.Cmd, queued func()) (queen.Result, error)
	Audit(lines ...string)
	IngestEnabled() bool
}

// Config is what /queen is built from.
type Config struct {
	Queen    Queen
	Limits   ns.Limits           // path grammar of bind and mount targets and device names
	Mounts   map[string][]string // mount service → canonical components
	MaxBinds int                 // the bind table's size, for the buffer-full audit line
	// Bind installs a queen-approved binding of from at to in c's session;
	// the session, and so its bind table, belongs to the caller's door.
	Bind func(c ns.Caller, from, to []string) error
}

// FS is the /queen provider. Its access questions defer to the door.
type FS struct {
	cfg  Config
	root ns.Node
}

// New builds /queen over cfg.Queen.
func New(cfg Config) *FS {
	f := &FS{cfg: cfg}
	entries := []ns.Entry{{Name: "ctl", Node: lineCtl{line: f.ctlLine}}, {Name: "lifecycle", Node: f.lifecycleDir()}}
	entries = append(entries, f.ingestEntries()...)
	f.root = ns.Static{DirOps: ns.DirOps{Path: "/queen"}, Entries: entries}
	return f
}

// Root implements ns.Provider.
func (f *FS) Root() ns.Node { return f.root }

// Allow implements ns.Provider: the door's role rule decides.
func (*FS) Allow(ns.Caller, ns.Path, ns.Op) ns.Verdict { return ns.Defer }

var _ ns.Provider = (*FS)(nil)

// do submits c to the queen.
func (f *FS) do(c queen.Cmd) (queen.Result, error) { return f.cfg.Queen.Do(context.Background(), c) }

// lineCtl is an append-only control file with nothing to read: each line
// of a write goes to line in order, and the first refusal ends the write.
type lineCtl struct {
	ns.NotDir
	line func(c ns.Caller, line []byte) error
}

func (lineCtl) Stat() (ns.Stat, error)            { return ns.Stat{Kind: ns.KindAppend}, nil }
func (lineCtl) ReadAt([]byte, int64) (int, error) { return 0, nil }

func (f lineCtl) Append(c ns.Caller, p []byte, _ int64) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if err := f.line(c, []byte(line)); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}
