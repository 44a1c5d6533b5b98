//go:build !unix

package cas

import (
	"io"
	"os"
)

// ReadChunkFile reads the file at path into buf, which has room for one byte
// more than a chunk, and returns how many bytes the file holds (up to
// len(buf)).
func ReadChunkFile(path string, buf []byte) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, err := io.ReadFull(f, buf)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = nil
	}
	return n, err
}
