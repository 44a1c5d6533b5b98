package hive

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/blockdev"
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/prov/settingsfs"
	"github.com/cohesix/cohesix/internal/prov/spoolfs"
)

type diskQueen struct{}

func (diskQueen) Identity() ns.Identity { return ns.Identity{Role: "queen"} }

// The platform's disk (seL4's virtio-blk) holds /proc/spool in its first
// blocks and /proc/settings after them; both come back when a hive opens
// the same disk again, and a disk too small for both is refused.
func TestDiskHoldsSpoolAndSettings(t *testing.T) {
	bs := generated.PersistenceBlockBytes
	sb := spoolfs.Blocks()
	disk := blockdev.NewMem(bs, sb+settingsfs.Blocks())
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
	if got := h.SpoolOpened(); !strings.HasPrefix(got, "records=0 torn=none ") || !strings.HasSuffix(got, " settings=none") {
		t.Errorf("fresh disk: %q", got)
	}
	if _, err := h.spool.Append(diskQueen{}, []byte("reading-001")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.settings.Set(diskQueen{}, []byte("site=lab-3")); err != nil {
		t.Fatal(err)
	}
	h.Close()
	if bytes.Equal(disk.Data[sb*int64(bs):], make([]byte, len(disk.Data)-int(sb)*bs)) {
		t.Error("nothing of the settings landed after the spool's blocks")
	}
	h = open()
	defer h.Close()
	if got := h.SpoolOpened(); !strings.HasPrefix(got, "records=1 torn=none ") || !strings.HasSuffix(got, " settings=match") {
		t.Errorf("reopened disk: %q", got)
	}
	if cur := string(h.settings.Current()); !strings.Contains(cur, "\nsite=lab-3\n") {
		t.Errorf("settings after reopening: %q", cur)
	}
	clock := &fakeClock{}
	clock.ms.Store(epochMs)
	if _, err := New(Options{Clock: clock, Disk: blockdev.NewMem(bs, sb)}); err == nil || !strings.Contains(err.Error(), "need") {
		t.Errorf("a disk with room for the spool only: %v", err)
	}
}
