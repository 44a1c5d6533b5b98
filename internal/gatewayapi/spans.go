package gatewayapi

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Span is one segment's part of a device read (GET
// /v1/telemetry/{device}): the body is the spans' bytes one after the
// other. Size is the segment's size when read, Off where the part starts
// in it, Len its length; (device, Seg, Off+Len) is the cursor that
// resumes the pull.
type Span struct {
	Seg  string
	Size int64
	Off  int64
	Len  int64
}

// EncodeSpans writes spans as HeaderSpans carries them: "seg size off
// len" per span, the name query-escaped (so it holds no space or comma),
// spans joined by commas.
func EncodeSpans(spans []Span) string {
	parts := make([]string, len(spans))
	for i, s := range spans {
		parts[i] = fmt.Sprintf("%s %d %d %d", url.QueryEscape(s.Seg), s.Size, s.Off, s.Len)
	}
	return strings.Join(parts, ",")
}

// DecodeSpans parses HeaderSpans and checks that the spans are sound and
// cover exactly body bytes.
func DecodeSpans(h string, body int64) ([]Span, error) {
	spans := []Span{}
	var total int64
	for part := range strings.SplitSeq(h, ",") {
		if part == "" && h == "" {
			break
		}
		f := strings.Split(part, " ")
		if len(f) != 4 {
			return nil, fmt.Errorf("span %q is not \"seg size off len\"", part)
		}
		seg, err := url.QueryUnescape(f[0])
		if err != nil || seg == "" {
			return nil, fmt.Errorf("span %q: bad segment name", part)
		}
		var n [3]int64
		for i := range n {
			if n[i], err = strconv.ParseInt(f[i+1], 10, 64); err != nil || n[i] < 0 {
				return nil, fmt.Errorf("span %q: %q is not a byte count", part, f[i+1])
			}
		}
		if n[1] > n[0] || n[2] > n[0]-n[1] {
			return nil, fmt.Errorf("span %q runs past its segment", part)
		}
		if n[2] > body-total {
			return nil, fmt.Errorf("spans cover more than the body's %d bytes", body)
		}
		spans = append(spans, Span{Seg: seg, Size: n[0], Off: n[1], Len: n[2]})
		total += n[2]
	}
	if total != body {
		return nil, fmt.Errorf("spans cover %d bytes; the body holds %d", total, body)
	}
	return spans, nil
}
