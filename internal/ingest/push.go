// Package ingest is the client side of telemetry ingest (spec
// gpu-telemetry.md §5.4, §6): the cohsh-telemetry-push/v1 envelope, its
// chunking and local checks, and the pull layout coh writes. It is pure:
// callers read files and talk to the hive.
package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/ns"
)

// PushSchema is the envelope schema id.
const PushSchema = "cohsh-telemetry-push/v1"

// ErrLocal marks a push refused before anything is sent.
var ErrLocal = errors.New("telemetry push refused locally")

// Mimes maps the extension allowlist to mime types.
var Mimes = map[string]string{
	"txt":    "text/plain",
	"log":    "text/plain",
	"json":   "application/json",
	"ndjson": "application/x-ndjson",
	"csv":    "text/csv",
}

// MimeFor returns the mime of a source file by its extension.
func MimeFor(path string) (string, error) {
	ext := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	if m, ok := Mimes[ext]; ok {
		return m, nil
	}
	return "", fmt.Errorf("%w: extension %q not allowed (txt, log, json, ndjson, csv)", ErrLocal, ext)
}

// ValidDevice checks a device id as cohsh does before sending.
func ValidDevice(id string) error {
	if !ns.ValidName(id, generated.Secure9pWalkComponentMaxBytes) {
		return fmt.Errorf("%w: device id must be 1..%d bytes", ErrLocal, generated.Secure9pWalkComponentMaxBytes)
	}
	for _, r := range id {
		if r == '/' || r == '"' || r == '\\' || r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: device id %q has a forbidden character", ErrLocal, id)
		}
	}
	return nil
}

// Limits bound one push: the largest serialised record (without the
// newline the hive adds) and the segment size.
type Limits struct {
	MaxRecord  int
	MaxSegment int
}

// DefaultLimits are the manifest's ingest limits; the newline the hive
// adds counts towards max_record_bytes.
func DefaultLimits() Limits {
	return Limits{MaxRecord: generated.TelemetryIngestMaxRecordBytes - 1, MaxSegment: generated.TelemetryIngestMaxBytesPerSegment}
}

// header renders the envelope up to the payload's opening quote.
func header(seq int, mime string) string {
	return `{"schema":"` + PushSchema + `","seq":` + strconv.Itoa(seq) + `,"mime":"` + mime + `","payload":"`
}

const trailer = `"}`

// escapedLen is how many bytes r takes inside a JSON string as Go's
// encoder writes it without HTML escaping.
func escapedLen(r rune, size int) int {
	switch {
	case r == '"' || r == '\\' || r == '\n' || r == '\r' || r == '\t' || r == '\b' || r == '\f':
		return 2
	case r < 0x20 || r == 0x2028 || r == 0x2029:
		return 6
	}
	return size
}

// Record renders one envelope record (no trailing newline).
func Record(seq int, mime string, chunk string) []byte {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(struct {
		Schema  string `json:"schema"`
		Seq     int    `json:"seq"`
		Mime    string `json:"mime"`
		Payload string `json:"payload"`
	}{PushSchema, seq, mime, chunk})
	return []byte(strings.TrimSuffix(b.String(), "\n"))
}

// Chunk cuts data into envelope records, each as large as possible within
// lim.MaxRecord, on UTF-8 boundaries. It refuses non-UTF-8 data, empty
// data, and pushes whose records sum past lim.MaxSegment (bytes written,
// newlines included).
func Chunk(data []byte, mime string, lim Limits) ([][]byte, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: source is empty", ErrLocal)
	}
	if len(data) > lim.MaxSegment {
		return nil, fmt.Errorf("%w: source is %d bytes, over max_bytes_per_segment %d", ErrLocal, len(data), lim.MaxSegment)
	}
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: source is not UTF-8", ErrLocal)
	}
	l := newLayout(mime, lim)
	if err := l.place(data, math.MaxInt); err != nil {
		return nil, err
	}
	out := l.records(data)
	if l.size() > lim.MaxSegment {
		return nil, fmt.Errorf("%w: %d records take %d bytes, over max_bytes_per_segment %d", ErrLocal, len(out), l.size(), lim.MaxSegment)
	}
	return out, nil
}

// layout is the greedy packing of one segment's payload into envelope
// records: each record takes as many runes as fit in lim.MaxRecord. It
// holds only offsets, so Chunk and the streaming Segmenter pack alike.
type layout struct {
	mime   string
	lim    Limits
	starts []int // payload offset where each record begins
	used   int   // escaped payload bytes in the last record
	closed int   // bytes of the records before the last, newlines included
	n      int   // payload bytes placed
}

func newLayout(mime string, lim Limits) layout { return layout{mime: mime, lim: lim} }

// room is how many escaped payload bytes record seq holds.
func (l *layout) room(seq int) int { return l.lim.MaxRecord - len(header(seq, l.mime)) - len(trailer) }

// size is the bytes the records take in the segment, newlines included.
func (l *layout) size() int {
	seq := len(l.starts)
	if seq == 0 {
		return 0
	}
	return l.closed + len(header(seq, l.mime)) + l.used + len(trailer) + 1
}

// place packs data (valid UTF-8, continuing the payload placed so far)
// and stops early, with no error, once size passes stopAt.
func (l *layout) place(data []byte, stopAt int) error {
	room := 0
	if seq := len(l.starts); seq > 0 {
		room = l.room(seq)
	}
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		e := escapedLen(r, size)
		if len(l.starts) == 0 || l.used+e > room {
			if seq := len(l.starts); seq > 0 {
				l.closed += len(header(seq, l.mime)) + l.used + len(trailer) + 1
			}
			l.starts = append(l.starts, l.n+i)
			l.used = 0
			if room = l.room(len(l.starts)); e > room {
				return fmt.Errorf("%w: max record %d bytes leaves no room for payload", ErrLocal, l.lim.MaxRecord)
			}
		}
		l.used += e
		i += size
		if l.size() > stopAt {
			l.n += i
			return nil
		}
	}
	l.n += len(data)
	return nil
}

// records renders the envelope records of payload, which l has placed.
func (l *layout) records(payload []byte) [][]byte {
	out := make([][]byte, len(l.starts))
	for i, start := range l.starts {
		end := len(payload)
		if i+1 < len(l.starts) {
			end = l.starts[i+1]
		}
		out[i] = Record(i+1, l.mime, string(payload[start:end]))
	}
	return out
}
