package secure9p

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/nineclient"
)

// burstPeer keeps a session's reader fed: bursts of pipelined Treads, up
// to four tag windows outstanding (the excess is refused busy), replies
// taken as they come. It counts what it sent and what came back.
type burstPeer struct {
	nc         net.Conn
	sent, got  atomic.Int64
	reads      atomic.Int64 // Rread replies (the rest were refusals)
	mu         sync.Mutex
	inFlight   map[uint16]bool
	unexpected atomic.Int64 // replies for a tag not in flight
}

func startBurstPeer(t *testing.T, h *hive, stop <-chan struct{}) *burstPeer {
	r := h.raw(t)
	r.nc.SetDeadline(time.Now().Add(2 * time.Minute))
	r.version(generated.Secure9pMsize)
	if e := r.attach(1, queenTicket(t)); e != 0 {
		t.Fatalf("attach: errno %d", e)
	}
	if e := r.walk(1, 2, "proc", "boot"); e != 0 {
		t.Fatalf("walk: errno %d", e)
	}
	if e := r.call(frame(tTlopen, 3, uint32(2), uint32(0))); e != 0 {
		t.Fatalf("open: errno %d", e)
	}
	p := &burstPeer{nc: r.nc, inFlight: map[uint16]bool{}}
	go p.write(stop)
	go p.read()
	return p
}

func (p *burstPeer) write(stop <-chan struct{}) {
	window := generated.Secure9pTagsPerSession
	tag := uint16(0)
	for {
		select {
		case <-stop:
			return
		default:
		}
		if p.sent.Load()-p.got.Load() > int64(4*window) {
			time.Sleep(50 * time.Microsecond)
			continue
		}
		var burst []byte
		p.mu.Lock()
		for range window {
			for p.inFlight[tag] || tag == noTag {
				tag++
			}
			p.inFlight[tag] = true
			burst = append(burst, frame(tTread, tag, uint32(2), uint64(0), uint32(64))...)
			tag++
		}
		p.mu.Unlock()
		p.sent.Add(int64(window))
		if _, err := p.nc.Write(burst); err != nil {
			return
		}
	}
}

func (p *burstPeer) read() {
	var hdr [7]byte
	body := make([]byte, generated.Secure9pMsize)
	for {
		if _, err := io.ReadFull(p.nc, hdr[:]); err != nil {
			return
		}
		n := binary.LittleEndian.Uint32(hdr[:]) - 7
		if n > uint32(len(body)) {
			return
		}
		if _, err := io.ReadFull(p.nc, body[:n]); err != nil {
			return
		}
		tag := binary.LittleEndian.Uint16(hdr[5:])
		p.mu.Lock()
		if !p.inFlight[tag] {
			p.unexpected.Add(1)
		}
		delete(p.inFlight, tag)
		p.mu.Unlock()
		if hdr[4] == tTread+1 {
			p.reads.Add(1)
		}
		p.got.Add(1)
	}
}

// TestBurstingPeersBesideHonest: peers that keep their sessions' readers
// fed with bursts (replies wait while a reader still holds complete
// requests, P101) get exactly one reply per request, answered or refused
// busy, none lost or held for good; an honest pipelined client on its own
// session is served throughout.
func TestBurstingPeersBesideHonest(t *testing.T) {
	h := startHive(t)
	stop := make(chan struct{})
	var peers []*burstPeer
	for range 3 {
		peers = append(peers, startBurstPeer(t, h, stop))
	}
	pl, err := nineclient.DialPipeline(h.addr, queenTicket(t), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	honest := make(chan error, 1)
	go func() {
		for range 300 {
			b, _, err := pl.ReadFile("/proc/boot", 0, 4096)
			if err != nil || !bytes.Equal(b, bootText) {
				honest <- err
				return
			}
		}
		honest <- nil
	}()
	select {
	case err := <-honest:
		if err != nil {
			t.Fatalf("honest read beside the bursts: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("an honest client did not finish 300 reads in a minute beside three bursting peers")
	}
	// The honest reads finished while the bursts were still coming.
	for i, p := range peers {
		if p.sent.Load() <= int64(generated.Secure9pTagsPerSession) {
			t.Fatalf("peer %d sent only %d requests: the bursts were not running", i, p.sent.Load())
		}
	}
	close(stop)
	for i, p := range peers {
		deadline := time.Now().Add(30 * time.Second)
		for p.got.Load() < p.sent.Load() && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if p.got.Load() != p.sent.Load() || p.unexpected.Load() != 0 {
			t.Errorf("peer %d: %d replies (%d unexpected) to %d requests; want one each", i, p.got.Load(), p.unexpected.Load(), p.sent.Load())
		}
		if p.reads.Load() == 0 {
			t.Errorf("peer %d: every one of %d requests refused; a burst within the window is served", i, p.sent.Load())
		}
		t.Logf("peer %d: %d requests, %d answered, %d refused busy", i, p.sent.Load(), p.reads.Load(), p.got.Load()-p.reads.Load())
	}
}
