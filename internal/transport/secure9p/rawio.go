package secure9p

import (
	"syscall"
	"unsafe"
)

// A hosted session's socket is read and written with raw system calls
// inside syscall.RawConn's callbacks (DECISIONS P95). The socket is
// non-blocking, so a call never waits: the RawConn parks the goroutine on
// the poller when the socket is not ready. What a raw call skips is the
// runtime's syscall bookkeeping: a plain syscall.Write that takes longer
// than sysmon's 20 µs tick (a loopback write that wakes the peer does, in
// a VM) gets its processor taken and handed to another thread, and sysmon
// itself keeps polling at its shortest period while it finds such work. At
// 1,000 heartbeats a second that was a sixth of the hive's CPU.

// rawRead reads once from fd, retrying an interrupted read.
func rawRead(fd uintptr, p []byte) (int, error) {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
		switch e {
		case 0:
			return int(n), nil
		case syscall.EINTR:
			continue
		default:
			return 0, e
		}
	}
}

// rawWrite writes all of p to the socket behind rc, waiting on the poller
// (and its write deadline) whenever the socket is full. It returns the
// bytes written.
func rawWrite(rc syscall.RawConn, p []byte) (int, error) {
	var n int
	var werr error
	err := rc.Write(func(fd uintptr) bool {
		for n < len(p) {
			m, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[n])), uintptr(len(p)-n))
			switch e {
			case 0:
				n += int(m)
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false // wait until writable
			default:
				werr = e
				return true
			}
		}
		return true
	})
	if err == nil {
		err = werr
	}
	return n, err
}
