package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzChunk: every record fits the limit, parses as the envelope with
// seq from 1, and the payloads reassemble the input.
func FuzzChunk(f *testing.F) {
	f.Add("temperature=41C\n", 4095)
	f.Add(strings.Repeat("\"\\\u2028ü", 50), 128)
	f.Add("x", 90)
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 0 || max > 1<<16 {
			return
		}
		recs, err := Chunk([]byte(s), "text/plain", Limits{MaxRecord: max, MaxSegment: DefaultLimits().MaxSegment})
		if err != nil {
			return
		}
		var b strings.Builder
		for i, r := range recs {
			if len(r) > max {
				t.Fatalf("record %d is %d bytes > %d", i, len(r), max)
			}
			var env struct {
				Schema  string `json:"schema"`
				Seq     int    `json:"seq"`
				Payload string `json:"payload"`
			}
			if err := json.Unmarshal(r, &env); err != nil || env.Seq != i+1 || env.Schema != PushSchema {
				t.Fatalf("record %d %q: %v", i, r, err)
			}
			b.WriteString(env.Payload)
		}
		if b.String() != s {
			t.Fatal("payloads do not reassemble the input")
		}
	})
}

// FuzzSegmenter: the streaming cut keeps Chunk's rules. Without an error,
// every segment is Chunk of its payload (whole lines, as many as fit),
// within the segment limit, and the payloads reassemble the input; with
// one, the input is empty, not UTF-8, or has a line no segment can hold.
func FuzzSegmenter(f *testing.F) {
	f.Add("temperature=41C\nfan=3000rpm\n", 300, 700)
	f.Add(strings.Repeat("{\"k\":\"\\u2028ü\"}\n", 40), 128, 1024)
	f.Add("no newline at the end", 90, 200)
	f.Add("\n\n\nx\n", 80, 100)
	f.Add(strings.Repeat("a", 500)+"\nb\n", 100, 400)
	f.Add("ok\n\xff\n", 100, 400)
	f.Fuzz(func(t *testing.T, s string, maxRec, maxSeg int) {
		if maxRec < 0 || maxRec > 1<<13 || maxSeg < 1 || maxSeg > 1<<15 {
			return
		}
		lim := Limits{MaxRecord: maxRec, MaxSegment: maxSeg}
		segs, err := segmentAll(s, lim)
		if err != nil {
			if !errors.Is(err, ErrLocal) || !unchunkable(s, lim) {
				t.Fatalf("Segmenter refused %q: %v", s, err)
			}
			return
		}
		var whole strings.Builder
		for i, g := range segs {
			payload := checkSegment(t, g, lim)
			if i+1 < len(segs) && !strings.HasSuffix(payload, "\n") {
				t.Fatalf("segment %d ends inside a line", i)
			}
			whole.WriteString(payload)
			if i+1 < len(segs) {
				next := nextLine(s[whole.Len():])
				if _, err := Chunk([]byte(payload+next), "text/plain", lim); err == nil {
					t.Fatalf("segment %d could have taken the next line %q", i, next)
				}
			}
		}
		if whole.String() != s {
			t.Fatal("payloads do not reassemble the input")
		}
	})
}

// segmentAll runs a Segmenter over s and checks its more flags.
func segmentAll(s string, lim Limits) ([][][]byte, error) {
	sg := NewSegmenter(strings.NewReader(s), "text/plain", lim)
	var out [][][]byte
	for {
		recs, more, err := sg.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, recs)
		if !more {
			if _, _, err := sg.Next(); !errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("more=false but Next then gave %v", err)
			}
			return out, nil
		}
	}
}

// checkSegment checks one segment against Chunk and returns its payload.
func checkSegment(t *testing.T, recs [][]byte, lim Limits) string {
	var b strings.Builder
	for _, r := range recs {
		var env struct{ Payload string }
		if err := json.Unmarshal(r, &env); err != nil {
			t.Fatalf("record %q: %v", r, err)
		}
		b.WriteString(env.Payload)
	}
	want, err := Chunk([]byte(b.String()), "text/plain", lim)
	if err != nil || fmt.Sprintf("%q", want) != fmt.Sprintf("%q", recs) {
		t.Fatalf("segment %q is not Chunk of its payload (%v)", recs, err)
	}
	return b.String()
}

func nextLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i+1]
	}
	return s
}

// unchunkable reports whether s is empty, not UTF-8, or has a line that
// Chunk refuses on its own.
func unchunkable(s string, lim Limits) bool {
	if s == "" || !utf8.ValidString(s) {
		return true
	}
	for rest := s; rest != ""; {
		l := nextLine(rest)
		if _, err := Chunk([]byte(l), "text/plain", lim); err != nil {
			return true
		}
		rest = rest[len(l):]
	}
	return false
}
