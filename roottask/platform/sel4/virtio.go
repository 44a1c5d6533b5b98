package sel4

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Private syscalls for device access (sel4/include/cohesix_sel4_abi.h).
const (
	sysMapDevice = 0x4300 // (paddr, len) -> vaddr, uncached
	sysDMAAlloc  = 0x4301 // (len, *paddr) -> vaddr, physically contiguous, zeroed
	sysWaitIRQ   = 0x4302 // (irq, timeout ns or 0) -> 0 once irq fired; ENOSYS: interrupts off
)

// waitIRQ blocks the calling thread until irq fires (since the previous
// wait) or timeout passes (0: none); the shim acknowledges the IRQ at the
// next wait, so a driver clears the device's cause before waiting again.
// A Syscall, not a RawSyscall: the runtime hands the P to other goroutines
// while this thread sleeps in the shim.
func waitIRQ(irq uint32, timeout time.Duration) error {
	_, _, errno := syscall.Syscall(sysWaitIRQ, uintptr(irq), uintptr(timeout), 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// irqUsable reports whether the shim serves waits for irq (interrupt mode
// and a cap for it): a wait of 1 ns either sees the IRQ or times out.
func irqUsable(irq uint32) bool {
	err := waitIRQ(irq, time.Nanosecond)
	return err == nil || err == syscall.ETIMEDOUT
}

// mapDevice maps device memory through the shim.
func mapDevice(paddr, n uintptr) (uintptr, error) {
	va, _, errno := syscall.RawSyscall(sysMapDevice, paddr, n, 0)
	if errno != 0 {
		return 0, fmt.Errorf("map device %#x: %w", paddr, errno)
	}
	return va, nil
}

// dmaAlloc returns n bytes of zeroed memory the device can reach at pa.
func dmaAlloc(n uintptr) (va, pa uintptr, err error) {
	v, _, errno := syscall.RawSyscall(sysDMAAlloc, n, uintptr(unsafe.Pointer(&pa)), 0)
	if errno != 0 {
		return 0, 0, fmt.Errorf("dma alloc %d: %w", n, errno)
	}
	return v, pa, nil
}

// ptr turns an address the shim returned into a pointer without a
// uintptr-to-Pointer conversion vet would flag (the memory is not Go's).
func ptr(a uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&a)) }

func bytesAt(a uintptr, n int) []byte { return unsafe.Slice((*byte)(ptr(a)), n) }

// QEMU virt: 32 virtio-mmio transports of 0x200 bytes from 0x0a000000;
// transport i raises GIC SPI 16+i, interrupt ID 48+i.
const (
	virtioMMIOBase  = 0x0a000000
	virtioMMIOSlots = 32
	virtioMMIOSize  = 0x200
	virtioIRQBase   = 48
)

// virtio-mmio (version 2) registers.
const (
	regMagic         = 0x000
	regVersion       = 0x004
	regDeviceID      = 0x008
	regDevFeatures   = 0x010
	regDevFeatSel    = 0x014
	regDrvFeatures   = 0x020
	regDrvFeatSel    = 0x024
	regQueueSel      = 0x030
	regQueueNumMax   = 0x034
	regQueueNum      = 0x038
	regQueueReady    = 0x044
	regQueueNotify   = 0x050
	regIntStatus     = 0x060
	regIntAck        = 0x064
	regStatus        = 0x070
	regQueueDescLo   = 0x080
	regQueueDescHi   = 0x084
	regQueueDriverLo = 0x090
	regQueueDriverHi = 0x094
	regQueueDeviceLo = 0x0a0
	regQueueDeviceHi = 0x0a4
	regConfig        = 0x100

	statusAck        = 1
	statusDriver     = 2
	statusDriverOK   = 4
	statusFeaturesOK = 8

	featNetMAC   = 1 << 5
	featVersion1 = 1 << 32

	descFlagNext  = 1
	descFlagWrite = 2
	// availNoInterrupt asks the device not to interrupt for this queue's
	// used buffers (transmit completions are reclaimed on the next send).
	availNoInterrupt = 1

	netHdrLen = 12 // virtio_net_hdr with num_buffers (VERSION_1)
	queueSize = 64
	bufSize   = 2048
	// ringPage separates the descriptor table, available ring and used ring
	// of one queue: each gets its own 4 KiB page of the DMA block.
	ringPage   = 0x1000
	maxFrame   = 1514
	rxQueue    = 0
	txQueue    = 1
	deviceNet  = 1
	mmioMagic  = 0x74726976 // "virt"
	mmioModern = 2
)

type mmio uintptr

func (m mmio) r(off uintptr) uint32    { return atomic.LoadUint32((*uint32)(ptr(uintptr(m) + off))) }
func (m mmio) w(off uintptr, v uint32) { atomic.StoreUint32((*uint32)(ptr(uintptr(m)+off)), v) }

