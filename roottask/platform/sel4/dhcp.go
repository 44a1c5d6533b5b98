package sel4

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
)

// The VM's IPv4 configuration (DECISIONS P74): the manifest's
// network.sel4_ipv4 / sel4_ipv4_gateway, else COHESIX_IPV4 /
// COHESIX_IPV4_GATEWAY from the boot environment (QEMU's fw_cfg
// opt/cohesix/env, which the shim puts into the environment), else DHCP.
type ipConfig struct {
	addr netip.Prefix
	gw   netip.Addr // invalid: no default route
	from string     // "manifest", "boot-env" or "dhcp"
}

// Boot environment variables naming a static address.
const (
	envIPv4    = "COHESIX_IPV4"
	envGateway = "COHESIX_IPV4_GATEWAY"
)

// staticIPConfig resolves a static configuration from the manifest's
// values, then the boot environment; ok is false when neither names an
// address (DHCP decides). A malformed value is an error, never a guess.
func staticIPConfig(manifestIP, manifestGW string, getenv func(string) string) (c ipConfig, ok bool, err error) {
	ip, gw, from := manifestIP, manifestGW, "manifest"
	if ip == "" {
		ip, gw, from = getenv(envIPv4), getenv(envGateway), "boot-env"
	}
	if ip == "" {
		return ipConfig{}, false, nil
	}
	p, err := netip.ParsePrefix(ip)
	if err != nil || !p.Addr().Is4() || p.Bits() < 1 || p.Bits() > 30 {
		return ipConfig{}, false, fmt.Errorf("%s address %q is not an IPv4 address with a prefix length 1..30 (10.0.2.15/24)", from, ip)
	}
	c = ipConfig{addr: p, from: from}
	if gw != "" {
		if c.gw, err = netip.ParseAddr(gw); err != nil || !c.gw.Is4() || !p.Masked().Contains(c.gw) {
			return ipConfig{}, false, fmt.Errorf("%s gateway %q is not an IPv4 address on %s", from, gw, p.Masked())
		}
	}
	return c, true, nil
}

func getenv(k string) string { return os.Getenv(k) }

// DHCP (RFC 2131) over raw Ethernet frames, before the netstack has an
// address: DISCOVER, OFFER, REQUEST, ACK, broadcast both ways.
const (
	dhcpDiscover = 1
	dhcpOffer    = 2
	dhcpRequest  = 3
	dhcpAck      = 5
	dhcpNak      = 6

	dhcpClientPort = 68
	dhcpServerPort = 67
	dhcpCookie     = 0x63825363

	optSubnetMask  = 1
	optRouter      = 3
	optRequestedIP = 50
	optLeaseTime   = 51
	optMsgType     = 53
	optServerID    = 54
	optParamList   = 55
	optEnd         = 255
	optPad         = 0

	ethHdrLen  = 14
	ipv4HdrLen = 20
	udpHdrLen  = 8
	bootpLen   = 236 // fixed BOOTP fields before the cookie
)

// dhcpLease is what a server offered or acknowledged.
type dhcpLease struct {
	msgType byte
	addr    netip.Addr
	bits    int
	router  netip.Addr
	server  netip.Addr
	leaseS  uint32
}

