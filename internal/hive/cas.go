package hive

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cohesix/cohesix/internal/cas"
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/prov/casfs"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/store"
)

// ReadCASRootKey reads the hex Ed25519 public key at path
// (roottask --cas-root-key).
func ReadCASRootKey(path string) ([]byte, error) { return cas.ReadPublicKey(path) }

// casProviders builds /updates and /models over their store when CAS is
// on (DECISIONS P49); close releases the store.
func casProviders(q *queen.Queen, cfg queen.CASConfig, stateDir string, now func() time.Time) ([]ns.Mounted, func(), error) {
	st, closeCAS, err := openCAS(cfg, stateDir)
	if err != nil || st == nil {
		return nil, closeCAS, err
	}
	return casfs.Mounts(casfs.Config{Queen: q, Store: st, CAS: cfg, Now: now}), closeCAS, nil
}

// openCAS opens the store behind /updates and /models when CAS is on:
// in the state dir's cas folder when disk-backed, in a private temporary
// folder removed at close when disk-backed with no state dir (hosted; the
// seL4 root task has no file system and refuses), in memory otherwise,
// within budget_bytes, which the compiler keeps inside the memory budget
// (DECISIONS P49, P68).
func openCAS(cfg queen.CASConfig, stateDir string) (*store.CAS, func(), error) {
	if !cfg.Enable {
		return nil, func() {}, nil
	}
	dir, cleanup := "", func() {}
	if cfg.DiskBacked {
		if stateDir != "" {
			dir = filepath.Join(stateDir, "cas")
		} else {
			tmp, err := privateCASDir()
			if err != nil {
				return nil, nil, fmt.Errorf("cas store: %w", err)
			}
			dir, cleanup = tmp, func() { os.RemoveAll(tmp) }
		}
	}
	st, err := store.OpenCAS(store.CASOptions{Dir: dir, BudgetBytes: cfg.BudgetBytes, PendingMax: cfg.PendingMax, PendingBytes: cfg.PendingBytes(), QuarantineMax: cfg.QuarantineMax})
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return st, func() { st.Close(); cleanup() }, nil
}
