package logfs_test

import (
	"strings"
	"testing"

	"github.com/cohesix/cohesix/internal/ns/nstest"
	"github.com/cohesix/cohesix/internal/prov/logfs"
	"github.com/cohesix/cohesix/internal/prov/provtest"
)

func TestConformance(t *testing.T) {
	q := provtest.NewQueen(t, nil)
	p := logfs.New(logfs.Config{Queen: q})
	nstest.TestProvider(t, p,
		nstest.Lists("", "queen.log"),
		nstest.WalkError("queen.log", "x", "not a directory"),
		nstest.AppendError("", "cannot write directory /log"),
	)
	provtest.Append(t, p, provtest.QueenCaller, "queen.log", "user line one\nuser line two\n")
	lines := q.Snapshot().Log
	nstest.TestProvider(t, p, nstest.Content("queen.log", strings.Join(lines, "\n")+"\n"))
}

// Each line of an append is one user line; the trailing newline adds none.
func TestAppendLines(t *testing.T) {
	q := provtest.NewQueen(t, nil)
	p := logfs.New(logfs.Config{Queen: q})
	before := q.Snapshot().LogTotal
	provtest.Append(t, p, provtest.QueenCaller, "queen.log", "one\ntwo\n")
	sn := q.Snapshot()
	if added := sn.LogTotal - before; added != 2 {
		t.Fatalf("log grew by %d lines; want 2", added)
	}
	got := sn.Log[len(sn.Log)-2:]
	if !strings.HasSuffix(got[0], "one") || !strings.HasSuffix(got[1], "two") {
		t.Errorf("last lines = %q; want one, two", got)
	}
}
