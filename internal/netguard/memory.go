package netguard

import (
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// Memory a closed connection leaves behind goes back to the OS soon, not
// when the runtime's background scavenger gets to it: after a flood of
// connections (or one connection that made many fids or queued many
// requests) ends, the hive's RSS returns near where it started.
const (
	// returnFreeBytes is the free, unreleased heap that makes a forced
	// return worth a full GC; below it the scavenger's pace is fine.
	returnFreeBytes = 1 << 18 // 256 KiB
	// returnEvery spaces forced returns: each one is a full GC.
	returnEvery = time.Second
	// returnFor is how long after the last close returns are tried: the
	// last connections of a flood may take a moment to let go.
	returnFor = 5 * time.Second
)

var (
	lastClose    atomic.Int64 // unix ns of the last connection close
	returnerOnce sync.Once
)

// returnMemory notes that a connection ended; a background loop hands
// free heap back to the OS once per returnEvery for returnFor after the
// last close.
func returnMemory() {
	lastClose.Store(time.Now().UnixNano())
	returnerOnce.Do(func() { go returner() })
}

func returner() {
	free := []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}}
	for range time.Tick(returnEvery) {
		if time.Since(time.Unix(0, lastClose.Load())) > returnFor {
			continue
		}
		metrics.Read(free)
		if free[0].Value.Kind() == metrics.KindUint64 && free[0].Value.Uint64() >= returnFreeBytes {
			debug.FreeOSMemory()
		}
	}
}
