// Package syncfile writes files whose contents must be on disk before the
// caller goes on: written, fsynced and closed, or replaced whole through a
// synced temporary file and a rename.
package syncfile

import (
	"os"
	"path/filepath"
)

// WriteClose writes b to f, syncs f and closes it. f is closed whatever
// fails; the error is the first step's that failed.
func WriteClose(f *os.File, b []byte) error {
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Replace replaces path with b, creating its directory (0o755) first. A
// reader, or a crash, sees the old contents or the new, never part: b goes
// to a synced temporary file beside path that is then renamed over it.
func Replace(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := WriteClose(tmp, b); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