// dhcpFrame builds a broadcast DHCP client message of type msgType as an
// Ethernet frame; requested and server are set on a REQUEST.
func dhcpFrame(mac [6]byte, xid uint32, msgType byte, requested, server netip.Addr) []byte {
	opts := []byte{optMsgType, 1, msgType}
	if msgType == dhcpRequest {
		r, s := requested.As4(), server.As4()
		opts = append(opts, optRequestedIP, 4, r[0], r[1], r[2], r[3], optServerID, 4, s[0], s[1], s[2], s[3])
	}
	opts = append(opts, optParamList, 3, optSubnetMask, optRouter, optLeaseTime, optEnd)
	bootp := make([]byte, bootpLen+4, bootpLen+4+len(opts))
	bootp[0], bootp[1], bootp[2] = 1, 1, 6 // BOOTREQUEST, Ethernet, 6-byte address
	binary.BigEndian.PutUint32(bootp[4:], xid)
	binary.BigEndian.PutUint16(bootp[10:], 0x8000) // answer by broadcast: no address yet
	copy(bootp[28:], mac[:])
	binary.BigEndian.PutUint32(bootp[bootpLen:], dhcpCookie)
	bootp = append(bootp, opts...)

	f := make([]byte, ethHdrLen+ipv4HdrLen+udpHdrLen+len(bootp))
	copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:12], mac[:])
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[ethHdrLen:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(ipv4HdrLen+udpHdrLen+len(bootp)))
	ip[8], ip[9] = 64, 17 // TTL, UDP
	copy(ip[16:20], []byte{255, 255, 255, 255})
	binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip[:ipv4HdrLen]))
	udp := ip[ipv4HdrLen:]
	binary.BigEndian.PutUint16(udp[0:], dhcpClientPort)
	binary.BigEndian.PutUint16(udp[2:], dhcpServerPort)
	binary.BigEndian.PutUint16(udp[4:], uint16(udpHdrLen+len(bootp))) // checksum 0: none (IPv4)
	copy(udp[udpHdrLen:], bootp)
	return f
}