// irq is the interrupt ID of the transport at m (its slot in the window).
func (m mmio) irq() uint32 {
	base, _ := virtioWindow() // m is in the window: it is mapped
	return virtioIRQBase + uint32((uintptr(m)-base)/virtioMMIOSize)
}

// ackInterrupt clears the transport's interrupt cause (deasserting its
// line) and reports whether there was one.
func (m mmio) ackInterrupt() bool {
	st := m.r(regIntStatus)
	if st != 0 {
		m.w(regIntAck, st)
	}
	return st != 0
}

// virtq is one split virtqueue in DMA memory with its buffers.
type virtq struct {
	num                int
	desc, avail, used  uintptr // virtual addresses
	bufVA, bufPA       uintptr // num buffers of bufSize
	lastUsed, availIdx uint16
	availFlags         uint16   // availNoInterrupt or 0
	free               []uint16 // tx: free descriptors
}

func (q *virtq) setDesc(i int, addr uint64, n uint32, flags uint16) {
	d := q.desc + uintptr(i)*16
	*(*uint64)(ptr(d)) = addr
	*(*uint32)(ptr(d + 8)) = n
	*(*uint16)(ptr(d + 12)) = flags
	*(*uint16)(ptr(d + 14)) = 0
}

// setNext chains descriptor i to next (setDesc clears the link).
func (q *virtq) setNext(i int, next uint16) { *(*uint16)(ptr(q.desc + uintptr(i)*16 + 14)) = next }

// push makes descriptor i available to the device.
func (q *virtq) push(i uint16) {
	ring := q.avail + 4 + uintptr(q.availIdx%uint16(q.num))*2
	*(*uint16)(ptr(ring)) = i
	q.availIdx++
	atomic.StoreUint32((*uint32)(ptr(q.avail)), uint32(q.availIdx)<<16|uint32(q.availFlags)) // flags, idx
}

// pop returns the next used descriptor and its length.
func (q *virtq) pop() (id uint16, n uint32, ok bool) {
	idx := uint16(atomic.LoadUint32((*uint32)(ptr(q.used))) >> 16)
	if idx == q.lastUsed {
		return 0, 0, false
	}
	e := q.used + 4 + uintptr(q.lastUsed%uint16(q.num))*8
	q.lastUsed++
	return uint16(*(*uint32)(ptr(e))), *(*uint32)(ptr(e + 4)), true
}

// virtioNet is a virtio-net device on virtio-mmio; its receive loop waits
// for the transport's IRQ when the shim serves it, else polls.
type virtioNet struct {
	regs   mmio
	mac    [6]byte
	rx, tx *virtq
	txMu   sync.Mutex
}

var errNoVirtioNet = errors.New("no virtio-net device")

// virtioWindow maps the transports' window once.
var virtioWindow = sync.OnceValues(func() (uintptr, error) {
	return mapDevice(virtioMMIOBase, virtioMMIOSlots*virtioMMIOSize)
})

// findVirtio returns the first virtio-mmio transport of device type id.
// The transports' window is mapped once and shared by every driver: the
// shim walks device memory forwards only, so a second map of it fails.
func findVirtio(id uint32, missing error) (mmio, error) {
	windowBase, err := virtioWindow()
	if err != nil {
		return 0, err
	}
	for i := 0; i < virtioMMIOSlots; i++ {
		m := mmio(windowBase + uintptr(i)*virtioMMIOSize)
		if m.r(regMagic) != mmioMagic || m.r(regDeviceID) != id {
			continue
		}
		if v := m.r(regVersion); v != mmioModern {
			return 0, fmt.Errorf("virtio-mmio version %d (run QEMU with -global virtio-mmio.force-legacy=false)", v)
		}
		return m, nil
	}
	return 0, missing
}

// probeVirtioNet finds and starts the first virtio-net transport.
func probeVirtioNet() (*virtioNet, error) {
	m, err := findVirtio(deviceNet, errNoVirtioNet)
	if err != nil {
		return nil, err
	}
	return startVirtioNet(m)
}

// negotiate resets the transport and accepts VERSION_1 plus whatever of
// extra the device offers; it returns the accepted features.
func negotiate(m mmio, name string, extra uint64) (uint64, error) {
	m.w(regStatus, 0)
	m.w(regStatus, statusAck)
	m.w(regStatus, statusAck|statusDriver)
	m.w(regDevFeatSel, 0)
	lo := uint64(m.r(regDevFeatures))
	m.w(regDevFeatSel, 1)
	feats := lo | uint64(m.r(regDevFeatures))<<32
	if feats&featVersion1 == 0 {
		return 0, errors.New(name + " without VERSION_1")
	}
	want := feats & (extra | featVersion1)
	m.w(regDrvFeatSel, 0)
	m.w(regDrvFeatures, uint32(want))
	m.w(regDrvFeatSel, 1)
	m.w(regDrvFeatures, uint32(want>>32))
	m.w(regStatus, statusAck|statusDriver|statusFeaturesOK)
	if m.r(regStatus)&statusFeaturesOK == 0 {
		return 0, errors.New(name + " refused the features")
	}
	return want, nil
}

