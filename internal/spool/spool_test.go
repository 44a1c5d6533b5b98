package spool

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestTornTails(t *testing.T) {
	whole := Encode(Encode(nil, []byte("one")), []byte("two"))
	for _, c := range []struct {
		name   string
		tail   []byte
		reason string
	}{
		{"clean", nil, ""},
		{"short header", []byte{3, 0, 0}, "short-header"},
		{"short payload", Encode(nil, []byte("three"))[:10], "short-payload"},
		{"bad checksum", func() []byte { b := Encode(nil, []byte("four")); b[9] ^= 1; return b }(), "bad-checksum"},
		{"bad length", []byte{0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0}, "bad-length"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "spool")
			if err := os.WriteFile(path, append(slices.Clone(whole), c.tail...), 0o600); err != nil {
				t.Fatal(err)
			}
			s, recs, torn, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got := []string{string(recs[0]), string(recs[1])}; len(recs) != 2 || !slices.Equal(got, []string{"one", "two"}) {
				t.Fatalf("records %q; want one, two", recs)
			}
			switch {
			case c.reason == "" && torn != nil:
				t.Fatalf("torn = %+v; want nil", torn)
			case c.reason != "" && (torn == nil || torn.Reason != c.reason || torn.Offset != int64(len(whole)) || torn.Dropped != int64(len(c.tail))):
				t.Fatalf("torn = %+v; want %s at %d dropping %d", torn, c.reason, len(whole), len(c.tail))
			}
			if err := s.Append([]byte("five")); err != nil {
				t.Fatal(err)
			}
			s.Close()
			_, recs, torn, err = Open(path)
			if err != nil || torn != nil || len(recs) != 3 || string(recs[2]) != "five" {
				t.Fatalf("reopen = %q, %+v, %v; want one two five, no tear", recs, torn, err)
			}
		})
	}
}

func FuzzScan(f *testing.F) {
	f.Add(Encode(nil, []byte("x")))
	f.Add([]byte{1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, good, _ := Scan(data)
		if good > int64(len(data)) {
			t.Fatal("good past the end")
		}
		var again []byte
		for _, r := range recs {
			again = Encode(again, r)
		}
		if string(again) != string(data[:good]) {
			t.Fatal("records do not re-encode to the good prefix")
		}
	})
}
