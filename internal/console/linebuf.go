package console

import "unicode/utf8"

// LineBuffer applies the serial line discipline (§3) one byte at a time:
// '\n' ends a line, '\r' is ignored, 0x08 and 0x7f delete the previous
// character, other control characters are dropped. A line that grows past
// [Limits.Line] bytes fails once with the "console line exceeded maximum
// length" [ParseError]; the buffer is cleared and the rest of that physical
// line, up to and including its '\n', is discarded so its tail never runs as a
// command. The zero value is not usable; call [NewLineBuffer].
type LineBuffer struct {
	max        int
	buf        []byte
	discarding bool
}

// NewLineBuffer returns an empty buffer for lines of at most lim.Line bytes.
func NewLineBuffer(lim Limits) *LineBuffer {
	return &LineBuffer{max: lim.Line, buf: make([]byte, 0, lim.Line)}
}

// Feed adds c. done is true when c completed a line, returned in line. err is
// non-nil only for an overflow; line and done are then zero.
func (b *LineBuffer) Feed(c byte) (line string, done bool, err error) {
	switch {
	case c == '\n':
		if b.discarding {
			b.discarding = false
			return "", false, nil
		}
		line = string(b.buf)
		b.buf = b.buf[:0]
		return line, true, nil
	case b.discarding, c == '\r':
		return "", false, nil
	case c == 0x08 || c == 0x7f:
		if len(b.buf) > 0 {
			_, n := utf8.DecodeLastRune(b.buf)
			b.buf = b.buf[:len(b.buf)-n]
		}
		return "", false, nil
	case c < 0x20:
		return "", false, nil
	}
	if len(b.buf) >= b.max {
		b.buf = b.buf[:0]
		b.discarding = true
		return "", false, perr(MsgLineTooLong)
	}
	b.buf = append(b.buf, c)
	return "", false, nil
}

// Len returns the number of bytes buffered for the current line.
func (b *LineBuffer) Len() int { return len(b.buf) }

// Reset drops any partial line and leaves discard mode.
func (b *LineBuffer) Reset() { b.buf, b.discarding = b.buf[:0], false }
