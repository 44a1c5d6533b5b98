// Package teleio is hive-gateway's telemetry work without the HTTP (issue
// 14, milestone 25f): stream a request body into segments and push them
// over a Secure9P Pipeline, list every device's segments with their
// sizes, and copy a segment from an offset into a writer. The gateway's
// handlers only map requests and errors; coh does the same work over
// Secure9P with the same packages (internal/ingest, internal/nineclient),
// so a segment pushed through the gateway is the one coh would make.
package teleio

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"path"
	"slices"
	"strings"

	"github.com/hugelgupf/p9/linux"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/gatewayapi"
	"github.com/cohesix/cohesix/internal/ingest"
	"github.com/cohesix/cohesix/internal/nineclient"
	"github.com/cohesix/cohesix/internal/ns"
)

// ErrBadInput marks a request refused before the hive is asked (HTTP
// 400). Push's refusals of the body wrap ingest.ErrLocal instead, in the
// words coh prints; IsBadInput knows both.
var ErrBadInput = errors.New("bad telemetry request")

// ErrNotFound marks a device or segment the hive does not have (never
// made, or evicted: segment ids are never reused).
var ErrNotFound = errors.New("telemetry segment not found")

// IsBadInput reports whether err is a refusal of the request itself.
func IsBadInput(err error) bool {
	return errors.Is(err, ErrBadInput) || errors.Is(err, ingest.ErrLocal)
}

// Mime returns the ingest mime of a request's Content-Type: one of the
// push allowlist's (text/plain, application/x-ndjson, application/json,
// text/csv), in UTF-8.
func Mime(contentType string) (string, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", fmt.Errorf("%w: content type %q: %v", ErrBadInput, contentType, err)
	}
	if !allowedMime(mt) {
		return "", fmt.Errorf("%w: content type %q is not one of %s", ErrBadInput, mt, strings.Join(allowedMimes(), ", "))
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return "", fmt.Errorf("%w: charset %q: telemetry is UTF-8", ErrBadInput, cs)
	}
	return mt, nil
}

