// Package platform is the root task's seam to what it runs on: a console
// byte stream, listeners, and a clock. hosted implements it with the Go
// standard library; sel4 implements it on the seL4 shim. Nothing above this
// seam knows which one it runs on.
package platform

import (
	"io"
	"net"
	"time"
)

// Platform is what the root task needs from below.
type Platform interface {
	// Name is "hosted" or "sel4"; it appears in the boot banner only.
	Name() string
	// Serial returns the serial console byte stream.
	Serial() (io.Reader, io.Writer)
	// Listen opens a TCP listener on addr.
	Listen(addr string) (net.Listener, error)
	// Now is the wall clock.
	Now() time.Time
}
