package sel4

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

var testMAC = [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}

// TestStaticIPConfig: the manifest's address wins, then the boot
// environment's; neither means DHCP; a malformed value is an error that
// names where it came from, never a guess.
func TestStaticIPConfig(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	boot := env(map[string]string{envIPv4: "10.0.2.20/24", envGateway: "10.0.2.2"})
	cases := []struct {
		name, ip, gw string
		getenv       func(string) string
		ok           bool
		want         string // addr gw from
		err          string
	}{
		{"manifest", "192.168.1.9/24", "192.168.1.1", boot, true, "192.168.1.9/24 192.168.1.1 manifest", ""},
		{"manifest without gateway", "192.168.1.9/24", "", boot, true, "192.168.1.9/24 invalid IP manifest", ""},
		{"boot environment", "", "", boot, true, "10.0.2.20/24 10.0.2.2 boot-env", ""},
		{"dhcp", "", "", env(nil), false, "", ""},
		{"no prefix", "", "", env(map[string]string{envIPv4: "10.0.2.20"}), false, "", `boot-env address "10.0.2.20" is not an IPv4 address`},
		{"ipv6", "fd00::1/64", "", env(nil), false, "", `manifest address "fd00::1/64"`},
		{"/32", "10.0.0.1/32", "", env(nil), false, "", "prefix length 1..30"},
		{"gateway off the network", "", "", env(map[string]string{envIPv4: "10.0.2.20/24", envGateway: "10.0.3.2"}), false, "", `boot-env gateway "10.0.3.2" is not an IPv4 address on 10.0.2.0/24`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, ok, err := staticIPConfig(tc.ip, tc.gw, tc.getenv)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || ok {
					t.Fatalf("= %v, %v; want error %q", ok, err, tc.err)
				}
				return
			}
			if err != nil || ok != tc.ok {
				t.Fatalf("= %v, %v; want %v", ok, err, tc.ok)
			}
			if ok {
				if got := c.addr.String() + " " + c.gw.String() + " " + c.from; got != tc.want {
					t.Errorf("config %q; want %q", got, tc.want)
				}
			}
		})
	}
}

// serverReply is a DHCP server's broadcast answer to xid with options.
func serverReply(xid uint32, yiaddr [4]byte, opts ...byte) []byte {
	b := make([]byte, bootpLen+4)
	b[0], b[1], b[2] = 2, 1, 6
	binary.BigEndian.PutUint32(b[4:], xid)
	copy(b[16:], yiaddr[:])
	copy(b[28:], testMAC[:])
	binary.BigEndian.PutUint32(b[bootpLen:], dhcpCookie)
	b = append(b, opts...)
	f := dhcpFrame(testMAC, xid, dhcpDiscover, netip.Addr{}, netip.Addr{}) // headers to reuse
	f = append(f[:ethHdrLen+ipv4HdrLen+udpHdrLen], b...)
	binary.BigEndian.PutUint16(f[ethHdrLen+ipv4HdrLen:], dhcpServerPort)
	binary.BigEndian.PutUint16(f[ethHdrLen+ipv4HdrLen+2:], dhcpClientPort)
	return f
}

// fakeDHCP is QEMU's user-network DHCP server on a fake link: it answers
// each DISCOVER with an OFFER of 10.0.2.15 and each REQUEST for it with an
// ACK (or a NAK when nak is set), after dropping the first drop messages.
type fakeDHCP struct {
	pending [][]byte
	sent    []byte // message types the client sent
	drop    int
	nak     bool
	noise   bool // also deliver a frame that is not DHCP
}

func (s *fakeDHCP) transmit(parts [][]byte) bool {
	f := parts[0]
	b := f[ethHdrLen+ipv4HdrLen+udpHdrLen:]
	xid := binary.BigEndian.Uint32(b[4:])
	var l dhcpLease
	if err := l.options(b[bootpLen+4:]); err != nil {
		panic(err)
	}
	s.sent = append(s.sent, l.msgType)
	if s.drop > 0 {
		s.drop--
		return true
	}
	if s.noise {
		s.pending = append(s.pending, []byte("not a frame at all, just bytes"))
	}
	common := []byte{optServerID, 4, 10, 0, 2, 2, optSubnetMask, 4, 255, 255, 255, 0, optRouter, 4, 10, 0, 2, 2, optLeaseTime, 4, 0, 1, 0x51, 0x80}
	switch {
	case l.msgType == dhcpDiscover:
		s.pending = append(s.pending, serverReply(xid, [4]byte{10, 0, 2, 15}, append([]byte{optMsgType, 1, dhcpOffer}, append(common, optEnd)...)...))
	case l.msgType == dhcpRequest && s.nak:
		s.pending = append(s.pending, serverReply(xid, [4]byte{}, optMsgType, 1, dhcpNak, optEnd))
	case l.msgType == dhcpRequest:
		s.pending = append(s.pending, serverReply(xid, [4]byte{10, 0, 2, 15}, append([]byte{optMsgType, 1, dhcpAck, optPad}, append(common, optEnd)...)...))
	}
	return true
}

