package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// PullDecision says what a pull does with one segment.
type PullDecision int

const (
	PullFetch  PullDecision = iota // no local copy: fetch it whole
	PullResume                     // a local prefix: fetch the rest
	PullSkip                       // the local copy already matches
)

// PlanSegment decides how to pull a segment of remoteSize bytes into
// path: the hive's segments are append-only, so a local file that is a
// prefix of the remote one is resumed from its end; an equal size is
// skipped (re-checked by the caller's hash when --verify asks); anything
// longer is stale (the id was evicted and cannot return, since ids are
// never reused) and is fetched again.
func PlanSegment(path string, remoteSize int64) (PullDecision, int64, error) {
	st, err := os.Stat(path)
	switch {
	case os.IsNotExist(err):
		return PullFetch, 0, nil
	case err != nil:
		return PullFetch, 0, err
	case !st.Mode().IsRegular():
		return PullFetch, 0, fmt.Errorf("%s is not a regular file", path)
	case st.Size() == remoteSize:
		return PullSkip, st.Size(), nil
	case st.Size() < remoteSize:
		return PullResume, st.Size(), nil
	}
	return PullFetch, 0, nil
}

// LocalSize is the size of the local copy at path, 0 if there is none.
func LocalSize(path string) (int64, error) {
	st, err := os.Stat(path)
	switch {
	case os.IsNotExist(err):
		return 0, nil
	case err != nil:
		return 0, err
	case !st.Mode().IsRegular():
		return 0, fmt.Errorf("%s is not a regular file", path)
	}
	return st.Size(), nil
}

// SegmentPath is where a pull keeps one segment.
func SegmentPath(out, device, seg string) string {
	return filepath.Join(out, device, "seg", seg)
}

// HashFile is the hex SHA-256 of a file.
func HashFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	d := sha256.Sum256(b)
	return hex.EncodeToString(d[:]), nil
}

// SamePrefix reports whether local is a prefix of remote.
func SamePrefix(local, remote []byte) bool { return bytes.HasPrefix(remote, local) }
