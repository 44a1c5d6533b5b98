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

// LocalSize is what a pull finds of a segment at path: the local copy's
// size, and whether there is one.
func LocalSize(path string) (size int64, exists bool, err error) {
	st, err := os.Stat(path)
	switch {
	case os.IsNotExist(err):
		return 0, false, nil
	case err != nil:
		return 0, false, err
	case !st.Mode().IsRegular():
		return 0, false, fmt.Errorf("%s is not a regular file", path)
	}
	return st.Size(), true, nil
}

// PlanSegment decides how to pull a segment of remoteSize bytes given the
// local copy (LocalSize): the hive's segments are append-only, so a local
// file that is a prefix of the remote one is resumed from its end; an
// equal size is skipped; anything longer is stale (the id was evicted and
// cannot return, since ids are never reused) and is fetched again. It
// returns the offset to fetch from.
func PlanSegment(local int64, exists bool, remoteSize int64) (PullDecision, int64) {
	switch {
	case !exists:
		return PullFetch, 0
	case local == remoteSize:
		return PullSkip, local
	case local < remoteSize:
		return PullResume, local
	}
	return PullFetch, 0
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
