package consoleserver

import (
	"sync/atomic"
	"time"
)

// fakeClock is a Clock that moves only when told.
type fakeClock struct{ ms atomic.Int64 }

func (c *fakeClock) Now() time.Time { return time.UnixMilli(c.ms.Load()) }
