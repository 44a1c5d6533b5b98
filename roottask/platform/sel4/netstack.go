package sel4

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/cohesix/cohesix/generated"
	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

const nicID = 1

// Log receives the one line that says whether networking came up.
var Log io.Writer = os.Stdout

// network starts virtio-net + the gVisor netstack once; the error says
// why there is no network (no device, not on seL4).
var network = sync.OnceValues(func() (*stack.Stack, error) {
	s, err := startNetwork()
	if err != nil {
		fmt.Fprintf(Log, "[event] sel4 network: none (%v): listeners accept nothing\n", err)
	}
	return s, err
})

func startNetwork() (*stack.Stack, error) {
	dev, err := probeVirtioNet()
	if err != nil {
		return nil, err
	}
	const (
		linkQueueLen = 0x100 // outbound packets the netstack may queue for the driver
		linkMTU      = 1500  // Ethernet payload, what QEMU's user network carries
	)
	ipc, err := vmIPConfig(dev)
	if err != nil {
		return nil, err
	}
	mac := tcpip.LinkAddress(dev.mac[:])
	ch := channel.New(linkQueueLen, linkMTU, mac)
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol},
	})
	if e := s.CreateNIC(nicID, ethernet.New(ch)); e != nil {
		return nil, fmt.Errorf("create NIC: %s", e)
	}
	pa := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4(ipc.addr.Addr().As4()), PrefixLen: ipc.addr.Bits()}}
	if e := s.AddProtocolAddress(nicID, pa, stack.AddressProperties{}); e != nil {
		return nil, fmt.Errorf("add address: %s", e)
	}
	routes := []tcpip.Route{{Destination: pa.AddressWithPrefix.Subnet(), NIC: nicID}}
	gw := "none"
	if ipc.gw.IsValid() {
		routes = append(routes, tcpip.Route{Destination: header.IPv4EmptySubnet, Gateway: tcpip.AddrFrom4(ipc.gw.As4()), NIC: nicID})
		gw = ipc.gw.String()
	}
	s.SetRouteTable(routes)
	// Receive: drain the used ring, then wait for the transport's IRQ (the
	// shim's interrupt mode, DECISIONS P86) or, without it, sleep 1 ms.
	irq := dev.regs.irq()
	useIRQ := irqUsable(irq)
	rxMode := "polled"
	if useIRQ {
		rxMode = fmt.Sprintf("irq %d", irq)
	}
	go func() {
		deliver := func(frame []byte) {
			pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(frame)})
			ch.InjectInbound(0, pkt) // the ethernet endpoint reads the EtherType
			pkt.DecRef()
		}
		for {
			if dev.receive(deliver) {
				continue
			}
			if !useIRQ || waitIRQ(irq, 0) != nil {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	// Transmit: whatever the stack queues on the channel endpoint.
	go func() {
		for {
			pkt := ch.ReadContext(context.Background())
			if pkt == nil {
				continue
			}
			parts := pkt.AsSlices()
			for !dev.transmit(parts) {
				time.Sleep(time.Millisecond)
			}
			pkt.DecRef()
		}
	}()
	fmt.Fprintf(Log, "[event] sel4 network: virtio-net mac=%s ip=%s gw=%s from=%s (gVisor netstack) rx=%s\n", mac, ipc.addr, gw, ipc.from, rxMode)
	return s, nil
}

// listenNet opens a TCP listener on the VM's address at addr's port.
func listenNet(s *stack.Stack, a *net.TCPAddr) (net.Listener, error) {
	return gonet.ListenTCP(s, tcpip.FullAddress{NIC: nicID, Port: uint16(a.Port)}, ipv4.ProtocolNumber)
}

// vmIPConfig is the static configuration (manifest, then boot
// environment) or else a DHCP lease on dev (DECISIONS P74).
func vmIPConfig(dev *virtioNet) (ipConfig, error) {
	c, ok, err := staticIPConfig(generated.NetworkSel4Ipv4, generated.NetworkSel4Ipv4Gateway, getenv)
	if err != nil || ok {
		return c, err
	}
	// The transaction id only pairs replies with requests: not a secret.
	xid := binary.BigEndian.Uint32(dev.mac[2:])
	if d, err := entropy(); err == nil {
		var b [4]byte
		if _, err := d.Read(b[:]); err == nil {
			xid = binary.BigEndian.Uint32(b[:])
		}
	}
	c, err = runDHCP(dev, dev.mac, xid, func() { time.Sleep(time.Millisecond) })
	if err != nil {
		return ipConfig{}, fmt.Errorf("DHCP: %w (set network.sel4_ipv4 or COHESIX_IPV4 for a static address)", err)
	}
	return c, nil
}