func startVirtioNet(m mmio) (*virtioNet, error) {
	want, err := negotiate(m, "virtio-net", featNetMAC)
	if err != nil {
		return nil, err
	}
	n := &virtioNet{regs: m}
	if want&featNetMAC != 0 {
		for i := range n.mac {
			n.mac[i] = byte(m.r(regConfig+uintptr(i)&^3) >> (8 * (uintptr(i) & 3)))
		}
	} else {
		n.mac = [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	}
	if n.rx, err = setupQueue(m, rxQueue, bufSize); err != nil {
		return nil, err
	}
	if n.tx, err = setupQueue(m, txQueue, bufSize); err != nil {
		return nil, err
	}
	for i := 0; i < n.rx.num; i++ {
		n.rx.setDesc(i, uint64(n.rx.bufPA)+uint64(i*bufSize), bufSize, descFlagWrite)
		n.rx.push(uint16(i))
	}
	for i := 0; i < n.tx.num; i++ {
		n.tx.free = append(n.tx.free, uint16(i))
	}
	n.tx.availFlags = availNoInterrupt
	m.w(regStatus, statusAck|statusDriver|statusFeaturesOK|statusDriverOK)
	m.w(regQueueNotify, rxQueue)
	return n, nil
}

// setupQueue sets up queue sel of m with up to queueSize buffers of
// bufLen bytes each.
func setupQueue(m mmio, sel uint32, bufLen int) (*virtq, error) {
	m.w(regQueueSel, sel)
	max := int(m.r(regQueueNumMax))
	if max == 0 {
		return nil, fmt.Errorf("virtio queue %d missing", sel)
	}
	q := &virtq{num: min(max, queueSize)}
	// desc 16*num, avail 6+2*num, used 6+8*num: one 4 KiB page each.
	va, pa, err := dmaAlloc(3 * 4096)
	if err != nil {
		return nil, err
	}
	q.desc, q.avail, q.used = va, va+ringPage, va+2*ringPage
	q.bufVA, q.bufPA, err = dmaAlloc(uintptr(q.num * bufLen))
	if err != nil {
		return nil, err
	}
	m.w(regQueueNum, uint32(q.num))
	for _, r := range []struct {
		lo uintptr
		a  uintptr
	}{{regQueueDescLo, pa}, {regQueueDriverLo, pa + ringPage}, {regQueueDeviceLo, pa + 2*ringPage}} {
		m.w(r.lo, uint32(r.a))
		m.w(r.lo+4, uint32(uint64(r.a)>>32))
	}
	m.w(regQueueReady, 1)
	return q, nil
}

// receive hands each received Ethernet frame to deliver and re-posts its
// buffer; it reports whether anything arrived.
func (n *virtioNet) receive(deliver func([]byte)) bool {
	// Acknowledge before draining: a frame that lands after the last pop
	// raises the interrupt again instead of waiting for the next one.
	n.regs.ackInterrupt()
	got := false
	for {
		id, l, ok := n.rx.pop()
		if !ok {
			break
		}
		got = true
		if l > netHdrLen && l <= bufSize {
			frame := make([]byte, l-netHdrLen)
			copy(frame, bytesAt(n.rx.bufVA+uintptr(id)*bufSize+netHdrLen, int(l-netHdrLen)))
			deliver(frame)
		}
		n.rx.push(id)
	}
	if got {
		n.regs.w(regQueueNotify, rxQueue)
	}
	return got
}

// transmit queues one Ethernet frame (given as slices); false when the
// ring is full after reclaiming.
func (n *virtioNet) transmit(parts [][]byte) bool {
	n.txMu.Lock()
	defer n.txMu.Unlock()
	for {
		id, _, ok := n.tx.pop()
		if !ok {
			break
		}
		n.tx.free = append(n.tx.free, id)
	}
	if len(n.tx.free) == 0 {
		return false
	}
	id := n.tx.free[len(n.tx.free)-1]
	n.tx.free = n.tx.free[:len(n.tx.free)-1]
	buf := bytesAt(n.tx.bufVA+uintptr(id)*bufSize, bufSize)
	clear(buf[:netHdrLen])
	off := netHdrLen
	for _, p := range parts {
		off += copy(buf[off:], p)
	}
	n.tx.setDesc(int(id), uint64(n.tx.bufPA)+uint64(id)*bufSize, uint32(off), 0)
	n.tx.push(id)
	n.regs.w(regQueueNotify, txQueue)
	return true
}
