package secure9p

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	client, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

func testPool(size int) *sync.Pool {
	return &sync.Pool{New: func() any { b := make([]byte, size); return &b }}
}

// TestReadBufIdleHoldsNoBuffer: on a TCP socket the read buffer shows the
// frames that arrived together (the receive queue counts them), and once
// every byte is taken the connection holds no buffer while it waits.
func TestReadBufIdleHoldsNoBuffer(t *testing.T) {
	server, client := tcpPair(t)
	b := newReadBuf(server, testPool(64), 64)
	if b.rc == nil {
		t.Fatal("a TCP connection offers no RawConn")
	}
	f1, f2 := frame(tTclunk, 1, uint32(7)), frame(tTclunk, 2, uint32(8))
	client.Write(append(append([]byte{}, f1...), f2...))
	hdr := make([]byte, headerLen)
	if _, err := io.ReadFull(b, hdr); err != nil {
		t.Fatal(err)
	}
	if n := countFrames(b.Buffered()[len(f1)-headerLen:]); n != 1 {
		t.Errorf("frames buffered behind the first: %d; want 1", n)
	}
	rest := make([]byte, 2*len(f1)-headerLen)
	if _, err := io.ReadFull(b, rest); err != nil {
		t.Fatal(err)
	}
	if got := append(hdr, rest...); !bytes.Equal(got, append(f1, f2...)) {
		t.Errorf("read %x; want %x", got, append(f1, f2...))
	}
	if b.buf != nil {
		t.Error("an idle connection still holds its read buffer")
	}
	// A read that waits holds none either: it fails on the deadline.
	server.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err := b.Read(hdr)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("read past the deadline = %v; want a timeout", err)
	}
	if b.buf != nil {
		t.Error("a timed-out read kept its buffer")
	}
}

// TestReadBufLargeAndDiscard: a read of at least the buffer's size goes
// straight to the caller, Discard skips bytes across fills, and the
// peer's close is io.EOF.
func TestReadBufLargeAndDiscard(t *testing.T) {
	for _, name := range []string{"tcp", "pipe"} {
		t.Run(name, func(t *testing.T) {
			var server, client net.Conn
			if name == "tcp" {
				server, client = tcpPair(t)
			} else {
				server, client = net.Pipe()
				defer server.Close()
			}
			b := newReadBuf(server, testPool(16), 16)
			data := make([]byte, 100)
			for i := range data {
				data[i] = byte(i)
			}
			go func() { client.Write(data); client.Close() }()
			big := make([]byte, 40)
			if _, err := io.ReadFull(b, big); err != nil || !bytes.Equal(big, data[:40]) {
				t.Fatalf("large read %x, %v; want %x", big, err, data[:40])
			}
			if err := b.Discard(50); err != nil {
				t.Fatal(err)
			}
			tail := make([]byte, 10)
			if _, err := io.ReadFull(b, tail); err != nil || !bytes.Equal(tail, data[90:]) {
				t.Fatalf("after discard %x, %v; want %x", tail, err, data[90:])
			}
			if _, err := b.Read(tail); err != io.EOF {
				t.Errorf("read after the peer closed = %v; want io.EOF", err)
			}
		})
	}
}
