package syncfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReplace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "f")
	for _, want := range []string{"first\n", "second\n"} {
		if err := Replace(path, []byte(want)); err != nil {
			t.Fatalf("Replace(%q) = %v; want nil", want, err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != want {
			t.Fatalf("ReadFile = %q, %v; want %q", got, err, want)
		}
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries; want 1 (no temporary file left)", len(ents))
	}
}

func TestWriteCloseClosesOnError(t *testing.T) {
	f, err := os.Open(filepath.Join(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteClose(f, []byte("x")); err == nil {
		t.Fatal("WriteClose(directory) = nil; want an error")
	}
	if err := f.Close(); err == nil {
		t.Error("file still open after a failed WriteClose")
	}
}
