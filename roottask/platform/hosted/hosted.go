// Package hosted runs the root task as an ordinary Linux process: the
// serial console is the process's stdio, listeners are host sockets, the
// clock and tickers are the time package's, entropy is crypto/rand and the
// state directory is a host directory.
package hosted

import (
	"crypto/rand"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/cohesix/cohesix/roottask/platform"
)

// Platform is the hosted platform.
type Platform struct{}

var _ platform.Platform = Platform{}

// Name implements platform.Platform.
func (Platform) Name() string { return "hosted" }

// Serial implements platform.Platform: stdin, stdout and stderr.
func (Platform) Serial() platform.Serial {
	return platform.Serial{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}
}

// Listen implements platform.Platform.
func (Platform) Listen(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }

// Now implements platform.Platform.
func (Platform) Now() time.Time { return time.Now() }

// Ticker implements platform.Platform.
func (Platform) Ticker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// Entropy implements platform.Platform.
func (Platform) Entropy() io.Reader { return rand.Reader }

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
