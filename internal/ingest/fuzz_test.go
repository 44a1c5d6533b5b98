package ingest

import (
	"encoding/json"
	"strings"
	"testing"
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
