package hive

import (
	"strings"
	"testing"

	"github.com/cohesix/cohesix/internal/queen"
)

// TestCASStoreBacking: a memory-backed CAS store opens without a file
// system on every platform, bounded by budget_bytes; a disk-backed one
// without --state-dir opens a private folder where there is a file system
// (hosted) and is refused in the manifest's words where there is none
// (the seL4 root task: go test -tags cohesix_sel4, scripts/sel4-ci.sh).
func TestCASStoreBacking(t *testing.T) {
	cfg := queen.CASConfig{Enable: true, BudgetBytes: 1 << 20, PendingMax: 4, QuarantineMax: 2, ChunkBytes: 8192}
	st, closeCAS, err := openCAS(cfg, "")
	if err != nil || st == nil {
		t.Fatalf("memory-backed store: %v", err)
	}
	if st.Dir() != "" {
		t.Errorf("memory-backed store has a folder %q", st.Dir())
	}
	closeCAS()
	cfg.DiskBacked = true
	st, closeCAS, err = openCAS(cfg, "")
	if sel4Build {
		if err == nil || !strings.Contains(err.Error(), `cas.store.backing = "memory"`) {
			t.Fatalf("disk-backed store on seL4 = %v; want a refusal naming backing = \"memory\"", err)
		}
		return
	}
	if err != nil || st.Dir() == "" {
		t.Fatalf("disk-backed store without a state dir = %v; want a private folder", err)
	}
	closeCAS()
}
