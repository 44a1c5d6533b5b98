package secure9p

import (
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
)

// readBuf is a connection's read buffer that an idle connection does not
// hold (issue 15 item 7, DECISIONS P82). A session waits for its next
// request most of its life; with a bufio.Reader each one kept msize bytes
// for it, 8 KiB of a fleet worker's ~40. Here, on a socket that offers
// syscall.RawConn (hosted TCP), the wait is for readability alone: the
// buffer comes from the server's pool only when bytes can be read, and
// goes back as soon as every buffered byte has been taken. Elsewhere (the
// seL4 netstack, net.Pipe in tests) it reads through the connection into
// a buffer it keeps, as bufio does.
//
// Like bufio.Reader it is used by one goroutine at a time (the 9P server's
// receiver).
type readBuf struct {
	nc   net.Conn
	rc   syscall.RawConn // nil: read through nc, keep buf
	pool *sync.Pool      // of *[]byte of size bytes
	size int
	buf  *[]byte // nil while empty (rc != nil)
	r, w int     // unread bytes are (*buf)[r:w]
}

func newReadBuf(nc net.Conn, pool *sync.Pool, size int) *readBuf {
	b := &readBuf{nc: nc, pool: pool, size: size}
	if sc, ok := nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			b.rc = rc
		}
	}
	return b
}

// Buffered returns the bytes read and not yet taken; they stay valid
// until the next Read or Discard.
func (b *readBuf) Buffered() []byte {
	if b.buf == nil {
		return nil
	}
	return (*b.buf)[b.r:b.w]
}

// Read takes buffered bytes, or reads more when there are none. A read
// of at least the buffer's size into an empty buffer goes straight to p.
func (b *readBuf) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if b.r == b.w {
		if len(p) >= b.size {
			return b.readInto(p)
		}
		if err := b.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, (*b.buf)[b.r:b.w])
	b.take(n)
	return n, nil
}

// Discard skips n bytes, reading them as needed.
func (b *readBuf) Discard(n int) error {
	for n > 0 {
		if b.r == b.w {
			if err := b.fill(); err != nil {
				return err
			}
		}
		k := min(n, b.w-b.r)
		b.take(k)
		n -= k
	}
	return nil
}

// take consumes n buffered bytes; an emptied pooled buffer goes back.
func (b *readBuf) take(n int) {
	b.r += n
	if b.r == b.w {
		b.r, b.w = 0, 0
		if b.rc != nil && b.buf != nil {
			b.pool.Put(b.buf)
			b.buf = nil
		}
	}
}

// fill reads into the empty buffer, at least one byte or an error.
func (b *readBuf) fill() error {
	if b.rc == nil {
		if b.buf == nil {
			buf := make([]byte, b.size)
			b.buf = &buf
		}
		n, err := b.nc.Read(*b.buf)
		if n > 0 {
			b.w = n
			return nil
		}
		if err == nil {
			err = io.ErrNoProgress
		}
		return err
	}
	var n int
	var rerr error
	err := b.rc.Read(func(fd uintptr) bool {
		if b.buf == nil {
			b.buf = b.pool.Get().(*[]byte)
		}
		n, rerr = rawRead(fd, *b.buf)
		if errors.Is(rerr, syscall.EAGAIN) {
			b.pool.Put(b.buf) // nothing to read yet: wait without it
			b.buf = nil
			return false
		}
		return true
	})
	return b.settle(n, rerr, err)
}

// readInto reads straight into p, bypassing the buffer.
func (b *readBuf) readInto(p []byte) (int, error) {
	if b.rc == nil {
		return b.nc.Read(p)
	}
	var n int
	var rerr error
	err := b.rc.Read(func(fd uintptr) bool {
		n, rerr = rawRead(fd, p)
		return !errors.Is(rerr, syscall.EAGAIN)
	})
	if err = b.settle(n, rerr, err); err != nil {
		return 0, err
	}
	b.r, b.w = 0, 0 // settle counted n as buffered
	return n, nil
}

// settle turns a raw read's outcome into fill's: n bytes buffered, or the
// poller's error (a deadline, a close), the read's, or io.EOF.
func (b *readBuf) settle(n int, rerr, err error) error {
	switch {
	case err != nil:
	case rerr != nil:
		err = &net.OpError{Op: "read", Net: "tcp", Source: b.nc.LocalAddr(), Addr: b.nc.RemoteAddr(), Err: rerr}
	case n == 0:
		err = io.EOF
	default:
		b.w = n
		return nil
	}
	if b.buf != nil {
		b.pool.Put(b.buf)
		b.buf = nil
	}
	return err
}
