package client

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"github.com/cohesix/cohesix/internal/console"
)

// SerialPrompt is the prompt the root task's serial console prints before
// reading each line; the line transport strips it from received lines.
const SerialPrompt = "cohesix> "

// lineIO moves whole console lines. Implementations are not safe for
// concurrent use; Conn serialises access.
type lineIO interface {
	send(line string) error
	// recv returns the next line; timeout > 0 bounds the wait when the
	// stream supports deadlines.
	recv(timeout time.Duration) (string, error)
	close() error
}

// deadliner is the optional ability to bound a read.
type deadliner interface{ SetReadDeadline(time.Time) error }

// framedIO is the TCP console: every line one length-prefixed frame.
type framedIO struct {
	conn net.Conn
	fr   *console.FrameReader
	buf  []byte
}

func newFramedIO(conn net.Conn, lim console.Limits) *framedIO {
	return &framedIO{conn: conn, fr: console.NewFrameReader(conn, lim)}
}

func (f *framedIO) send(line string) error {
	f.buf = console.AppendFrame(f.buf[:0], line)
	_, err := f.conn.Write(f.buf)
	return err
}

func (f *framedIO) recv(timeout time.Duration) (string, error) {
	if timeout > 0 {
		_ = f.conn.SetReadDeadline(time.Now().Add(timeout))
	}
	// Server frames are never oversize; an invalid one is a broken stream.
	return f.fr.Next(false)
}

func (f *framedIO) close() error { return f.conn.Close() }

// serialIO is the newline console (serial line or a pipe to one).
type serialIO struct {
	rw io.ReadWriter
	r  *bufio.Reader
}

func newSerialIO(rw io.ReadWriter) *serialIO {
	return &serialIO{rw: rw, r: bufio.NewReader(rw)}
}

func (s *serialIO) send(line string) error {
	_, err := io.WriteString(s.rw, line+"\n")
	return err
}

func (s *serialIO) recv(timeout time.Duration) (string, error) {
	if d, ok := s.rw.(deadliner); ok && timeout > 0 {
		_ = d.SetReadDeadline(time.Now().Add(timeout))
	}
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			if errors.Is(err, io.EOF) && line != "" {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		line = strings.TrimRight(line, "\r\n")
		for strings.HasPrefix(line, SerialPrompt) {
			line = line[len(SerialPrompt):]
		}
		return line, nil
	}
}

func (s *serialIO) close() error {
	if c, ok := s.rw.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// exchangeIO is a console answered in process: exchange returns every
// line the console sends for one command, and recv hands them out in
// order. Lines are passed through untouched (no prompt stripping).
type exchangeIO struct {
	exchange func(line string) ([]string, error)
	queue    []string
}

func (x *exchangeIO) send(line string) error {
	out, err := x.exchange(line)
	if err != nil {
		return err
	}
	x.queue = append(x.queue, out...)
	return nil
}

func (x *exchangeIO) recv(time.Duration) (string, error) {
	if len(x.queue) == 0 {
		// The answer ended before its ACK or END: a broken console.
		return "", io.ErrUnexpectedEOF
	}
	l := x.queue[0]
	x.queue = x.queue[1:]
	return l, nil
}

func (x *exchangeIO) close() error { return nil }
