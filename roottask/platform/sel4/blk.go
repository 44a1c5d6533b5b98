package sel4

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/cohesix/cohesix/internal/blockdev"
)

// virtio-blk (virtio 1.x §5.2) on virtio-mmio: one request queue, one
// request in flight, each a chain of header, data and status descriptors.
const (
	deviceBlk = 2
	blkQueue  = 0

	blkFeatRO        = 1 << 5  // the device is read-only
	blkFeatFlush     = 1 << 9  // VIRTIO_BLK_T_FLUSH is served
	blkFeatConfigWCE = 1 << 11 // the config's writeback byte says the cache mode

	blkCfgCapacity  = 0  // u64: 512-byte sectors
	blkCfgWriteback = 32 // u8: 0 write-through, 1 write-back (with CONFIG_WCE)

	blkTypeIn    = 0
	blkTypeOut   = 1
	blkTypeFlush = 4

	blkStatusOK    = 0
	blkStatusUnset = 0xff // written before each request: a status the device never wrote is an error
	blkHdrLen      = 16   // type u32, reserved u32, sector u64
	blkSector      = 512  // virtio-blk addresses 512-byte sectors whatever the block size
	blkRunBlocks   = 128  // limit-literal-ok: blocks one ReadBlocks request carries (the DMA bounce buffer)
	blkPollWait    = 100 * time.Microsecond
	blkTimeout     = 5 * time.Second // a request unanswered this long breaks the device
	blkDescHdr     = 0
	blkDescData    = 1
	blkDescStatus  = 2
	blkDescsPerReq = 3
)

var errNoVirtioBlk = errors.New("no virtio-blk device (QEMU: -drive file=IMG,if=none,format=raw,id=hd0 -device virtio-blk-device,drive=hd0)")

// errRefused marks a disk the spool must not use (DECISIONS P97).
var errRefused = errors.New("refused")

// errNotDurable is a device whose writes cannot be made durable: it
// offers no FLUSH and does not say that its cache is write-through.
var errNotDurable = fmt.Errorf("%w: no FLUSH and no write-through cache (CONFIG_WCE): writes cannot be made durable", errRefused)

// virtioBlk is a virtio-blk disk seen as a blockdev.Device of size-byte
// blocks. Its DMA buffer is laid out header | data (blkRunBlocks blocks) |
// status. Requests are serialised; each waits on the transport's IRQ when
// the shim serves it, else polls.
type virtioBlk struct {
	mu        sync.Mutex
	regs      mmio
	q         *virtq
	size      int
	blocks    int64
	flush     bool // T_FLUSH is how Flush makes writes durable
	writeThru bool // no FLUSH, but the device says its cache is write-through
	useIRQ    bool
	broken    error                                   // set by a lost request: the ring state is unknown
	complete  func() (id uint16, n uint32, err error) // notify and wait for the used entry; replaced in tests
}

var _ blockdev.Device = (*virtioBlk)(nil)
var _ blockdev.Ranger = (*virtioBlk)(nil)

// blkBufLen is the DMA buffer of one request: header, data run, status.
func blkBufLen(size int) int { return blkHdrLen + blkRunBlocks*size + 1 }

// probeVirtioBlk finds and starts the first virtio-blk transport as a
// device of size-byte blocks (a multiple of the 512-byte sector). A
// read-only disk, or one whose writes cannot be made durable, is refused.
func probeVirtioBlk(size int) (*virtioBlk, error) {
	if size <= 0 || size%blkSector != 0 {
		return nil, fmt.Errorf("virtio-blk: block size %d is not a multiple of %d", size, blkSector)
	}
	m, err := findVirtio(deviceBlk, errNoVirtioBlk)
	if err != nil {
		return nil, err
	}
	feats, err := negotiate(m, "virtio-blk", blkFeatRO|blkFeatFlush|blkFeatConfigWCE)
	if err != nil {
		return nil, err
	}
	d := &virtioBlk{regs: m, size: size}
	d.blocks = int64(uint64(m.r(regConfig+blkCfgCapacity))|uint64(m.r(regConfig+blkCfgCapacity+4))<<32) * blkSector / int64(size)
	switch {
	case feats&blkFeatRO != 0:
		return nil, fmt.Errorf("%w: read-only", errRefused)
	case feats&blkFeatFlush != 0:
		d.flush = true
	case feats&blkFeatConfigWCE != 0 && m.r(regConfig+blkCfgWriteback)&0xff == 0:
		// The spec: CONFIG_WCE without FLUSH means a write-through cache,
		// and writeback=0 says so.
		d.writeThru = true
	default:
		return nil, errNotDurable
	}
	if d.blocks <= 0 {
		return nil, fmt.Errorf("%w: no whole block of %d bytes", errRefused, size)
	}
	if d.q, err = setupQueue(m, blkQueue, blkBufLen(size)); err != nil {
		return nil, err
	}
	if d.q.num < blkDescsPerReq {
		return nil, fmt.Errorf("virtio-blk queue of %d descriptors", d.q.num)
	}
	m.w(regStatus, statusAck|statusDriver|statusFeaturesOK|statusDriverOK)
	d.useIRQ = irqUsable(m.irq())
	d.complete = d.waitUsed
	return d, nil
}

// Mode names the durability and wait mode (the spool event line).
func (d *virtioBlk) Mode() string {
	w := "flush"
	if d.writeThru {
		w = "write-through"
	}
	if d.useIRQ {
		return fmt.Sprintf("%s irq=%d", w, d.regs.irq())
	}
	return w + " polled"
}

