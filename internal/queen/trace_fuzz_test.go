package queen

import (
	"encoding/json"
	"slices"
	"testing"
)

// FuzzParseTraceCtl: /trace/ctl lines never panic; an accepted filter has
// a known level and one or more known, distinct categories, and re-encodes
// to a line that parses to the same filter.
func FuzzParseTraceCtl(f *testing.F) {
	f.Fuzz(func(t *testing.T, line []byte) {
		tf, err := ParseTraceCtl(line)
		if err != nil {
			return
		}
		if !slices.Contains(TraceLevels, tf.Level) || len(tf.Cats) == 0 {
			t.Fatalf("accepted %q as %+v", line, tf)
		}
		for i, c := range tf.Cats {
			if !slices.Contains(TraceCats, c) || slices.Contains(tf.Cats[:i], c) {
				t.Fatalf("accepted %q with category %q", line, c)
			}
		}
		b, _ := json.Marshal(struct {
			Set TraceFilter `json:"set"`
		}{tf})
		again, err := ParseTraceCtl(b)
		if err != nil || again.Level != tf.Level || !slices.Equal(again.Cats, tf.Cats) {
			t.Fatalf("round trip %s: %+v, %v; want %+v", b, again, err, tf)
		}
	})
}

func TestParseTraceCtl(t *testing.T) {
	for _, tc := range []struct {
		line string
		ok   bool
	}{
		{`{"set":{"level":"debug","cats":["boot","ninep"]}}`, true},
		{`{"set":{"level":"debug","cats":["boot","boot"]}}`, true},
		{`{"set":{"level":"debug","cats":[]}}`, false},
		{`{"set":{"level":"debug"}}`, false},
		{`{"set":{"level":"noisy","cats":["boot"]}}`, false},
		{`{"set":{"level":"info","cats":["disk"]}}`, false},
		{`{"set":{"level":"info","cats":["boot"],"x":1}}`, false},
		{`{"set":{"level":"info","level":"debug","cats":["boot"]}}`, false},
		{`{"SET":{"level":"info","cats":["boot"]}}`, false},
		{`{"set":{"level":"info","cats":["boot"]}} {}`, false},
		{``, false},
	} {
		_, err := ParseTraceCtl([]byte(tc.line))
		if (err == nil) != tc.ok {
			t.Errorf("ParseTraceCtl(%s) = %v; want ok=%v", tc.line, err, tc.ok)
		}
	}
}
