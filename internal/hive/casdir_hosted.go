//go:build !cohesix_sel4

package hive

import "os"

// privateCASDir is the temporary folder of a disk-backed CAS store when
// the root task runs without --state-dir.
func privateCASDir() (string, error) { return os.MkdirTemp("", "cohesix-cas-") }
