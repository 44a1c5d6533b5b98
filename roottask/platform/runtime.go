package platform

import (
	"crypto/rand"
	"io"
	"time"
)

// GoRuntime is the clock, tickers and entropy of the Go runtime, for a
// platform to embed: hosted gets them from Linux, sel4 from the shim that
// serves the runtime's system calls (clock_gettime, futex and epoll
// timeouts, getrandom).
type GoRuntime struct{}

// Now implements Platform.
func (GoRuntime) Now() time.Time { return time.Now() }

// Ticker implements Platform.
func (GoRuntime) Ticker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// Entropy implements Platform: crypto/rand (getrandom).
func (GoRuntime) Entropy() io.Reader { return rand.Reader }