func allowedMimes() []string {
	var out []string
	for _, m := range ingest.Mimes {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	slices.Sort(out)
	return out
}

func allowedMime(m string) bool { return slices.Contains(allowedMimes(), m) }

// Push streams body into new segments of device under root, cut at line
// boundaries with the envelope records coh makes of a file
// (ingest.Segmenter), and writes each over pl as soon as it is cut, so it
// holds one segment at a time. Refusals of the device, the mime or the
// first segment's lines come before anything is sent. A later failure
// (a refused line further on, the body's reader, the hive) returns the
// result so far with the error: Segments lists every segment made,
// including one asked for and left empty.
func Push(pl *nineclient.Pipeline, root, device, mime string, body io.Reader) (gatewayapi.PushResult, error) {
	res := gatewayapi.PushResult{Device: device, Segments: []string{}}
	if err := ingest.ValidDevice(device); err != nil {
		return res, err
	}
	if !allowedMime(mime) {
		return res, fmt.Errorf("%w: mime %q is not one of %s", ingest.ErrLocal, mime, strings.Join(allowedMimes(), ", "))
	}
	sg := ingest.NewSegmenter(body, mime, ingest.DefaultLimits())
	recs, more, err := sg.Next()
	if err != nil {
		return res, err
	}
	in, err := pl.Ingest(root, device)
	if err != nil {
		return res, fmt.Errorf("%s/%s: %w", root, device, err)
	}
	defer in.Close()
	w, err := in.Segments(mime)
	if err != nil {
		return res, fmt.Errorf("%s/%s/ctl: %w", root, device, err)
	}
	for {
		next := ""
		if more {
			next = mime
		}
		ids, n, err := w.Write(recs, next)
		res.Segments = append(res.Segments, ids...)
		res.Bytes += int64(n)
		res.Records += recordsIn(recs, n)
		if err != nil {
			return res, fmt.Errorf("%s/%s: segment %d: %w", root, device, sg.Segments(), err)
		}
		if !more {
			return res, nil
		}
		if recs, more, err = sg.Next(); err != nil {
			if id, ok := w.Asked(); ok {
				res.Segments = append(res.Segments, id)
			}
			return res, fmt.Errorf("after %d segments: %w", sg.Segments(), err)
		}
	}
}

// recordsIn is how many of recs the first n bytes written hold whole,
// each with the newline the hive adds.
func recordsIn(recs [][]byte, n int) int {
	for i, r := range recs {
		if n -= len(r) + 1; n < 0 {
			return i
		}
	}
	return len(recs)
}

// List returns every device's segments under root with their sizes, the
// first max_devices devices as coh telemetry pull takes them, in the
// hive's order. A segment evicted while listing is left out.
func List(cl *nineclient.Client, root string) (gatewayapi.Segments, error) {
	out := gatewayapi.Segments{Segments: []gatewayapi.Segment{}}
	devs, err := cl.List(root)
	if err != nil {
		return out, fmt.Errorf("%s: %w", root, err)
	}
	devs = devs[:min(len(devs), generated.ClientPoliciesCohTelemetryMaxDevices)]
	for _, d := range devs {
		dir := root + "/" + d + "/seg"
		segs, err := cl.List(dir)
		if err != nil {
			return out, fmt.Errorf("%s: %w", dir, err)
		}
		for _, s := range segs {
			st, err := cl.Stat(dir + "/" + s)
			if errors.Is(err, linux.ENOENT) {
				continue
			}
			if err != nil {
				return out, fmt.Errorf("%s/%s: %w", dir, s, err)
			}
			out.Segments = append(out.Segments, gatewayapi.Segment{Device: d, Seg: s, Size: int64(st.Size)})
		}
	}
	return out, nil
}

// Read writes the bytes of segment seg of device from off to w, in one
// exchange over pl (a segment is at most max_bytes_per_segment), and
// returns the segment's size when read and the bytes written. The cursor
// (device, seg, off) resumes a copy: an offset at or past the size
// writes nothing. A segment that is gone is ErrNotFound. An HTTP handler
// that sends the size as a header before the bytes uses ReadSegment.
func Read(pl *nineclient.Pipeline, root, device, seg string, off int64, w io.Writer) (size int64, n int64, err error) {
	b, size, err := ReadSegment(pl, root, device, seg, off)
	if err != nil || len(b) == 0 {
		return size, 0, err
	}
	wrote, err := w.Write(b)
	return size, int64(wrote), err
}

// ReadSegment is Read returning the bytes (at most one segment) instead of
// writing them.
func ReadSegment(pl *nineclient.Pipeline, root, device, seg string, off int64) ([]byte, int64, error) {
	return ReadSegmentInto(pl, root, device, seg, off, nil)
}

// ReadSegmentInto is ReadSegment reading into buf when buf holds a whole
// segment (max_bytes_per_segment), so a server can reuse its buffers;
// else into a new one. The bytes returned are buf's prefix then.
func ReadSegmentInto(pl *nineclient.Pipeline, root, device, seg string, off int64, buf []byte) ([]byte, int64, error) {
	if err := validName("device", device); err != nil {
		return nil, 0, err
	}
	if err := validName("segment", seg); err != nil {
		return nil, 0, err
	}
	if off < 0 {
		return nil, 0, fmt.Errorf("%w: offset %d is negative", ErrBadInput, off)
	}
	limit := int64(generated.TelemetryIngestMaxBytesPerSegment)
	path := root + "/" + device + "/seg/" + seg
	n := int(limit - min(off, limit))
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	b, sz, err := pl.ReadFileInto(path, off, buf[:n])
	if errors.Is(err, linux.ENOENT) {
		return nil, 0, fmt.Errorf("%w: %s", ErrNotFound, path)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	size := int64(sz)
	// The size the exchange saw bounds the span: bytes appended since
	// come with the next read from the cursor.
	return b[:max(0, min(int64(len(b)), size-off))], size, nil
}

// validName checks one path component of a request.
func validName(what, name string) error {
	bad := strings.ContainsFunc(name, func(r rune) bool { return r == '/' || r < 0x20 || r == 0x7f })
	if bad || !ns.ValidName(name, generated.Secure9pWalkComponentMaxBytes) {
		return fmt.Errorf("%w: %s %q must be 1..%d bytes without / or control characters", ErrBadInput, what, name, generated.Secure9pWalkComponentMaxBytes)
	}
	return nil
}

// ReadDevice reads device's segments in the hive's order, from segment
// from at off (from "" is the first segment, at 0) and each later one
// whole, into buf (max_total_bytes_per_device holds them all), and returns
// the spans and the bytes. One request answers what a pull of the device
// needs, instead of one per segment. A from the hive no longer holds is
// ErrNotFound (its bytes are gone; ids are never reused); a later segment
// evicted while reading is left out.
func ReadDevice(pl *nineclient.Pipeline, root, device, from string, off int64, buf []byte) ([]gatewayapi.Span, []byte, error) {
	if err := checkCursor(device, from, off); err != nil {
		return nil, nil, err
	}
	dir := root + "/" + device + "/seg"
	limit := int64(generated.TelemetryIngestMaxBytesPerSegment)
	need := int(limit * int64(generated.TelemetryIngestMaxSegmentsPerDevice))
	if cap(buf) < need {
		buf = make([]byte, need)
	}
	whole := buf[:need]
	buf = whole
	// The cursor's segment is read in the listing's exchange: the listing
	// only says which segments follow it.
	var ahead []nineclient.FileRead
	if from != "" {
		at := min(off, limit)
		ahead = []nineclient.FileRead{{Path: dir + "/" + from, Off: at, Buf: buf[: limit-at : limit-at]}}
		buf = buf[limit-at:]
	}
	after := func(names []string) []nineclient.FileRead {
		segs, ok := segmentsAfter(names, from)
		if !ok {
			return nil
		}
		files := make([]nineclient.FileRead, 0, len(segs))
		for _, sg := range segs {
			if int64(len(buf)) < limit {
				break // more segments than the device holds: the next read from the cursor has them
			}
			files = append(files, nineclient.FileRead{Path: dir + "/" + sg, Buf: buf[:limit:limit]})
			buf = buf[limit:]
		}
		return files
	}
	names, rest, err := pl.ReadDirFiles(dir, ahead, after)
	switch {
	case errors.Is(err, linux.ENOENT):
		return nil, nil, fmt.Errorf("%w: %s", ErrNotFound, dir)
	case err != nil:
		return nil, nil, fmt.Errorf("%s: %w", dir, err)
	case from != "" && !slices.Contains(names, from):
		return nil, nil, fmt.Errorf("%w: %s/%s", ErrNotFound, dir, from)
	}
	return joinSpans(append(ahead, rest...), whole)
}

// joinSpans is the spans of files read in order into consecutive parts of
// whole, their bytes moved down to one run. The first file's refusal
// fails the read; a later file gone since the listing is left out.
func joinSpans(files []nineclient.FileRead, whole []byte) ([]gatewayapi.Span, []byte, error) {
	spans, out := []gatewayapi.Span{}, whole[:0]
	for i, f := range files {
		switch {
		case errors.Is(f.Err, linux.ENOENT) && i > 0:
			continue // evicted since the listing
		case errors.Is(f.Err, linux.ENOENT):
			return nil, nil, fmt.Errorf("%w: %s", ErrNotFound, f.Path)
		case f.Err != nil:
			return nil, nil, fmt.Errorf("%s: %w", f.Path, f.Err)
		}
		// The size the exchange saw bounds the span: bytes appended since
		// come with the next read from the cursor.
		b := f.Data[:max(0, min(int64(len(f.Data)), int64(f.Size)-f.Off))]
		spans = append(spans, gatewayapi.Span{Seg: path.Base(f.Path), Size: int64(f.Size), Off: f.Off, Len: int64(len(b))})
		out = append(out, b...) // moves the bytes down over any gap: never past them
	}
	return spans, out, nil
}

// checkCursor checks a device read's cursor before the hive is asked.
func checkCursor(device, from string, off int64) error {
	if err := validName("device", device); err != nil {
		return err
	}
	if from != "" {
		if err := validName("segment", from); err != nil {
			return err
		}
	}
	if off < 0 || (from == "" && off != 0) {
		return fmt.Errorf("%w: offset %d needs a from segment and must not be negative", ErrBadInput, off)
	}
	return nil
}

// segmentsAfter is the listed segments after from ("" all); ok is false
// when from is not listed (evicted, or never made).
func segmentsAfter(names []string, from string) (segs []string, ok bool) {
	if from == "" {
		return names, true
	}
	i := slices.Index(names, from)
	if i < 0 {
		return nil, false
	}
	return names[i+1:], true
}
