package store

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cohesix/cohesix/internal/blockdev"
	"github.com/cohesix/cohesix/internal/spool"
)

// TestGovernanceDeviceFillsWithKeptRecords: on a device region, records
// that compaction keeps (journal entries) grow the live half; past three
// quarters of its room a compaction is tried once, not on every commit,
// and a full half refuses the append with spool.ErrFull (the queen then
// refuses the batch as busy and audits it).
func TestGovernanceDeviceFillsWithKeptRecords(t *testing.T) {
	sp, _, _, err := spool.OpenDevice(blockdev.NewMem(512, 2*33)) // 16 KiB of room a half
	if err != nil {
		t.Fatal(err)
	}
	g := &govSpool{sp: sp, compactAt: 1 << 40, keepLog: 8}
	compactions, appended := 0, 0
	for ; appended < 1000; appended++ {
		rec := []byte(fmt.Sprintf(`{"k":"journal","l":"entry %04d %s"}`, appended, make([]byte, 60)))
		before := g.sizeAt
		err := g.Append(rec)
		if errors.Is(err, spool.ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if g.sizeAt != before {
			compactions++
		}
	}
	if appended == 1000 {
		t.Fatal("a 16 KiB half took 1,000 journal records")
	}
	if compactions != 1 {
		t.Errorf("%d compactions before the half filled with %d kept records, want 1", compactions, appended)
	}
}
