package secure9p

import (
	"bytes"
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// rawConn is the RawConn of a loopback TCP connection's end (tcpPair,
// readbuf_test.go).
func rawConn(t *testing.T, c net.Conn) syscall.RawConn {
	t.Helper()
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// A raw write larger than the socket buffers waits on the poller while
// the peer drains it, and delivers every byte in order.
func TestRawWriteWaitsForASlowReader(t *testing.T) {
	srv, cli := tcpPair(t)
	rc := rawConn(t, srv)
	want := make([]byte, 8<<20)
	for i := range want {
		want[i] = byte(i * 7)
	}
	got := make(chan []byte)
	go func() {
		var b bytes.Buffer
		buf := make([]byte, 4096)
		for b.Len() < len(want) {
			n, err := cli.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
			time.Sleep(10 * time.Microsecond) // slower than the writer
		}
		got <- b.Bytes()
	}()
	n, err := rawWrite(rc, want)
	if err != nil || n != len(want) {
		t.Fatalf("rawWrite = %d, %v; want %d, nil", n, err, len(want))
	}
	if b := <-got; !bytes.Equal(b, want) {
		t.Errorf("peer read %d bytes, not the %d written in order", len(b), len(want))
	}
}

// A peer that stops reading cannot hold a raw write past the write
// deadline, and a closed peer is an error, not a hang or a signal.
func TestRawWriteDeadlineAndClosedPeer(t *testing.T) {
	srv, cli := tcpPair(t)
	rc := rawConn(t, srv)
	// The deadline leaves room for the first write to run on a loaded
	// machine (at 200 ms, under the race detector beside the whole
	// suite, it passed before anything was written).
	_ = srv.SetWriteDeadline(time.Now().Add(time.Second))
	n, err := rawWrite(rc, make([]byte, 64<<20))
	if !errors.Is(err, os.ErrDeadlineExceeded) || n == 0 || n == 64<<20 {
		t.Fatalf("write to a peer that does not read = %d, %v; want part written and the deadline", n, err)
	}
	_ = srv.SetWriteDeadline(time.Time{})
	cli.Close()
	var werr error
	for range 100 { // the first writes may land before the reset arrives
		if _, werr = rawWrite(rc, []byte("reply")); werr != nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if !errors.Is(werr, syscall.EPIPE) && !errors.Is(werr, syscall.ECONNRESET) {
		t.Errorf("write to a closed peer = %v; want EPIPE or ECONNRESET", werr)
	}
}

// rawRead returns what is there, io.EOF-like 0 at the peer's close, and
// EAGAIN on an empty non-blocking socket.
func TestRawRead(t *testing.T) {
	srv, cli := tcpPair(t)
	rc := rawConn(t, srv)
	var n int
	var rerr error
	read := func() {
		_ = rc.Read(func(fd uintptr) bool {
			n, rerr = rawRead(fd, make([]byte, 16))
			return !errors.Is(rerr, syscall.EAGAIN)
		})
	}
	if _, err := cli.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if read(); n != 5 || rerr != nil {
		t.Fatalf("read = %d, %v; want 5, nil", n, rerr)
	}
	_ = rc.Control(func(fd uintptr) { n, rerr = rawRead(fd, make([]byte, 16)) })
	if !errors.Is(rerr, syscall.EAGAIN) {
		t.Errorf("read of an empty socket = %d, %v; want EAGAIN", n, rerr)
	}
	cli.Close()
	if read(); n != 0 || rerr != nil {
		t.Errorf("read after the peer closed = %d, %v; want 0 (end of stream)", n, rerr)
	}
}
