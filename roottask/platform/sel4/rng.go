package sel4

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/cohesix/cohesix/roottask/platform"
)

// Private syscall: which board the shim was built for (sel4/include/cohesix_sel4_abi.h).
const (
	sysPlatformInfo = 0x4304 // () -> 0 qemu-arm-virt, 1 bcm2711
	platBCM2711     = 1
)

// deviceRNG is virtio's entropy device; its one queue is requestq (0).
const (
	deviceRNG   = 4
	rngQueue    = 0
	rngChunk    = 64   // bytes asked of the device per request
	rngPolls    = 2000 // 1 ms polls before a request counts as lost (about 2 s)
	rngPollWait = time.Millisecond
	rngTimeout  = rngPolls * rngPollWait // the same bound when the answer is waited for by IRQ
)

var errNoVirtioRNG = errors.New("no virtio-rng device (QEMU: -device virtio-rng-device)")

// virtioRNG is a virtio-rng device on virtio-mmio: one device-writable
// buffer per request, its answer waited for on the transport's IRQ when the
// shim serves it (DECISIONS P86), else polled.
type virtioRNG struct {
	mu     sync.Mutex
	regs   mmio
	q      *virtq
	useIRQ bool
}

// waitMode names how answers are waited for (the entropy event line).
func (r *virtioRNG) waitMode() string {
	if r.useIRQ {
		return fmt.Sprintf("irq %d", r.regs.irq())
	}
	return "polled"
}

// Name implements platform.EntropySource.
func (*virtioRNG) Name() string { return "virtio-rng" }

// probeVirtioRNG finds and starts the first virtio-rng transport.
func probeVirtioRNG() (*virtioRNG, error) {
	m, err := findVirtio(deviceRNG, errNoVirtioRNG)
	if err != nil {
		return nil, err
	}
	if _, err := negotiate(m, "virtio-rng", 0); err != nil {
		return nil, err
	}
	q, err := setupQueue(m, rngQueue, rngChunk)
	if err != nil {
		return nil, err
	}
	m.w(regStatus, statusAck|statusDriver|statusFeaturesOK|statusDriverOK)
	return &virtioRNG{regs: m, q: q, useIRQ: irqUsable(m.irq())}, nil
}

// Read implements platform.EntropySource: it fills p from the device, one
// request of at most rngChunk bytes at a time.
func (r *virtioRNG) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	done := 0
	for done < len(p) {
		n, err := r.request(min(len(p)-done, rngChunk))
		if err != nil {
			return done, err
		}
		done += copy(p[done:], bytesAt(r.q.bufVA, n))
	}
	return done, nil
}

// request asks the device for want bytes in descriptor 0's buffer and
// waits for its answer; it returns how many bytes the device wrote.
func (r *virtioRNG) request(want int) (int, error) {
	r.q.setDesc(0, uint64(r.q.bufPA), uint32(want), descFlagWrite)
	r.q.push(0)
	r.regs.w(regQueueNotify, rngQueue)
	deadline := time.Now().Add(rngTimeout)
	for {
		// Acknowledge before looking: an answer after the look raises the IRQ again.
		r.regs.ackInterrupt()
		if _, n, ok := r.q.pop(); ok {
			if n == 0 || int(n) > want {
				return 0, fmt.Errorf("virtio-rng answered %d bytes for %d", n, want)
			}
			return int(n), nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return 0, errors.New("virtio-rng did not answer")
		}
		if !r.useIRQ {
			time.Sleep(rngPollWait)
		} else if err := waitIRQ(r.regs.irq(), left); err != nil && err != syscall.ETIMEDOUT {
			r.useIRQ = false // the shim stopped serving it: poll from now on
		}
	}
}

