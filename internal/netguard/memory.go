package netguard

import (
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// Memory a closed connection leaves behind goes back to the OS soon, not
// when the runtime's background scavenger gets to it: after a flood of
// connections (or one connection that made many fids or queued many
// requests) ends, the hive's RSS returns near where it started.
const (
	// returnFreeBytes is the free, unreleased heap that makes a close
	// worth a forced return; below it the scavenger's pace is fine.
	returnFreeBytes = 1 << 20
	// returnEvery spaces forced returns: each one is a full GC.
	returnEvery = time.Second
)

var lastReturn atomic.Int64 // unix ns of the last forced return

var freeHeap = []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}}

// returnMemory hands free heap back to the OS after a connection ends,
// at most once per returnEvery and only when enough is free.
func returnMemory() {
	now := time.Now().UnixNano()
	last := lastReturn.Load()
	if now-last < int64(returnEvery) || !lastReturn.CompareAndSwap(last, now) {
		return
	}
	s := make([]metrics.Sample, len(freeHeap))
	copy(s, freeHeap)
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 && s[0].Value.Uint64() >= returnFreeBytes {
		debug.FreeOSMemory()
	}
}
