package secure9p

import (
	"encoding/binary"

	"github.com/hugelgupf/p9/linux"
)

// 9P2000.L message types the policy layer looks at (Linux
// include/net/9p/9p.h numbering).
const (
	tRlerror     = 7
	tTstatfs     = 8
	tTlopen      = 12
	tTlcreate    = 14
	tTsymlink    = 16
	tTmknod      = 18
	tTrename     = 20
	tTreadlink   = 22
	tTgetattr    = 24
	tTsetattr    = 26
	tTxattrwalk  = 30
	tTxattrcreat = 32
	tTreaddir    = 40
	tTfsync      = 50
	tTlock       = 52
	tTgetlock    = 54
	tTlink       = 70
	tTmkdir      = 72
	tTrenameat   = 74
	tTunlinkat   = 76
	tTversion    = 100
	tRversion    = 101
	tTauth       = 102
	tTattach     = 104
	tRattach     = 105
	tTflush      = 108
	tTwalk       = 110
	tRwalk       = 111
	tTread       = 116
	tTwrite      = 118
	tTclunk      = 120
	tRclunk      = 121
	tTremove     = 122
	tRremove     = 123
)

const (
	headerLen = 7          // size:u32 type:u8 tag:u16
	noTag     = 0xFFFF     // the tag of Tversion
	noFid     = 0xFFFFFFFF // "no fid" (afid of an unauthenticated attach)
	// ioHeader is the Rread/Rreaddir overhead: header plus count:u32.
	ioHeader = headerLen + 4
	// rlerrorLen is the size of an Rlerror frame.
	rlerrorLen = headerLen + 4
)

var le = binary.LittleEndian

// rlerror encodes an Rlerror frame for tag.
func rlerror(tag uint16, e linux.Errno) []byte {
	b := make([]byte, rlerrorLen)
	le.PutUint32(b, rlerrorLen)
	b[4] = tRlerror
	le.PutUint16(b[5:], tag)
	le.PutUint32(b[7:], uint32(e))
	return b
}

// reader decodes a message body; a short body sets bad instead of
// panicking, like p9's buffer.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) take(n int) []byte {
	if r.bad || n > len(r.b) {
		r.bad = true
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u16() uint16 {
	if v := r.take(2); v != nil {
		return le.Uint16(v)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if v := r.take(4); v != nil {
		return le.Uint32(v)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if v := r.take(8); v != nil {
		return le.Uint64(v)
	}
	return 0
}

func (r *reader) str() string {
	n := r.u16()
	if v := r.take(int(n)); v != nil {
		return string(v)
	}
	return ""
}

// writer encodes a frame; finish fills in the size.
type writer struct{ b []byte }

func newFrame(typ byte, tag uint16) *writer {
	w := &writer{b: make([]byte, headerLen, 64)}
	w.b[4] = typ
	le.PutUint16(w.b[5:], tag)
	return w
}

func (w *writer) u32(v uint32) { w.b = le.AppendUint32(w.b, v) }
func (w *writer) str(s string) {
	w.b = le.AppendUint16(w.b, uint16(len(s)))
	w.b = append(w.b, s...)
}
func (w *writer) finish() []byte {
	le.PutUint32(w.b, uint32(len(w.b)))
	return w.b
}
