package hive

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/blockdev"
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/prov/settingsfs"
	"github.com/cohesix/cohesix/internal/prov/spoolfs"
	"github.com/cohesix/cohesix/internal/queen"
)

type diskQueen struct{}

func (diskQueen) Identity() ns.Identity { return ns.Identity{Role: "queen"} }

// The platform's disk (seL4's virtio-blk) holds /proc/spool in its first
// blocks and /proc/settings after them; both come back when a hive opens
// the same disk again. A disk too small for every store (one with room for
// the spool only, or an image made before the governance spools moved onto
// the disk) is refused with the sizes named.
func TestDiskHoldsSpoolAndSettings(t *testing.T) {
	bs := generated.PersistenceBlockBytes
	sb := spoolfs.Blocks()
	disk := blockdev.NewMem(bs, DiskBlocks())
	open := func() *Hive {
		t.Helper()
		clock := &fakeClock{}
		clock.ms.Store(epochMs)
		h, err := New(Options{Clock: clock, Disk: disk})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	h := open()
	if got := h.SpoolOpened(); !strings.HasPrefix(got, "records=0 torn=none ") || !strings.Contains(got, " settings=none governance=disk ingest=disk ") {
		t.Errorf("fresh disk: %q", got)
	}
	if _, err := h.spool.Append(diskQueen{}, []byte("reading-001")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.settings.Set(diskQueen{}, []byte("site=lab-3")); err != nil {
		t.Fatal(err)
	}
	h.Close()
	settingsBytes := disk.Data[sb*int64(bs) : (sb+settingsfs.Blocks())*int64(bs)]
	if bytes.Equal(settingsBytes, make([]byte, len(settingsBytes))) {
		t.Error("nothing of the settings landed after the spool's blocks")
	}
	h = open()
	defer h.Close()
	if got := h.SpoolOpened(); !strings.HasPrefix(got, "records=1 torn=none ") || !strings.Contains(got, " settings=match ") {
		t.Errorf("reopened disk: %q", got)
	}
	if cur := string(h.settings.Current()); !strings.Contains(cur, "\nsite=lab-3\n") {
		t.Errorf("settings after reopening: %q", cur)
	}
	for _, blocks := range []int64{sb, sb + settingsfs.Blocks(), DiskBlocks() - 1} {
		clock := &fakeClock{}
		clock.ms.Store(epochMs)
		if _, err := New(Options{Clock: clock, Disk: blockdev.NewMem(bs, blocks)}); err == nil || !strings.Contains(err.Error(), "need") {
			t.Errorf("a disk of %d blocks: %v", blocks, err)
		}
	}
}

// diskHive starts a hive on the disk image at path (a blockdev.File of
// DiskBlocks() blocks) with no state directory, as the seL4 root task runs.
func diskHive(t *testing.T, path string) *testHive {
	t.Helper()
	disk, err := blockdev.OpenFile(path, generated.PersistenceBlockBytes, DiskBlocks())
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{}
	clock.ms.Store(epochMs)
	cfg := queen.Default()
	cfg.Gov.AuditEnable = true // /audit/journal, as the production profile has it
	h, err := New(Options{Clock: clock, Disk: disk, Queen: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	th := &testHive{Hive: h, t: t, clock: clock}
	th.barrier()
	return th
}

// TestDiskHoldsGovernanceAndIngest: with a disk and no state directory
// (seL4), the governance spool (audit journal, lifecycle, worker ids,
// queen log) and
// the telemetry ingest spool live on the disk after /proc/settings: a
// hive restarted on the same image finds the journal entry, the log line
// and the segment again, and a new worker does not reuse the old id
// (issue 18 item 5, DECISIONS P106).
func TestDiskHoldsGovernanceAndIngest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "disk.img")
	h := diskHive(t, path)
	if got := h.SpoolOpened(); !strings.Contains(got, " governance=disk ingest=disk governance_open_us=") {
		t.Errorf("boot line: %q", got)
	}
	s := h.session()
	for _, l := range []string{
		"attach queen",
		`spawn {"spawn":"heartbeat","ticks":1000}`,
		`echo /audit/journal {"note":"on-disk-7"}`,
		"echo /log/queen.log operator line on-disk-8",
		"echo /queen/lifecycle/ctl cordon",
		`echo /queen/telemetry/dev-a/ctl {"new":"segment","mime":"text/plain"}`,
		"echo /queen/telemetry/dev-a/seg/seg-000001 reading-on-disk-9",
	} {
		if out := h.run(t, s, l); len(out) == 0 || !strings.HasPrefix(out[len(out)-1], "OK ") {
			t.Fatalf("%s: %q", l, out)
		}
	}
	workers := h.run(t, s, "ls /worker")
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}

	h = diskHive(t, path)
	defer h.Close()
	s = h.session()
	h.run(t, s, "attach queen")
	has := func(line, want string) {
		t.Helper()
		if out := h.run(t, s, line); !slices.ContainsFunc(out, func(l string) bool { return strings.Contains(l, want) }) {
			t.Errorf("%s after a restart: %q, want %q in it", line, out, want)
		}
	}
	has("cat /audit/journal", "on-disk-7")
	has("cat /proc/lifecycle/state", "state=DRAINING")
	if !h.logHas("operator line on-disk-8") {
		t.Errorf("queen log after a restart: %q", h.q.Snapshot().Log)
	}
	has("cat /queen/telemetry/dev-a/seg/seg-000001", "reading-on-disk-9")
	has("cat /queen/telemetry/dev-a/latest", "seg-000001")
	h.run(t, s, "echo /queen/lifecycle/ctl resume") // cordoned: no spawns
	if out := h.run(t, s, `spawn {"spawn":"heartbeat","ticks":1000}`); !strings.HasPrefix(out[0], "OK SPAWN") {
		t.Fatalf("spawn after a restart: %q", out)
	}
	after := h.run(t, s, "ls /worker")
	if len(workers) < 2 || len(after) < 2 {
		t.Fatalf("ls /worker: before %q, after %q", workers, after)
	}
	old := workers[1] // after the OK line
	if !slices.Contains(after, old) || len(after) != len(workers)+1 {
		t.Errorf("workers before the restart %q, after it and one more spawn %q: want the old one kept and a new id", workers, after)
	}
}
