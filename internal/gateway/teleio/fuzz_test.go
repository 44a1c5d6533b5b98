package teleio

import (
	"testing"
)

// FuzzMime: a Content-Type is either refused as bad input or names an
// allowlisted mime that is its own answer.
func FuzzMime(f *testing.F) {
	for _, s := range []string{"text/plain", "text/plain; charset=UTF-8", "application/x-ndjson", "text/csv;charset=latin1", "image/png", "", ";;", "text/plain; charset=\"utf-8\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ct string) {
		m, err := Mime(ct)
		if err != nil {
			if !IsBadInput(err) {
				t.Fatalf("Mime(%q) = %v; not bad input", ct, err)
			}
			return
		}
		if !allowedMime(m) {
			t.Fatalf("Mime(%q) = %q, not allowed", ct, m)
		}
		if again, err := Mime(m); err != nil || again != m {
			t.Fatalf("Mime(%q) = %q, %v", m, again, err)
		}
	})
}
