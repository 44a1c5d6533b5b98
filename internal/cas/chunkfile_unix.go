//go:build unix

package cas

import (
	"fmt"
	"syscall"
)

// ReadChunkFile reads the file at path into buf, which has room for one byte
// more than a chunk, and returns how many bytes the file holds (up to
// len(buf)). It uses raw system calls: os.File's poller registration and
// cleanup cost more than the read itself for small chunks.
func ReadChunkFile(path string, buf []byte) (int, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer syscall.Close(fd)
	n := 0
	for n < len(buf) {
		k, err := syscall.Read(fd, buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("read %s: %w", path, err)
		}
		if k == 0 {
			break
		}
		n += k
	}
	return n, nil
}