func (d *virtioBlk) BlockSize() int { return d.size }
func (d *virtioBlk) Blocks() int64  { return d.blocks }

// ReadBlock implements blockdev.Device.
func (d *virtioBlk) ReadBlock(n int64, p []byte) error {
	if n < 0 || n >= d.blocks || len(p) != d.size {
		return fmt.Errorf("%w: block %d of %d, buffer %d of %d", blockdev.ErrRange, n, d.blocks, len(p), d.size)
	}
	return d.ReadBlocks(n, p)
}

// ReadBlocks implements blockdev.Ranger: whole blocks from n on, up to
// blkRunBlocks per request.
func (d *virtioBlk) ReadBlocks(n int64, p []byte) error {
	if n < 0 || len(p)%d.size != 0 || n+int64(len(p)/d.size) > d.blocks {
		return fmt.Errorf("%w: blocks [%d,+%d bytes) of %d", blockdev.ErrRange, n, len(p), d.blocks)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for len(p) > 0 {
		c := min(len(p), blkRunBlocks*d.size)
		if err := d.request(blkTypeIn, n, p[:c]); err != nil {
			return err
		}
		p, n = p[c:], n+int64(c/d.size)
	}
	return nil
}

// WriteBlock implements blockdev.Device.
func (d *virtioBlk) WriteBlock(n int64, p []byte) error {
	if n < 0 || n >= d.blocks || len(p) != d.size {
		return fmt.Errorf("%w: block %d of %d, buffer %d of %d", blockdev.ErrRange, n, d.blocks, len(p), d.size)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.request(blkTypeOut, n, p)
}

// Flush implements blockdev.Device: T_FLUSH, which returns once every
// completed write is on stable storage; nothing on a write-through device
// (every completed write already is).
func (d *virtioBlk) Flush() error {
	if d.writeThru {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.request(blkTypeFlush, 0, nil)
}

func (d *virtioBlk) Close() error { return nil }

// request runs one request: blocks from block n into or out of p (none
// for a flush), and checks the device's status byte.
func (d *virtioBlk) request(typ uint32, n int64, p []byte) error {
	if d.broken != nil {
		return d.broken
	}
	q := d.q
	hdr := bytesAt(q.bufVA, blkHdrLen)
	binary.LittleEndian.PutUint32(hdr[0:], typ)
	binary.LittleEndian.PutUint32(hdr[4:], 0)
	binary.LittleEndian.PutUint64(hdr[8:], uint64(n)*uint64(d.size/blkSector))
	dataOff := uintptr(blkHdrLen)
	statusOff := dataOff + uintptr(blkRunBlocks*d.size)
	*(*byte)(ptr(q.bufVA + statusOff)) = blkStatusUnset
	// header -> data (if any) -> status; the status is always descriptor 2.
	q.setDesc(blkDescHdr, uint64(q.bufPA), blkHdrLen, descFlagNext)
	q.setNext(blkDescHdr, blkDescStatus)
	if len(p) > 0 {
		flags := uint16(descFlagNext)
		if typ == blkTypeIn {
			flags |= descFlagWrite
		} else {
			copy(bytesAt(q.bufVA+dataOff, len(p)), p)
		}
		q.setDesc(blkDescData, uint64(q.bufPA+dataOff), uint32(len(p)), flags)
		q.setNext(blkDescData, blkDescStatus)
		q.setNext(blkDescHdr, blkDescData)
	}
	q.setDesc(blkDescStatus, uint64(q.bufPA+statusOff), 1, descFlagWrite)
	q.push(blkDescHdr)
	id, used, err := d.complete()
	if err != nil {
		d.broken = fmt.Errorf("virtio-blk broken: %w", err)
		return d.broken
	}
	if id != blkDescHdr {
		d.broken = fmt.Errorf("virtio-blk broken: used descriptor %d, submitted %d", id, blkDescHdr)
		return d.broken
	}
	st := *(*byte)(ptr(q.bufVA + statusOff))
	if st != blkStatusOK {
		return fmt.Errorf("virtio-blk %s block %d: device status %d", blkTypeName(typ), n, st)
	}
	if typ == blkTypeIn {
		if int(used) < len(p)+1 {
			return fmt.Errorf("virtio-blk read block %d: device wrote %d bytes of %d", n, used, len(p)+1)
		}
		copy(p, bytesAt(q.bufVA+dataOff, len(p)))
	}
	return nil
}

func blkTypeName(typ uint32) string {
	switch typ {
	case blkTypeIn:
		return "read"
	case blkTypeOut:
		return "write"
	default:
		return "flush"
	}
}

// waitUsed notifies the device and waits for the request's used entry,
// on the IRQ or by polling, up to blkTimeout.
func (d *virtioBlk) waitUsed() (uint16, uint32, error) {
	d.regs.w(regQueueNotify, blkQueue)
	deadline := time.Now().Add(blkTimeout)
	for {
		// Acknowledge before looking: a completion after the look raises the IRQ again.
		d.regs.ackInterrupt()
		if id, n, ok := d.q.pop(); ok {
			return id, n, nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return 0, 0, errors.New("request not answered")
		}
		if !d.useIRQ {
			time.Sleep(blkPollWait)
		} else if err := waitIRQ(d.regs.irq(), left); err != nil && err != syscall.ETIMEDOUT {
			d.useIRQ = false // the shim stopped serving it: poll from now on
		}
	}
}
