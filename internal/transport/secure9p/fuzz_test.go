package secure9p

import (
	"testing"
)

// FuzzPolicy feeds arbitrary bytes, split into frames by their size
// fields, through Policy.Inbound after a Tversion. It must never panic;
// every reply is one Rlerror; every forwarded frame is well formed (its
// size field is its length, within the negotiated msize, a T-message of
// the allowed set) and carries the request's tag.
func FuzzPolicy(f *testing.F) {
	for _, seed := range [][]byte{
		frame(tTattach, 1, uint32(1), uint32(noFid), "queen", "cohesix-ticket-00.00", uint32(0)),
		frame(tTwalk, 2, uint32(1), uint32(2), uint16(2), "proc", "boot"),
		frame(tTwalk, 2, uint32(1), uint32(2), uint16(1), ".."),
		frame(tTread, 3, uint32(2), uint64(0), uint32(1<<20)),
		frame(tTclunk, 4, uint32(2)),
		frame(tTremove, 5, uint32(2)),
		frame(tTsetattr, 6, uint32(2), uint32(8), make([]byte, 52)),
		frame(tTxattrwalk, 7, uint32(1), uint32(9), "security.capability"),
		frame(tTversion, noTag, uint32(65536), "9P2000.L.Google.7"),
		{0xff, 0xff, 0xff, 0xff, tTwrite, 0, 0},
	} {
		f.Add(seed)
	}
	allowed := map[byte]bool{tTversion: true, tTattach: true, tTflush: true, tTwalk: true, tTclunk: true,
		tTsetattr: true, tTread: true, tTreaddir: true, tTlopen: true, tTgetattr: true, tTstatfs: true,
		tTfsync: true, tTreadlink: true, tTwrite: true}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := versioned(t, testLimits())
		p.Authorize = func(uname, aname string) error { return nil }
		for len(data) >= 4 {
			size := int(le.Uint32(data))
			if size < 4 || size > len(data) {
				size = len(data)
			}
			in := append([]byte(nil), data[:size]...)
			data = data[size:]
			tag := uint16(0)
			if len(in) >= headerLen {
				tag = le.Uint16(in[5:])
			}
			fwd, reply, err := p.Inbound(in)
			switch {
			case err != nil:
				if fwd != nil || reply != nil {
					t.Fatalf("Inbound(%x): error with output", in)
				}
				return
			case reply != nil:
				if fwd != nil || len(reply) != rlerrorLen || reply[4] != tRlerror || le.Uint16(reply[5:]) != tag {
					t.Fatalf("Inbound(%x): bad reply %x", in, reply)
				}
			case fwd != nil:
				if len(fwd) < headerLen || int(le.Uint32(fwd)) != len(fwd) || uint32(len(fwd)) > p.Msize() {
					t.Fatalf("Inbound(%x): malformed forward %x", in, fwd)
				}
				if !allowed[fwd[4]] || le.Uint16(fwd[5:]) != tag {
					t.Fatalf("Inbound(%x): forwarded type %d tag %d", in, fwd[4], le.Uint16(fwd[5:]))
				}
				if fwd[4] == tTwalk && le.Uint16(fwd[15:]) > uint16(testLimits().WalkDepth) {
					t.Fatalf("Inbound(%x): forwarded a walk deeper than the limit", in)
				}
				// Answer it so the tag window never fills.
				p.Outbound(frame(fwd[4]+1, tag))
			default:
				t.Fatalf("Inbound(%x): neither forward nor reply", in)
			}
		}
	})
}
