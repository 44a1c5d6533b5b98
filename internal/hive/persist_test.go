package hive

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/blockdev"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/spool"
	"github.com/cohesix/cohesix/internal/store"
)

// durableHive starts a hive on dir with an 8-line log ring.
func durableHive(t *testing.T, dir string) *Hive {
	t.Helper()
	return durableHiveOn(t, Options{StateDir: dir})
}

// durableHiveOn starts a hive with o's stores (a state dir or a disk), a
// fake clock and an 8-line log ring.
func durableHiveOn(t *testing.T, o Options) *Hive {
	t.Helper()
	cfg := queen.Default()
	cfg.LogRingLines = 8
	clock := &fakeClock{}
	clock.ms.Store(epochMs)
	o.Clock, o.Queen = clock, &cfg
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func appendLines(t *testing.T, h *Hive, from, n int) []string {
	t.Helper()
	var out []string
	for i := from; i < from+n; i++ {
		l := fmt.Sprintf("user line %06d %s", i, strings.Repeat("x", 80))
		if _, err := h.q.Do(context.Background(), queen.LogAppend{Lines: []string{l}}); err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

// userLines keeps the test's own lines of a durable log.
func userLines(log []queen.LogLine) []string {
	var out []string
	for _, l := range log {
		if strings.HasPrefix(l.Line, "user line ") {
			out = append(out, l.Line)
		}
	}
	return out
}

// TestLogSpoolCompactsAndRestores: past the compaction threshold the
// spool is compacted; store.ReadLog (archive + live) still has every line once,
// numbered without gaps; a restart shows the newest lines in the ring.
func TestLogSpoolCompactsAndRestores(t *testing.T) {
	dir := t.TempDir()
	h := durableHive(t, dir)
	compactAt := store.LogCompactBytes(h.q.Config())
	n := int(compactAt/100) + 100 // more than one threshold of ~100-byte records
	want := appendLines(t, h, 0, n)
	ring := h.q.Snapshot().Log
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, store.ArchiveName)); err != nil {
		t.Fatalf("no archive after %d lines: %v", n, err)
	}
	log, err := store.ReadLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkDurableLog(t, log, want)

	h = durableHive(t, dir)
	defer h.Close()
	after := h.q.Snapshot().Log
	if i := slices.Index(after, ring[len(ring)-1]); i < 0 || !slices.Equal(after[:i+1], ring[len(ring)-i-1:]) {
		t.Fatalf("ring after restart %q;\nwant it to start with the newest lines of %q", after, ring)
	}
}

// TestLogSpoolBoundedOnDisk: however many lines are appended, the live
// spool and its archive each stay under the threshold plus one kept ring,
// and the newest ring's worth is always readable.
func TestLogSpoolBoundedOnDisk(t *testing.T) {
	dir := t.TempDir()
	h := durableHive(t, dir)
	defer h.Close()
	cfg := h.q.Config()
	bound := store.LogCompactBytes(cfg) + int64(cfg.LogRingLines)*int64(cfg.LogLineMaxBytes)*2 + 4096
	want := appendLines(t, h, 0, int(store.LogCompactBytes(cfg)/100)*3)
	for _, name := range []string{store.SpoolName, store.ArchiveName} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > bound {
			t.Errorf("%s is %d bytes; want at most %d", name, st.Size(), bound)
		}
	}
	log, err := store.ReadLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := userLines(log)
	if len(got) < cfg.LogRingLines || !slices.Equal(got, want[len(want)-len(got):]) {
		t.Fatalf("durable log keeps %d lines; want a suffix of the appended lines, at least a ring", len(got))
	}
}

// TestLogSpoolCompactsOnDisk is TestLogSpoolCompactsAndRestores on a disk
// with no state dir (seL4): the governance spool compacts into its other
// half, store.ReadLogDevice (archive half + live half) has every line
// once, numbered without gaps, and a restart shows the newest lines.
func TestLogSpoolCompactsOnDisk(t *testing.T) {
	disk := blockdev.NewMem(generated.PersistenceBlockBytes, DiskBlocks())
	open := func() *Hive { return durableHiveOn(t, Options{Disk: disk}) }
	h := open()
	compactAt := store.LogCompactBytes(h.q.Config()) // under half a half's room here
	n := int(compactAt/100) + 100
	want := appendLines(t, h, 0, n)
	ring := h.q.Snapshot().Log
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	regions, err := splitDisk(disk)
	if err != nil {
		t.Fatal(err)
	}
	archive, _, err := spool.ReadDevice(regions.governance)
	if err != nil || len(archive) == 0 {
		t.Fatalf("no archive half after %d lines: %v", n, err)
	}
	log, err := store.ReadLogDevice(regions.governance)
	if err != nil {
		t.Fatal(err)
	}
	checkDurableLog(t, log, want)
	h = open()
	defer h.Close()
	after := h.q.Snapshot().Log
	if i := slices.Index(after, ring[len(ring)-1]); i < 0 || !slices.Equal(after[:i+1], ring[len(ring)-i-1:]) {
		t.Fatalf("ring after restart %q;\nwant it to start with the newest lines of %q", after, ring)
	}
}

// checkDurableLog: the durable log holds the user lines want, in order,
// and every line once, numbered without gaps.
func checkDurableLog(t *testing.T, log []queen.LogLine, want []string) {
	t.Helper()
	if got := userLines(log); !slices.Equal(got, want) {
		t.Fatalf("durable log has %d user lines; want the %d appended, in order", len(got), len(want))
	}
	for i := 1; i < len(log); i++ {
		if log[i].N != log[i-1].N+1 {
			t.Fatalf("line %d numbered %d after %d", i, log[i].N, log[i-1].N)
		}
	}
}
