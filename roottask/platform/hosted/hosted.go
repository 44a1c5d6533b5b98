// Package hosted runs the root task as an ordinary Linux process: the
// serial console is the process's stdio and listeners are host sockets.
package hosted

import (
	"io"
	"net"
	"os"
	"time"

	"github.com/cohesix/cohesix/roottask/platform"
)

// Platform is the hosted platform.
type Platform struct{}

var _ platform.Platform = Platform{}

// Name implements platform.Platform.
func (Platform) Name() string { return "hosted" }

// Serial implements platform.Platform.
func (Platform) Serial() (io.Reader, io.Writer) { return os.Stdin, os.Stdout }

// Listen implements platform.Platform.
func (Platform) Listen(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }

// Now implements platform.Platform.
func (Platform) Now() time.Time { return time.Now() }
