package secure9p

import (
	"errors"
	"testing"

	"github.com/hugelgupf/p9/linux"

	"github.com/cohesix/cohesix/internal/errs"
)

func testLimits() Limits {
	c := DefaultConfig()
	return Limits{Msize: c.Msize, WalkDepth: c.WalkDepth, ComponentMax: c.ComponentMax, Tags: c.Tags, Fids: c.Fids}
}

// versioned returns a policy past Tversion with the given msize.
func versioned(t testing.TB, lim Limits) *Policy {
	t.Helper()
	p := NewPolicy(lim)
	fwd, reply, err := p.Inbound(frame(tTversion, noTag, lim.Msize, "9P2000.L"))
	if err != nil || reply != nil {
		t.Fatalf("Tversion: reply %v err %v", reply, err)
	}
	p.Outbound(frame(tRversion, noTag, le.Uint32(fwd[7:]), "9P2000.L"))
	return p
}

func replyErrno(t testing.TB, reply []byte) linux.Errno {
	t.Helper()
	if len(reply) != rlerrorLen || reply[4] != tRlerror {
		t.Fatalf("reply %x is not an Rlerror", reply)
	}
	return linux.Errno(le.Uint32(reply[7:]))
}

func TestPolicyTagWindow(t *testing.T) {
	busy := 0
	p := versioned(t, testLimits())
	p.OnBusy = func() { busy++ }
	for tag := uint16(0); tag < 16; tag++ {
		if _, reply, _ := p.Inbound(frame(tTgetattr, tag, uint32(1), uint64(0))); reply != nil {
			t.Fatalf("request %d refused: %v", tag, replyErrno(t, reply))
		}
	}
	_, reply, _ := p.Inbound(frame(tTgetattr, 16, uint32(1), uint64(0)))
	if e := replyErrno(t, reply); e != linux.EBUSY || busy != 1 {
		t.Errorf("17th request in flight: %v, busy %d; want EBUSY, busy 1", e, busy)
	}
	// Answering one frees its tag; a duplicate in-flight tag is invalid.
	p.Outbound(frame(tRlerror+18, 3)) // an Rgetattr header is enough
	_, reply, _ = p.Inbound(frame(tTgetattr, 4, uint32(1), uint64(0)))
	if e := replyErrno(t, reply); e != linux.EINVAL {
		t.Errorf("duplicate tag 4: %v; want EINVAL", e)
	}
	if _, reply, _ := p.Inbound(frame(tTgetattr, 3, uint32(1), uint64(0))); reply != nil {
		t.Errorf("reused answered tag 3: %v; want forwarded", replyErrno(t, reply))
	}
}

func TestPolicyInbound(t *testing.T) {
	lim := testLimits()
	for _, tc := range []struct {
		name string
		in   []byte
		want linux.Errno // 0: forwarded
	}{
		{"getattr", frame(tTgetattr, 1, uint32(1), uint64(0)), 0},
		{"short getattr", frame(tTgetattr, 1, uint16(1)), linux.EINVAL},
		{"walk 8", frame(tTwalk, 1, uint32(1), uint32(2), uint16(8), "a", "b", "c", "d", "e", "f", "g", "h"), 0},
		{"walk 9", frame(tTwalk, 1, uint32(1), uint32(2), uint16(9), "a", "b", "c", "d", "e", "f", "g", "h", "i"), linux.EINVAL},
		{"walk truncated names", frame(tTwalk, 1, uint32(1), uint32(2), uint16(2), "a"), linux.EINVAL},
		{"walk NUL", frame(tTwalk, 1, uint32(1), uint32(2), uint16(1), "a\x00b"), linux.EINVAL},
		{"walk 64-byte name", frame(tTwalk, 1, uint32(1), uint32(2), uint16(1), string(make([]byte, 64, 64))[:0]+"0123456789012345678901234567890123456789012345678901234567890123"), 0},
		{"setattr size", frame(tTsetattr, 1, uint32(1), uint32(0x08)), 0},
		{"setattr size and times", frame(tTsetattr, 1, uint32(1), uint32(0x78)), 0},
		{"setattr times only", frame(tTsetattr, 1, uint32(1), uint32(0x30)), linux.EPERM},
		{"setattr uid", frame(tTsetattr, 1, uint32(1), uint32(0x0a)), linux.EPERM},
		{"setattr set time", frame(tTsetattr, 1, uint32(1), uint32(0x88)), linux.EPERM},
		{"xattrcreate", frame(tTxattrcreat, 1, uint32(1), "user.x", uint64(1), uint32(0)), linux.EOPNOTSUPP},
		{"lock", frame(tTlock, 1, uint32(1)), linux.EOPNOTSUPP},
		{"R-message", frame(tRversion, 1, uint32(1)), linux.EOPNOTSUPP},
		{"version later", frame(tTversion, noTag, uint32(8192), "9P2000.L"), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := versioned(t, lim)
			fwd, reply, err := p.Inbound(tc.in)
			if err != nil {
				t.Fatalf("Inbound: %v", err)
			}
			if tc.want == 0 {
				if reply != nil || fwd == nil {
					t.Errorf("Inbound = reply %v; want forwarded", replyErrno(t, reply))
				}
				return
			}
			if fwd != nil {
				t.Fatalf("Inbound forwarded; want %v", tc.want)
			}
			if e := replyErrno(t, reply); e != tc.want {
				t.Errorf("Inbound = %v; want %v", e, tc.want)
			}
			if tag := le.Uint16(reply[5:]); tag != le.Uint16(tc.in[5:]) {
				t.Errorf("reply tag %d; want %d", tag, le.Uint16(tc.in[5:]))
			}
		})
	}
}

