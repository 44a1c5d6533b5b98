package ingest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Segmenter cuts a stream of any length into segments as `cohsh
// telemetry push` makes one segment of a file (spec gpu-telemetry §6):
// each segment is the envelope records of a run of whole lines of the
// stream (its records, in the seed's words), packed exactly as Chunk packs
// a file, with seq from 1, summing to at most lim.MaxSegment. A segment
// holds as many whole lines as fit, so a stream that Chunk takes as one
// file is one segment with Chunk's records. It holds one segment and one
// line at a time, never the stream.
type Segmenter struct {
	br      *bufio.Reader
	mime    string
	lim     Limits
	piece   []byte // the whole lines of the segment being built
	lay     layout // their packing
	line    []byte // a line read and not yet placed
	hasLine bool
	lineNo  int // lines read
	eof     bool
	made    int   // segments returned
	err     error // sticky: a refused line ends the stream
}

// NewSegmenter returns a Segmenter of r's bytes into segments of mime.
func NewSegmenter(r io.Reader, mime string, lim Limits) *Segmenter {
	return &Segmenter{br: bufio.NewReaderSize(r, lim.MaxSegment), mime: mime, lim: lim, lay: newLayout(mime, lim)}
}

// Next returns the records of the next segment and whether another one
// follows (known without reading that one: a line is waiting). It returns
// io.EOF after the last segment. A refusal of the input wraps ErrLocal
// (an empty stream, a line that is not UTF-8 or does not fit one
// segment); other errors are the reader's.
func (s *Segmenter) Next() (records [][]byte, more bool, err error) {
	for s.err == nil {
		if !s.hasLine && !s.eof {
			if s.err = s.readLine(); s.err != nil {
				break
			}
		}
		if !s.hasLine {
			return s.last()
		}
		fits, err := s.fits()
		switch {
		case err != nil:
			s.err = err
		case fits:
			s.placeLine()
		case len(s.piece) == 0:
			s.err = fmt.Errorf("%w: line %d (%d bytes) does not fit one segment of max_bytes_per_segment %d", ErrLocal, s.lineNo, len(s.line), s.lim.MaxSegment)
		default:
			return s.flush(), true, nil
		}
	}
	return nil, false, s.err
}

// Segments is how many segments Next has returned.
func (s *Segmenter) Segments() int { return s.made }

// last ends the stream: the segment being built, then io.EOF.
func (s *Segmenter) last() ([][]byte, bool, error) {
	switch {
	case len(s.piece) > 0:
		return s.flush(), false, nil
	case s.made == 0:
		s.err = fmt.Errorf("%w: source is empty", ErrLocal)
	default:
		s.err = io.EOF
	}
	return nil, false, s.err
}

// readLine reads the next line, newline included (the last one may lack
// it). A line longer than a segment is refused without reading the rest.
func (s *Segmenter) readLine() error {
	s.line = s.line[:0]
	for {
		frag, err := s.br.ReadSlice('\n')
		s.line = append(s.line, frag...)
		if len(s.line) > s.lim.MaxSegment {
			return fmt.Errorf("%w: line %d is over max_bytes_per_segment %d", ErrLocal, s.lineNo+1, s.lim.MaxSegment)
		}
		switch {
		case err == nil:
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			s.eof = true
		default:
			return err
		}
		s.hasLine = len(s.line) > 0
		if s.hasLine {
			s.lineNo++
		}
		return nil
	}
}

// fits reports whether the waiting line fits the segment being built.
func (s *Segmenter) fits() (bool, error) {
	if !utf8.Valid(s.line) {
		return false, fmt.Errorf("%w: line %d is not UTF-8", ErrLocal, s.lineNo)
	}
	l := s.lay // shares starts; a copy that does not fit is dropped
	if err := l.place(s.line, s.lim.MaxSegment); err != nil {
		// A later record's longer seq may leave no room where a new
		// segment's first records have it.
		return false, errIf(len(s.piece) == 0, err)
	}
	if l.size() > s.lim.MaxSegment {
		return false, nil
	}
	s.lay = l
	return true, nil
}

// placeLine adds the waiting line, which fits, to the segment.
func (s *Segmenter) placeLine() {
	s.piece = append(s.piece, s.line...)
	s.hasLine = false
}

// flush returns the segment being built and starts the next.
func (s *Segmenter) flush() [][]byte {
	recs := s.lay.records(s.piece)
	s.piece = s.piece[:0]
	s.lay = newLayout(s.mime, s.lim)
	s.made++
	return recs
}

func errIf(cond bool, err error) error {
	if cond {
		return err
	}
	return nil
}
