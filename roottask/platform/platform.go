// Package platform is the root task's seam to what it runs on. Everything
// the root task takes from its host comes through Platform: the serial
// console and diagnostics stream, listeners, the clock, tickers, entropy
// and storage for the state directory. hosted implements it with the Go
// standard library; sel4 implements it on the seL4 shim. Nothing above this
// seam knows which one it runs on, and nothing in roottask/ reaches around
// it to os, time or crypto/rand (the hive and its packages take the clock
// and tickers from here, through roottask).
package platform

import (
	"errors"
	"io"
	"net"
	"time"

	"github.com/cohesix/cohesix/internal/blockdev"
)

// Platform is what the root task needs from below.
type Platform interface {
	// Name is "hosted" or "sel4"; it appears in the boot banner only.
	Name() string
	// Serial is the serial console and the diagnostics stream.
	Serial() Serial
	// Listen opens a TCP listener on addr.
	Listen(addr string) (net.Listener, error)
	// Now is the wall clock.
	Now() time.Time
	// Ticker delivers the clock's time on c every d until stop is called.
	Ticker(d time.Duration) (c <-chan time.Time, stop func())
	// Entropy is the platform's random source. Nothing in the root task
	// draws from it yet; whatever needs randomness takes it from here.
	Entropy() io.Reader
	// Storage says where the durable spools keep state given the
	// --state-dir flag dir: Storage{} (in memory) for "", or ErrNoStorage
	// on a platform with nowhere to keep it.
	Storage(dir string) (Storage, error)
}

// Serial is the serial console (In, Out: the banner, events and the
// console session) and the diagnostics stream a supervisor reads (Err).
type Serial struct {
	In       io.Reader
	Out, Err io.Writer
}

// Storage is where acknowledged state is kept.
type Storage struct {
	// Dir is the state directory the spools open; "" keeps state in memory.
	Dir string
	// Shown names Dir in the boot banner (absolute where the host can say).
	Shown string
	// Block, when set, is the disk /proc/spool keeps its records on
	// instead of Dir's spool.blk or memory (seL4's virtio-blk). The root
	// task closes it.
	Block blockdev.Device
	// BlockShown, when set, is what the boot's spool event line says of
	// the spool's device ("virtio-blk blocks=N ..." or "memory (why)");
	// "" says nothing (hosted: the state line already tells).
	BlockShown string
}

// ErrNoStorage is Storage's answer for a state directory on a platform
// that has no storage: state can only be kept in memory.
var ErrNoStorage = errors.New("no storage on this platform: state is kept in memory only (run without --state-dir)")
