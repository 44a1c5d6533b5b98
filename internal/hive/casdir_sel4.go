//go:build cohesix_sel4

package hive

import "errors"

// privateCASDir refuses: the seL4 root task has no file system for a
// disk-backed CAS store, so its manifest must keep the store in memory.
func privateCASDir() (string, error) {
	return "", errors.New(`cas.store.backing = "disk" needs a file system, and the seL4 root task has none: compile the manifest with cas.store.backing = "memory" (budget_bytes within the memory budget)`)
}
