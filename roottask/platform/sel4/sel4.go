// Package sel4 is the root task's platform on seL4, where the Go program
// runs as a static linux/arm64 binary under the C shim (sel4/, docs/SEL4.md).
//
// The serial console is fd 0/1 (diagnostics fd 2), which the shim serves
// from the PL011 (write polls TX, read blocks the thread until RX has a line). The clock is
// whatever the shim offers: the kernel's counter when it is exported to user
// space, otherwise the shim's virtual clock; ClockName asks the shim through
// its private syscall range and the boot banner shows it. Listen serves TCP
// through a virtio-net (MMIO) driver in Go and the gVisor netstack
// (virtio.go, netstack.go) when QEMU provides the device; without one it
// returns a listener that accepts nothing and only returns once closed.
// Tickers are Go's timers, which the shim serves with futex and epoll
// timeouts on that clock. Entropy is a DRBG seeded from virtio-rng (QEMU)
// or the RNG200 (Pi 4), never the shim's getrandom (rng.go, DECISIONS P73);
// without a source it fails and the root task refuses tickets.
// There is no file storage: the governance spools are kept in memory and
// a state directory is refused with platform.ErrNoStorage; /proc/spool
// keeps its records on the first virtio-blk disk when QEMU provides one
// whose writes can be made durable (blk.go), else in memory.
package sel4

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/roottask/platform"
)

// Private syscall numbers served by the shim (sel4/include/cohesix_sel4_abi.h).
const (
	sysClockInfo = 0x4303 // () -> 0 virtual, 1 counter, 2 virtual paced by the PL031 RTC
)

// Platform is the seL4 platform. The clock, tickers and entropy are the
// Go runtime's, served by the shim (see the package comment).
type Platform struct{ platform.GoRuntime }

var _ platform.Platform = Platform{}

// ClockName is "counter" when the shim reads the kernel's exported
// counter, "virtual" for the shim's virtual clock (advanced per system call
// and jumped to the next deadline when every thread is blocked),
// "virtual+rtc" when that clock starts at and is paced by the PL031 RTC,
// "unknown" when the private syscall is not served (e.g. under qemu-aarch64).
func ClockName() string {
	r, _, errno := syscall.RawSyscall(sysClockInfo, 0, 0, 0)
	switch {
	case errno != 0:
		return "unknown"
	case r == 1:
		return "counter"
	case r == 2:
		return "virtual+rtc"
	default:
		return "virtual"
	}
}

// Name implements platform.Platform; the banner shows the clock in use.
func (Platform) Name() string { return "sel4 clock=" + ClockName() }

// Serial implements platform.Platform: the shim's PL011 behind fd 0/1/2.
func (Platform) Serial() platform.Serial {
	return platform.Serial{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}
}

// Listen implements platform.Platform: a TCP listener on the VM's address
// at addr's port (the host part is ignored: the VM has one address).
// Without networking the listener exists, so the boot sequence is the
// hosted one, but accepts nothing.
func (Platform) Listen(addr string) (net.Listener, error) {
	a, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, err
	}
	if s, err := network(); err == nil {
		return listenNet(s, a)
	}
	return &idleListener{addr: a, done: make(chan struct{})}, nil
}

// Entropy implements platform.Platform: a DRBG seeded from the board's
// hardware source (rng.go), or, without one, a reader that fails with
// platform.ErrNoEntropy, so that the root task refuses tickets.
func (Platform) Entropy() io.Reader {
	d, err := entropy()
	if err != nil {
		return platform.NoEntropy{Why: err}
	}
	return d
}

// Storage implements platform.Platform: the state directory's spools are
// in memory only; /proc/spool's block device is the first virtio-blk disk
// (blk.go), or memory without one (or when the disk is refused: read-only,
// or writes that cannot be made durable), and the boot's spool event line
// says which.
func (Platform) Storage(dir string) (platform.Storage, error) {
	if dir != "" {
		return platform.Storage{}, platform.ErrNoStorage
	}
	if board, _, errno := syscall.RawSyscall(sysPlatformInfo, 0, 0, 0); errno == 0 && board == platBCM2711 {
		// The virtio window is QEMU's; the Pi's SD card has no driver yet.
		return platform.Storage{BlockShown: "memory (no block driver on bcm2711)"}, nil
	}
	d, err := probeVirtioBlk(generated.PersistenceBlockBytes)
	switch {
	case err == nil:
		return platform.Storage{Block: d, BlockShown: fmt.Sprintf("virtio-blk blocks=%d block_bytes=%d %s", d.Blocks(), d.BlockSize(), d.Mode())}, nil
	case errors.Is(err, errNoVirtioBlk):
		return platform.Storage{BlockShown: "memory"}, nil
	case errors.Is(err, errRefused):
		return platform.Storage{BlockShown: fmt.Sprintf("memory (virtio-blk %v)", err)}, nil
	default:
		return platform.Storage{BlockShown: fmt.Sprintf("memory (virtio-blk: %v)", err)}, nil
	}
}

// idleListener is a listener with no network beneath it.
type idleListener struct {
	addr *net.TCPAddr
	once sync.Once
	done chan struct{}
}

func (l *idleListener) Accept() (net.Conn, error) {
	<-l.done
	return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.addr, Err: net.ErrClosed}
}

func (l *idleListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *idleListener) Addr() net.Addr { return l.addr }
