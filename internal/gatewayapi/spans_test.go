package gatewayapi

import (
	"reflect"
	"testing"
)

// TestSpansRoundTrip: spans encode to the header and decode back, names
// with commas and spaces included; a header that does not cover the body
// exactly, or is malformed, is refused.
func TestSpansRoundTrip(t *testing.T) {
	spans := []Span{{Seg: "seg-1", Size: 100, Off: 40, Len: 60}, {Seg: "a b,c", Size: 7, Off: 0, Len: 7}}
	h := EncodeSpans(spans)
	got, err := DecodeSpans(h, 67)
	if err != nil || !reflect.DeepEqual(got, spans) {
		t.Fatalf("DecodeSpans(%q) = %+v, %v; want %+v", h, got, err, spans)
	}
	if got, err := DecodeSpans("", 0); err != nil || len(got) != 0 {
		t.Fatalf("no spans = %+v, %v", got, err)
	}
	for _, bad := range []struct {
		h    string
		body int64
	}{
		{h, 66},                     // one byte short of the body
		{"seg-1 100 40", 60},        // a field missing
		{"seg-1 100 40 61", 61},     // past the segment's size
		{"seg-1 100 -1 10", 10},     // a negative offset
		{" 10 0 10", 10},            // no name
		{"seg-1 10 0 x", 0},         // not a number
		{"seg-1 10 0 5,,", 5},       // an empty span
		{"seg%zz 10 0 5", 5},        // a bad escape
		{"", 3},                     // bytes no span covers
		{"seg-1 10 0 5 extra", 5},   // a field too many
		{"seg-1 10 0 5,seg-2 1", 5}, // a short second span
		{"seg-1 9223372036854775807 9223372036854775807 1", 1}, // overflow past the size
	} {
		if got, err := DecodeSpans(bad.h, bad.body); err == nil {
			t.Errorf("DecodeSpans(%q, %d) = %+v; want an error", bad.h, bad.body, got)
		}
	}
}

// FuzzDecodeSpans: any header decodes or fails without a panic, and what
// decodes encodes back to spans that decode the same.
func FuzzDecodeSpans(f *testing.F) {
	f.Add("seg-1 100 40 60,a+b%2Cc 7 0 7", int64(67))
	f.Add("", int64(0))
	f.Add("x 1 0 1", int64(1))
	f.Fuzz(func(t *testing.T, h string, body int64) {
		spans, err := DecodeSpans(h, body)
		if err != nil {
			return
		}
		again, err := DecodeSpans(EncodeSpans(spans), body)
		if err != nil || !reflect.DeepEqual(again, spans) {
			t.Fatalf("re-encoded %+v decodes as %+v, %v", spans, again, err)
		}
	})
}
