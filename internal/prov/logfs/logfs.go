// Package logfs is the /log provider: queen.log, the retained audit
// lines, to which a queen append adds user lines.
package logfs

import (
	"context"
	"strings"

	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/prov"
	"github.com/cohesix/cohesix/internal/queen"
)

// Queen is what the provider needs of the authority (prov.Queen).
type Queen = prov.Queen

// Config is what /log is built from.
type Config struct {
	Queen Queen
}

// New returns the /log provider; its access questions defer to the door.
func New(cfg Config) ns.Provider {
	return ns.Plain(ns.Static{DirOps: ns.DirOps{Path: "/log"}, Entries: []ns.Entry{{Name: "queen.log", Node: logFile{q: cfg.Queen}}}})
}

// logFile is /log/queen.log.
type logFile struct {
	ns.NotDir
	q Queen
}

func (f logFile) render() []byte {
	lines := f.q.Snapshot().Log
	if len(lines) == 0 {
		return nil
	}
	return []byte(strings.Join(lines, "\n") + "\n")
}

func (f logFile) Stat() (ns.Stat, error) {
	return ns.Stat{Kind: ns.KindAppend, Size: uint64(len(f.render()))}, nil
}

func (f logFile) ReadAt(p []byte, off int64) (int, error) { return ns.ReadBytes(f.render(), p, off) }

// Append adds each line of p to the log as one user line.
func (f logFile) Append(_ ns.Caller, p []byte, _ int64) (int, error) {
	text := strings.TrimRight(string(p), "\n")
	lines := strings.Split(text, "\n")
	if _, err := f.q.Do(context.Background(), queen.LogAppend{Lines: lines}); err != nil {
		return 0, err
	}
	return len(p), nil
}

var _ ns.Node = logFile{}