func ipChecksum(h []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(h); i += 2 {
		s += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

var errNotOurs = errors.New("not a DHCP reply to us")

// parseDHCPReply reads an Ethernet frame as a DHCP server's reply to mac
// and xid; errNotOurs for anything else.
func parseDHCPReply(f []byte, mac [6]byte, xid uint32) (dhcpLease, error) {
	if len(f) < ethHdrLen+ipv4HdrLen || binary.BigEndian.Uint16(f[12:]) != 0x0800 {
		return dhcpLease{}, errNotOurs
	}
	ip := f[ethHdrLen:]
	ihl := int(ip[0]&0xf) * 4
	if ip[0]>>4 != 4 || ihl < ipv4HdrLen || ip[9] != 17 || len(ip) < ihl+udpHdrLen {
		return dhcpLease{}, errNotOurs
	}
	udp := ip[ihl:]
	if binary.BigEndian.Uint16(udp[2:]) != dhcpClientPort {
		return dhcpLease{}, errNotOurs
	}
	b := udp[udpHdrLen:]
	if len(b) < bootpLen+4 || b[0] != 2 || binary.BigEndian.Uint32(b[4:]) != xid ||
		[6]byte(b[28:34]) != mac || binary.BigEndian.Uint32(b[bootpLen:]) != dhcpCookie {
		return dhcpLease{}, errNotOurs
	}
	l := dhcpLease{addr: netip.AddrFrom4([4]byte(b[16:20]))}
	if err := l.options(b[bootpLen+4:]); err != nil {
		return dhcpLease{}, err
	}
	if l.msgType == 0 {
		return dhcpLease{}, errors.New("DHCP reply without a message type")
	}
	return l, nil
}

// options reads the DHCP options the client uses.
func (l *dhcpLease) options(o []byte) error {
	for len(o) > 0 {
		code := o[0]
		if code == optEnd {
			return nil
		}
		if code == optPad {
			o = o[1:]
			continue
		}
		if len(o) < 2 || len(o) < 2+int(o[1]) {
			return errors.New("DHCP option runs past the packet")
		}
		v := o[2 : 2+int(o[1])]
		o = o[2+len(v):]
		switch {
		case code == optMsgType && len(v) == 1:
			l.msgType = v[0]
		case code == optSubnetMask && len(v) == 4:
			ones, bits := maskBits(v)
			if ones < 0 || bits != 32 {
				return fmt.Errorf("DHCP subnet mask %d.%d.%d.%d is not contiguous", v[0], v[1], v[2], v[3])
			}
			l.bits = ones
		case code == optRouter && len(v) >= 4:
			l.router = netip.AddrFrom4([4]byte(v[:4]))
		case code == optServerID && len(v) == 4:
			l.server = netip.AddrFrom4([4]byte(v))
		case code == optLeaseTime && len(v) == 4:
			l.leaseS = binary.BigEndian.Uint32(v)
		}
	}
	return nil
}

// maskBits is the prefix length of a contiguous mask, -1 otherwise.
func maskBits(m []byte) (ones, bits int) {
	v := binary.BigEndian.Uint32(m)
	n := 0
	for v&0x80000000 != 0 {
		v <<= 1
		n++
	}
	if v != 0 {
		return -1, 32
	}
	return n, 32
}

// config is the lease as the VM's address; a lease without a subnet mask
// gets the class default the server implies (/24 for QEMU's 10.0.2.x).
func (l dhcpLease) config() (ipConfig, error) {
	if !l.addr.Is4() || l.addr.IsUnspecified() {
		return ipConfig{}, errors.New("DHCP lease without an address")
	}
	bits := l.bits
	if bits == 0 {
		bits = 24
	}
	if bits > 30 {
		return ipConfig{}, fmt.Errorf("DHCP lease of a /%d network", bits)
	}
	c := ipConfig{addr: netip.PrefixFrom(l.addr, bits), from: "dhcp"}
	if l.router.IsValid() && c.addr.Masked().Contains(l.router) {
		c.gw = l.router
	}
	return c, nil
}

// dhcpLink is what the DHCP client needs of the NIC.
type dhcpLink interface {
	transmit(parts [][]byte) bool
	receive(deliver func([]byte)) bool
}

// DHCP client timing: polls of the receive ring (1 ms apart when idle)
// per message, and how many times the exchange is tried.
const (
	dhcpPolls    = 1000
	dhcpAttempts = 5
)

// runDHCP asks for an address: DISCOVER → OFFER → REQUEST → ACK, each
// step retried, the exchange restarted on a NAK or silence.
func runDHCP(link dhcpLink, mac [6]byte, xid uint32, idle func()) (ipConfig, error) {
	var last error = errors.New("no DHCP server answered")
	for attempt := 0; attempt < dhcpAttempts; attempt++ {
		xid++
		offer, err := dhcpStep(link, mac, xid, dhcpFrame(mac, xid, dhcpDiscover, netip.Addr{}, netip.Addr{}), dhcpOffer, idle)
		if err != nil {
			last = err
			continue
		}
		ack, err := dhcpStep(link, mac, xid, dhcpFrame(mac, xid, dhcpRequest, offer.addr, offer.server), dhcpAck, idle)
		if err != nil {
			last = err
			continue
		}
		if ack.bits == 0 {
			ack.bits = offer.bits
		}
		if !ack.router.IsValid() {
			ack.router = offer.router
		}
		return ack.config()
	}
	return ipConfig{}, last
}

// dhcpStep sends msg and waits for a reply of type want.
func dhcpStep(link dhcpLink, mac [6]byte, xid uint32, msg []byte, want byte, idle func()) (dhcpLease, error) {
	for !link.transmit([][]byte{msg}) {
		idle()
	}
	var got *dhcpLease
	var bad error
	for i := 0; i < dhcpPolls && got == nil && bad == nil; i++ {
		link.receive(func(f []byte) {
			l, err := parseDHCPReply(f, mac, xid)
			switch {
			case errors.Is(err, errNotOurs) || got != nil:
			case err != nil:
				bad = err
			case l.msgType == dhcpNak:
				bad = errors.New("DHCP server said NAK")
			case l.msgType == want:
				got = &l
			}
		})
		if got == nil && bad == nil {
			idle()
		}
	}
	if bad != nil {
		return dhcpLease{}, bad
	}
	if got == nil {
		return dhcpLease{}, fmt.Errorf("no DHCP %s", map[byte]string{dhcpOffer: "OFFER", dhcpAck: "ACK"}[want])
	}
	return *got, nil
}