// bcm2711 RNG200 (iProc RNG200), at the Pi 4's low-peripheral address
// 0xfe104000 (bus 0x7e104000, DT "brcm,bcm2711-rng200"). Registers and
// the start sequence as public drivers of the block describe them; it has
// not been run on a board here (docs/PI4.md).
const (
	rng200Paddr           = 0xfe104000
	rng200Size            = 0x28
	rng200Ctrl            = 0x00 // bits 0..12 RBG enable (1 = on), 13.. sample-rate divisor
	rng200TotalBits       = 0x0c // bits produced since enable
	rng200TotalBitsThresh = 0x10 // bits to produce before the FIFO fills
	rng200FIFOData        = 0x20 // one 32-bit word per read
	rng200FIFOCount       = 0x24 // bits 0..7 words available, 8.. FIFO threshold
	rng200EnableMask      = 0x1fff
	rng200Enable          = 1
	rng200DivShift        = 13
	rng200Div             = 3       // the divisor the Pi firmware and Linux program
	rng200WarmBits        = 0x40000 // threshold the Pi's drivers program
	rng200FIFOThresh      = 2
	rng200WarmupBits      = 16     // the first words are discarded until this many bits were made
	rng200Polls           = 100000 // limit-literal-ok: spins before the block counts as dead
)

// rng200 is the Pi 4's hardware RNG.
type rng200 struct {
	mu   sync.Mutex
	regs mmio
}

// Name implements platform.EntropySource.
func (*rng200) Name() string { return "bcm2711-rng200" }

// probeRNG200 maps and starts the RNG200.
func probeRNG200() (*rng200, error) {
	base, err := mapDevice(rng200Paddr, rng200Size)
	if err != nil {
		return nil, err
	}
	m := mmio(base)
	if m.r(rng200Ctrl)&rng200EnableMask == 0 {
		m.w(rng200TotalBitsThresh, rng200WarmBits)
		m.w(rng200FIFOCount, rng200FIFOThresh<<8)
		m.w(rng200Ctrl, rng200Div<<rng200DivShift|rng200Enable)
	}
	for i := 0; m.r(rng200TotalBits) < rng200WarmupBits; i++ {
		if i == rng200Polls {
			return nil, errors.New("bcm2711-rng200 produced no bits")
		}
	}
	return &rng200{regs: m}, nil
}

// Read implements platform.EntropySource: whole FIFO words.
func (r *rng200) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	done := 0
	for done < len(p) {
		avail := 0
		for i := 0; avail == 0; i++ {
			if i == rng200Polls {
				return done, errors.New("bcm2711-rng200 FIFO stayed empty")
			}
			avail = int(r.regs.r(rng200FIFOCount) & 0xff)
		}
		for ; avail > 0 && done < len(p); avail-- {
			w := r.regs.r(rng200FIFOData)
			done += copy(p[done:], []byte{byte(w), byte(w >> 8), byte(w >> 16), byte(w >> 24)})
		}
	}
	return done, nil
}

// entropy seeds the DRBG once from the board's source: virtio-rng on
// QEMU virt, the RNG200 on the Pi 4. Without one, every read fails with
// platform.ErrNoEntropy: the shim's getrandom is not a fallback.
var entropy = sync.OnceValues(func() (*platform.DRBG, error) {
	var src platform.EntropySource
	var err error
	if board, _, errno := syscall.RawSyscall(sysPlatformInfo, 0, 0, 0); errno == 0 && board == platBCM2711 {
		src, err = probeRNG200()
	} else {
		src, err = probeVirtioRNG()
	}
	var drbg *platform.DRBG
	if err == nil {
		drbg, err = platform.NewDRBG(src)
	}
	if err != nil {
		fmt.Fprintf(Log, "[event] sel4 entropy: none (%v)\n", err)
		return nil, fmt.Errorf("%w: %v", platform.ErrNoEntropy, err)
	}
	mode := ""
	if w, ok := src.(interface{ waitMode() string }); ok {
		mode = " wait=" + w.waitMode()
	}
	fmt.Fprintf(Log, "[event] sel4 entropy: %s seeds an AES-256-CTR DRBG%s\n", src.Name(), mode) // limit-literal-ok: the cipher's name
	return drbg, nil
})
