package sel4

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"unsafe"

	"github.com/cohesix/cohesix/internal/blockdev"
)

// fakeBlk is a virtio-blk device in Go memory: it serves the driver's
// request chains from the rings (the layout a real device would read) and
// records each chain's descriptors.
type fakeBlk struct {
	t      *testing.T
	mem    []byte // rings and DMA buffer, kept alive by the test
	d      *virtioBlk
	disk   []byte
	status byte // what the device answers; blkStatusUnset: it writes none
	chains [][]fakeDesc
	types  []uint32
}

type fakeDesc struct {
	len   uint32
	flags uint16
	next  uint16
}

func newFakeBlk(t *testing.T, blocks int64) *fakeBlk {
	const num = 8
	size := 512
	f := &fakeBlk{t: t, mem: make([]byte, 3*ringPage+blkBufLen(size)), disk: make([]byte, blocks*int64(size))}
	base := uintptr(unsafe.Pointer(&f.mem[0]))
	q := &virtq{num: num, desc: base, avail: base + ringPage, used: base + 2*ringPage, bufVA: base + 3*ringPage}
	q.bufPA = q.bufVA // the fake device addresses the buffer as the driver does
	f.d = &virtioBlk{q: q, size: size, blocks: blocks, flush: true}
	f.d.complete = f.serve
	return f
}

func (f *fakeBlk) desc(i uint16) (addr uint64, fd fakeDesc) {
	d := f.d.q.desc + uintptr(i)*16
	return *(*uint64)(ptr(d)), fakeDesc{*(*uint32)(ptr(d + 8)), *(*uint16)(ptr(d + 12)), *(*uint16)(ptr(d + 14))}
}

// serve takes the newest available chain, carries it out on disk and
// puts it on the used ring, as a device would, then lets the driver pop it.
func (f *fakeBlk) serve() (uint16, uint32, error) {
	q := f.d.q
	idx := *(*uint16)(ptr(q.avail + 2))
	head := *(*uint16)(ptr(q.avail + 4 + uintptr((idx-1)%uint16(q.num))*2))
	var chain []fakeDesc
	var addrs []uint64
	for i := head; ; {
		a, d := f.desc(i)
		chain, addrs = append(chain, d), append(addrs, a)
		if d.flags&descFlagNext == 0 || len(chain) > blkDescsPerReq {
			break
		}
		i = d.next
	}
	f.chains = append(f.chains, chain)
	hdr := bytesAt(uintptr(addrs[0]), blkHdrLen)
	typ, sector := binary.LittleEndian.Uint32(hdr), binary.LittleEndian.Uint64(hdr[8:])
	f.types = append(f.types, typ)
	written := uint32(1)
	if len(chain) == 3 {
		data := bytesAt(uintptr(addrs[1]), int(chain[1].len))
		off := sector * blkSector
		switch typ {
		case blkTypeIn:
			copy(data, f.disk[off:])
			written += chain[1].len
		case blkTypeOut:
			copy(f.disk[off:], data)
		}
	}
	if f.status != blkStatusUnset {
		*(*byte)(ptr(uintptr(addrs[len(addrs)-1]))) = f.status
	}
	used := q.used + 4 + uintptr((*(*uint16)(ptr(q.used + 2)))%uint16(q.num))*8
	*(*uint32)(ptr(used)) = uint32(head)
	*(*uint32)(ptr(used + 4)) = written
	*(*uint16)(ptr(q.used + 2)) += 1
	id, n, ok := q.pop()
	if !ok {
		f.t.Fatal("used entry not seen by pop")
	}
	return id, n, nil
}

