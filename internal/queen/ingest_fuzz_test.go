package queen

import "testing"

// FuzzParseIngestCtl: never panics; an accepted line is exactly one of the
// two shapes.
func FuzzParseIngestCtl(f *testing.F) {
	f.Add([]byte(`{"new":"segment","mime":"text/plain"}`))
	f.Add([]byte(`{"export":"lora-job","job":"job-1","base_model":"base"}`))
	f.Add([]byte(`{"new":"segment","mime":"text/plain","job":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseIngestCtl(b)
		if err != nil {
			return
		}
		if (r.New == nil) == (r.Export == nil) {
			t.Fatalf("ParseIngestCtl(%q) accepted an ambiguous line", b)
		}
	})
}
