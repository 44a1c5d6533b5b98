//go:build cohesix_sel4

package hive

import (
	"errors"
	"time"

	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/queen"
)

// casProviders: the seL4 root task has no storage for a CAS store and an
// image budget to keep (docs/SEL4.md), so /updates and /models are not
// linked into it; a manifest that enables CAS is refused at boot rather
// than ignored.
func casProviders(_ *queen.Queen, cfg queen.CASConfig, _ string, _ func() time.Time) ([]ns.Mounted, func(), error) {
	if cfg.Enable {
		return nil, func() {}, errCASUnsupported
	}
	return nil, func() {}, nil
}

// ReadCASRootKey refuses: there is no CAS in the seL4 root task.
func ReadCASRootKey(string) ([]byte, error) { return nil, errCASUnsupported }

var errCASUnsupported = errors.New("cas.enable: /updates and /models are not built into the seL4 root task (DECISIONS P49); compile a manifest with cas.enable = false")