func TestVirtioBlkRequestLayout(t *testing.T) {
	f := newFakeBlk(t, 300)
	d := f.d
	w := bytes.Repeat([]byte{0xa5}, 512)
	if err := d.WriteBlock(3, w); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.disk[3*512:4*512], w) {
		t.Fatal("write did not reach sector 3")
	}
	want := []fakeDesc{{blkHdrLen, descFlagNext, blkDescData}, {512, descFlagNext, blkDescStatus}, {1, descFlagWrite, 0}}
	if got := f.chains[0]; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("write chain %+v, want %+v", got, want)
	}
	r := make([]byte, 512)
	if err := d.ReadBlock(3, r); err != nil || !bytes.Equal(r, w) {
		t.Fatalf("read back %v: % x", err, r[:8])
	}
	if got := f.chains[1][1]; got.flags != descFlagNext|descFlagWrite {
		t.Errorf("read data descriptor flags %d, want device-writable", got.flags)
	}
	if err := d.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := f.chains[2]; len(got) != 2 || got[0].next != blkDescStatus || f.types[2] != blkTypeFlush {
		t.Errorf("flush chain %+v type %d, want header then status, T_FLUSH", got, f.types[2])
	}
	// A run longer than the bounce buffer is split, each part at its own sector.
	for i := range f.disk {
		f.disk[i] = byte(i / 512)
	}
	all := make([]byte, 300*512)
	if err := d.ReadBlocks(0, all); err != nil || !bytes.Equal(all, f.disk) {
		t.Fatalf("ReadBlocks of 300 blocks: %v", err)
	}
	if n := len(f.chains) - 3; n != 3 {
		t.Errorf("300 blocks took %d requests, want 3 of at most %d", n, blkRunBlocks)
	}
}

func TestVirtioBlkErrors(t *testing.T) {
	f := newFakeBlk(t, 8)
	d := f.d
	b := make([]byte, 512)
	for _, c := range []struct {
		n int64
		p []byte
	}{{8, b}, {-1, b}, {0, b[:100]}} {
		if err := d.WriteBlock(c.n, c.p); !errors.Is(err, blockdev.ErrRange) {
			t.Errorf("WriteBlock(%d, %d bytes) = %v, want ErrRange", c.n, len(c.p), err)
		}
		if err := d.ReadBlock(c.n, c.p); !errors.Is(err, blockdev.ErrRange) {
			t.Errorf("ReadBlock(%d, %d bytes) = %v, want ErrRange", c.n, len(c.p), err)
		}
	}
	if err := d.ReadBlocks(7, make([]byte, 1024)); !errors.Is(err, blockdev.ErrRange) {
		t.Errorf("ReadBlocks past the end = %v", err)
	}
	if len(f.chains) != 0 {
		t.Errorf("out-of-range calls reached the device %d times", len(f.chains))
	}
	f.status = 1 // VIRTIO_BLK_S_IOERR
	if err := d.WriteBlock(0, b); err == nil {
		t.Error("IOERR status: write succeeded")
	}
	if err := d.Flush(); err == nil {
		t.Error("IOERR status: flush succeeded")
	}
	f.status = blkStatusUnset // the device never writes the status byte
	if err := d.ReadBlock(0, b); err == nil {
		t.Error("unwritten status: read succeeded")
	}
	f.status = blkStatusOK
	if err := d.WriteBlock(0, b); err != nil {
		t.Fatalf("after errors: %v", err)
	}
	// A request the device never answers breaks the driver for good: the
	// ring's state is unknown.
	d.complete = func() (uint16, uint32, error) { return 0, 0, errors.New("request not answered") }
	if err := d.WriteBlock(1, b); err == nil {
		t.Fatal("lost request: write succeeded")
	}
	d.complete = f.serve
	if err := d.ReadBlock(0, b); err == nil {
		t.Error("after a lost request the driver went on")
	}
}

// A write-through device (no FLUSH, CONFIG_WCE with writeback 0) has
// nothing to flush; Flush sends no request.
func TestVirtioBlkWriteThroughFlush(t *testing.T) {
	f := newFakeBlk(t, 8)
	f.d.flush, f.d.writeThru = false, true
	if err := f.d.Flush(); err != nil || len(f.chains) != 0 {
		t.Errorf("write-through Flush = %v after %d requests", err, len(f.chains))
	}
}