func (s *fakeDHCP) receive(deliver func([]byte)) bool {
	got := len(s.pending) > 0
	for _, f := range s.pending {
		deliver(f)
	}
	s.pending = nil
	return got
}

// TestDHCP: the client gets QEMU's address, mask and router through
// DISCOVER/OFFER/REQUEST/ACK, retries a lost exchange, ignores frames
// that are not replies to it, and reports a NAK or a silent network.
func TestDHCP(t *testing.T) {
	for _, tc := range []struct {
		name string
		srv  fakeDHCP
		want string
		sent string
		err  string
	}{
		{"lease", fakeDHCP{}, "10.0.2.15/24 10.0.2.2 dhcp", "\x01\x03", ""},
		{"lost discover", fakeDHCP{drop: 1, noise: true}, "10.0.2.15/24 10.0.2.2 dhcp", "\x01\x01\x03", ""},
		{"nak", fakeDHCP{nak: true}, "", "", "NAK"},
		{"silence", fakeDHCP{drop: 1 << 30}, "", "", "no DHCP OFFER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := tc.srv
			c, err := runDHCP(&srv, testMAC, 7, func() {})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("runDHCP = %v, %v; want error %q", c, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.addr.String() + " " + c.gw.String() + " " + c.from; got != tc.want {
				t.Errorf("lease %q; want %q", got, tc.want)
			}
			if string(srv.sent) != tc.sent {
				t.Errorf("client sent message types %v; want %v", srv.sent, []byte(tc.sent))
			}
		})
	}
}

// TestParseDHCPReplyRefuses: replies to another client or transaction are
// not ours; a truncated option or a broken mask is an error.
func TestParseDHCPReplyRefuses(t *testing.T) {
	ok := serverReply(9, [4]byte{10, 0, 2, 15}, optMsgType, 1, dhcpOffer, optEnd)
	if _, err := parseDHCPReply(ok, testMAC, 9); err != nil {
		t.Fatalf("good reply: %v", err)
	}
	if _, err := parseDHCPReply(ok, testMAC, 10); !errors.Is(err, errNotOurs) {
		t.Errorf("other xid: %v", err)
	}
	if _, err := parseDHCPReply(ok, [6]byte{1}, 9); !errors.Is(err, errNotOurs) {
		t.Errorf("other mac: %v", err)
	}
	if _, err := parseDHCPReply(serverReply(9, [4]byte{}, optMsgType, 5), testMAC, 9); err == nil || errors.Is(err, errNotOurs) {
		t.Errorf("truncated option: %v", err)
	}
	if _, err := parseDHCPReply(serverReply(9, [4]byte{}, optMsgType, 1, dhcpOffer, optSubnetMask, 4, 255, 0, 255, 0), testMAC, 9); err == nil {
		t.Error("non-contiguous mask accepted")
	}
}

// FuzzParseDHCPReply: no frame makes the parser panic or read out of
// bounds, and whatever it accepts carries a message type.
func FuzzParseDHCPReply(f *testing.F) {
	f.Add(serverReply(9, [4]byte{10, 0, 2, 15}, optMsgType, 1, dhcpOffer, optSubnetMask, 4, 255, 255, 255, 0, optRouter, 4, 10, 0, 2, 2, optEnd))
	f.Add(serverReply(9, [4]byte{}, optMsgType, 1, dhcpNak))
	f.Add(dhcpFrame(testMAC, 9, dhcpRequest, netip.MustParseAddr("10.0.2.15"), netip.MustParseAddr("10.0.2.2")))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, frame []byte) {
		l, err := parseDHCPReply(frame, testMAC, 9)
		if err == nil && l.msgType == 0 {
			t.Fatal("accepted a reply without a message type")
		}
	})
}
