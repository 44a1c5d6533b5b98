package spool

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func strs(recs [][]byte) []string {
	var out []string
	for _, r := range recs {
		out = append(out, string(r))
	}
	return out
}

// TestCompactArchivesAndKeeps: after Compact the live spool holds what
// keep chose and takes appends after it; the archive holds the whole
// previous generation; a reopen reads the compacted records.
func TestCompactArchivesAndKeeps(t *testing.T) {
	dir := t.TempDir()
	path, archive := filepath.Join(dir, "spool"), filepath.Join(dir, "spool.1")
	s, _, _, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append([]byte("a"), []byte("b"), []byte("c"), []byte("d")); err != nil {
		t.Fatal(err)
	}
	newest := func(r [][]byte) [][]byte { return r[len(r)-2:] }
	if err := s.Compact(archive, newest); err != nil {
		t.Fatal(err)
	}
	if err := s.Append([]byte("e")); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Size() != s.Size() {
		t.Errorf("file size %d; Size() %d", st.Size(), s.Size())
	}
	s.Close()
	old, err := ReadFile(archive)
	if err != nil || !slices.Equal(strs(old), []string{"a", "b", "c", "d"}) {
		t.Fatalf("archive %q, %v; want a b c d", old, err)
	}
	s, recs, torn, err := Open(path)
	if err != nil || torn != nil || !slices.Equal(strs(recs), []string{"c", "d", "e"}) {
		t.Fatalf("reopen = %q, %+v, %v; want c d e", recs, torn, err)
	}
	s.Close()
}

// TestCompactionCrash: a crash after the live file was moved aside and
// before the compacted one took its place promotes the compacted file; a
// leftover compacted file next to a live one is dropped.
func TestCompactionCrash(t *testing.T) {
	for _, c := range []struct {
		name string
		live bool
		want []string
	}{
		{"live moved aside", false, []string{"new"}},
		{"half-written leftover", true, []string{"old"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "spool")
			if c.live {
				if err := os.WriteFile(path, Encode(nil, []byte("old")), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(path+tmpSuffix, Encode(nil, []byte("new")), 0o600); err != nil {
				t.Fatal(err)
			}
			s, recs, _, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			if !slices.Equal(strs(recs), c.want) {
				t.Errorf("records %q; want %q", recs, c.want)
			}
			if _, err := os.Stat(path + tmpSuffix); !os.IsNotExist(err) {
				t.Errorf("compaction leftover still there: %v", err)
			}
		})
	}
}

// TestReadFileTornTail: an operator's read stops at a torn tail and
// leaves the file as it is.
func TestReadFileTornTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool")
	data := append(Encode(nil, []byte("whole")), Encode(nil, []byte("torn"))[:6]...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	recs, err := ReadFile(path)
	if err != nil || !slices.Equal(strs(recs), []string{"whole"}) {
		t.Fatalf("ReadFile = %q, %v; want whole", recs, err)
	}
	if st, _ := os.Stat(path); st.Size() != int64(len(data)) {
		t.Errorf("ReadFile changed the file to %d bytes", st.Size())
	}
	if recs, err := ReadFile(path + ".missing"); err != nil || recs != nil {
		t.Errorf("ReadFile(missing) = %q, %v; want none", recs, err)
	}
}

// TestFailedCompactionKeepsAppendsLive: when a compaction cannot move the
// live file aside, records appended afterwards still go to the live file
// and are read back at the next Open.
func TestFailedCompactionKeepsAppendsLive(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.spool")
	s, _, _, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append([]byte("before")); err != nil {
		t.Fatal(err)
	}
	if err := s.Compact(filepath.Join(dir, "no-such-dir", "s.spool.1"), func(r [][]byte) [][]byte { return r }); err == nil {
		t.Fatal("compaction into a missing directory succeeded")
	}
	if err := s.Append([]byte("after")); err != nil {
		t.Fatalf("append after the failed compaction: %v", err)
	}
	s.Close()
	_, recs, torn, err := Open(path)
	if err != nil || torn != nil {
		t.Fatalf("reopen: %v torn=%v", err, torn)
	}
	if len(recs) != 2 || string(recs[0]) != "before" || string(recs[1]) != "after" {
		t.Errorf("records after reopen = %q; want before, after", recs)
	}
}
