// Package hosted runs the root task as an ordinary Linux process: the
// serial console is the process's stdio, listeners are host sockets, the
// clock and tickers are the time package's, entropy is crypto/rand and the
// state directory is a host directory.
package hosted

import (
	"net"
	"os"
	"path/filepath"

	"github.com/cohesix/cohesix/roottask/platform"
)

// Platform is the hosted platform; the clock, tickers and entropy are the
// Go runtime's.
type Platform struct{ platform.GoRuntime }

var _ platform.Platform = Platform{}

// Name implements platform.Platform.
func (Platform) Name() string { return "hosted" }

// Serial implements platform.Platform: stdin, stdout and stderr.
func (Platform) Serial() platform.Serial {
	return platform.Serial{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}
}

// Listen implements platform.Platform.
func (Platform) Listen(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }

// Storage implements platform.Platform: dir as given (the spools create
// it), shown by its absolute path.
func (Platform) Storage(dir string) (platform.Storage, error) {
	if dir == "" {
		return platform.Storage{}, nil
	}
	shown := dir
	if abs, err := filepath.Abs(dir); err == nil {
		shown = abs
	}
	return platform.Storage{Dir: dir, Shown: shown}, nil
}
