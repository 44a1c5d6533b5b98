// Package prov is what the provider packages below it share that needs
// the queen: the queen API a provider reaches, and control files whose
// written lines become queen commands. Shapes that need no queen live in
// internal/ns.
package prov

import (
	"context"

	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/queen"
)

// Queen is what a snapshot-rendering provider needs of the authority: the
// latest snapshot to render, and a door for the commands its writes
// become. *queen.Queen is one.
type Queen interface {
	Snapshot() *queen.Snapshot
	Do(ctx context.Context, c queen.Cmd) (queen.Result, error)
}

var _ Queen = (*queen.Queen)(nil)

// LineCmd builds the command one written line becomes, stamped with the
// writer; off is the line's offset for offset-checked files, -1 for the
// others.
type LineCmd func(w queen.Who, line []byte, off int64) queen.Cmd

// Submitter is an ns.LineCtl Submit that hands each line to q as cmd
// builds it.
func Submitter(q Queen, cmd LineCmd) func(ns.Caller, []byte, int64) error {
	return func(c ns.Caller, line []byte, off int64) error {
		_, err := q.Do(context.Background(), cmd(queen.WhoOf(c), line, off))
		return err
	}
}

// LineCtl is an append-only control file whose every line is submitted
// as cmd builds it; a read shows render.
func LineCtl(q Queen, render func() []byte, cmd LineCmd) ns.Node {
	return ns.LineCtl{Kind: ns.KindAppend, Render: render, Submit: Submitter(q, cmd)}
}