func TestPolicyFraming(t *testing.T) {
	p := versioned(t, testLimits())
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"short", []byte{1, 2, 3}},
		{"size below header", []byte{6, 0, 0, 0, tTgetattr, 1, 0}},
		{"size not length", append(frame(tTgetattr, 1, uint32(1), uint64(0)), 0)},
	} {
		if _, _, err := p.Inbound(tc.in); !errors.Is(err, ErrFraming) {
			t.Errorf("%s: err = %v; want ErrFraming", tc.name, err)
		}
	}
	// An oversized frame is refused from its header alone.
	hdr := frame(tTwrite, 9)
	le.PutUint32(hdr, 9000)
	if _, reply, err := p.Inbound(hdr); err != nil || replyErrno(t, reply) != linux.EMSGSIZE {
		t.Errorf("oversized header: err %v; want EMSGSIZE reply", err)
	}
}

func TestPolicyVersionAndAttachRewrite(t *testing.T) {
	p := NewPolicy(testLimits())
	if _, reply, _ := p.Inbound(frame(tTattach, 1, uint32(1), uint32(noFid), "", "t", uint32(0))); replyErrno(t, reply) != linux.EINVAL {
		t.Errorf("attach before version: want EINVAL")
	}
	fwd, _, _ := p.Inbound(frame(tTversion, noTag, uint32(1<<20), "9P2000.L.Google.7"))
	if got, want := string(fwd), string(frame(tTversion, noTag, uint32(8192), "9P2000.L")); got != want {
		t.Errorf("Tversion forwarded as %x; want %x", got, want)
	}
	p.Outbound(frame(tRversion, noTag, uint32(8192), "9P2000.L"))
	if p.Msize() != 8192 {
		t.Errorf("Msize() = %d; want 8192", p.Msize())
	}

	var gotUname, gotAname string
	p.Authorize = func(u, a string) error { gotUname, gotAname = u, a; return nil }
	fwd, _, _ = p.Inbound(frame(tTattach, 1, uint32(1), uint32(noFid), "alice", "cohesix-ticket-ab.cd", uint32(1000)))
	if want := frame(tTattach, 1, uint32(1), uint32(noFid), "alice", "", uint32(1000)); string(fwd) != string(want) {
		t.Errorf("Tattach forwarded as %x; want %x (aname cleared)", fwd, want)
	}
	if gotUname != "alice" || gotAname != "cohesix-ticket-ab.cd" {
		t.Errorf("Authorize(%q, %q); want alice, the ticket", gotUname, gotAname)
	}
	p.Authorize = func(string, string) error { return errs.New(errs.ErrNotFound, "worker x not found") }
	if _, reply, _ := p.Inbound(frame(tTattach, 2, uint32(2), uint32(noFid), "", "t", uint32(0))); replyErrno(t, reply) != linux.ENOENT {
		t.Errorf("refused attach: want ENOENT")
	}
}

func TestPolicyReadClamp(t *testing.T) {
	p := versioned(t, Limits{Msize: 4096, WalkDepth: 8, ComponentMax: 64, Tags: 16, Fids: 16})
	fwd, _, _ := p.Inbound(frame(tTread, 1, uint32(1), uint64(0), uint32(1<<20)))
	if got := le.Uint32(fwd[len(fwd)-4:]); got != 4096-ioHeader {
		t.Errorf("Tread count forwarded as %d; want %d", got, 4096-ioHeader)
	}
}

// attached returns a policy past Tversion and an answered Tattach of fid.
func attached(t testing.TB, lim Limits, fid uint32) *Policy {
	t.Helper()
	p := versioned(t, lim)
	if _, reply, err := p.Inbound(frame(tTattach, 1, fid, uint32(noFid), "", "", uint32(noFid))); reply != nil || err != nil {
		t.Fatalf("Tattach: reply %x err %v", reply, err)
	}
	p.Outbound(frame(tRattach, 1, uint8(0x80), uint32(0), uint64(1)))
	return p
}

func TestPolicyRemoveClunks(t *testing.T) {
	p := attached(t, testLimits(), 3)
	fwd, _, _ := p.Inbound(frame(tTremove, 7, uint32(3)))
	if fwd[4] != tTclunk {
		t.Fatalf("Tremove forwarded as type %d; want Tclunk", fwd[4])
	}
	out := p.Outbound(frame(tRclunk, 7))
	if replyErrno(t, out) != linux.EPERM {
		t.Errorf("Rclunk for a remove: want Rlerror EPERM")
	}
	if _, reply, _ := p.Inbound(frame(tTgetattr, 8, uint32(3), uint64(0))); replyErrno(t, reply) != linux.EINVAL {
		t.Errorf("getattr on removed fid: want EINVAL")
	}
}
