package console

import (
	"errors"
	"io"
	"strconv"
)

// FrameHeaderLen is the size of the little-endian u32 length prefix, which
// counts itself.
const FrameHeaderLen = 4

// ErrInvalidLength means a frame's declared length is outside
// 4..=Limits.Frame or its payload is longer than Limits.Line. Before
// authentication the server answers "ERR AUTH reason=invalid-length" and
// closes; after it, "ERR FRAME reason=invalid-length" and the session stays.
var ErrInvalidLength = errors.New("console frame has invalid length")

// AppendFrame appends payload to dst as one frame: u32 little-endian total
// length (header included) followed by the payload bytes. It does not check
// limits; see [ValidFrameLength].
func AppendFrame(dst []byte, payload string) []byte {
	n := uint32(FrameHeaderLen + len(payload))
	dst = append(dst, byte(n), byte(n>>8), byte(n>>16), byte(n>>24))
	return append(dst, payload...)
}

// ValidFrameLength reports whether a frame of the given total length
// (header included) is acceptable under lim.
func ValidFrameLength(total uint64, lim Limits) bool {
	return total >= FrameHeaderLen && total <= uint64(lim.Frame) &&
		total-FrameHeaderLen <= uint64(lim.Line)
}

// FrameReader reads length-framed console lines from a stream. It never
// reads past the end of the frame it is decoding. Not safe for concurrent use.
type FrameReader struct {
	r     io.Reader
	lim   Limits
	hdr   [FrameHeaderLen]byte
	buf   []byte
	stuck error // error to report on the next call, after an invalid frame
}

// NewFrameReader returns a reader of frames from r under lim.
func NewFrameReader(r io.Reader, lim Limits) *FrameReader {
	return &FrameReader{r: r, lim: lim, buf: make([]byte, lim.Line)}
}

// Next returns the payload of the next frame. A zero-length payload is an
// empty line. At a clean end of stream it returns io.EOF; a stream cut inside
// a frame gives io.ErrUnexpectedEOF.
//
// A frame with an invalid length yields an error wrapping [ErrInvalidLength].
// If authenticated is false nothing past the header is read and the caller
// must close the connection. If authenticated is true the declared payload
// bytes are read and discarded first, so the stream re-synchronises and the
// reader stays usable; a read error while discarding is returned by the next
// call.
func (f *FrameReader) Next(authenticated bool) (string, error) {
	if err := f.stuck; err != nil {
		return "", err
	}
	if _, err := io.ReadFull(f.r, f.hdr[:]); err != nil {
		return "", err
	}
	total := uint64(f.hdr[0]) | uint64(f.hdr[1])<<8 | uint64(f.hdr[2])<<16 | uint64(f.hdr[3])<<24
	if !ValidFrameLength(total, f.lim) {
		err := &lengthError{total: total}
		if authenticated && total > FrameHeaderLen {
			if _, derr := io.CopyN(io.Discard, f.r, int64(total-FrameHeaderLen)); derr != nil {
				if derr == io.EOF {
					derr = io.ErrUnexpectedEOF
				}
				f.stuck = derr
			}
		}
		return "", err
	}
	p := f.buf[:total-FrameHeaderLen]
	if _, err := io.ReadFull(f.r, p); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return "", err
	}
	return string(p), nil
}

// lengthError carries the offending declared length.
type lengthError struct{ total uint64 }

func (e *lengthError) Error() string {
	return "console frame length " + strconv.FormatUint(e.total, 10) + ": " + ErrInvalidLength.Error()
}

func (e *lengthError) Unwrap() error { return ErrInvalidLength }
