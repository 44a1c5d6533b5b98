package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseStatus(t *testing.T) {
	text := "status epoch=4 state=chunks_pending\nmanifest_bytes=900 manifest_pending_bytes=0\n" +
		"chunks_expected=50 chunks_committed=25 chunks_pending=1 chunks_missing=24\n" +
		"payload_bytes=409600 payload_sha256=ab12\ndelta_base_epoch=none delta_base_sha256=none\n"
	st, err := parseStatus(text)
	if err != nil || st.state != "chunks_pending" || st.expected != 50 || st.committed != 25 || st.pending != 1 || st.missing != 24 || st.sha != "ab12" {
		t.Fatalf("parseStatus = %+v, %v", st, err)
	}
	if _, err := parseStatus("nonsense"); err == nil {
		t.Fatal("a status without a state parsed")
	}
}

func TestRecordsFitOneTwrite(t *testing.T) {
	for _, n := range []int{1, maxRecord, maxRecord + 1, 8192, 3 * maxRecord} {
		b := bytes.Repeat([]byte{7}, n)
		recs := records(b)
		if !bytes.Equal(bytes.Join(recs, nil), b) {
			t.Fatalf("records(%d) lost bytes", n)
		}
		for _, r := range recs {
			if len(r) == 0 || len(r) > maxRecord {
				t.Fatalf("records(%d): a record of %d bytes", n, len(r))
			}
		}
	}
}

// TestUploadRefusesBeforeDialling: usage errors exit 2; a directory that
// is no bundle and an address where no hive listens exit 1 and say what
// to do; --json still prints one object.
func TestUploadRefusesBeforeDialling(t *testing.T) {
	if code, _, errs := runT("upload", t.TempDir(), "--sessions", "0"); code != exitUsage || !strings.Contains(errs, "--sessions") {
		t.Fatalf("--sessions 0 = %d %q", code, errs)
	}
	if code, _, errs := runT("upload", t.TempDir()); code != exitFailed || !strings.Contains(errs, "cas-tool pack") {
		t.Fatalf("upload of an empty directory = %d %q", code, errs)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.WriteFile(in, []byte("x"), 0o644)
	b := filepath.Join(dir, "b")
	if code, _, errs := runT("pack", in, "--out", b, "--epoch", "1"); code != exitOK {
		t.Fatal(errs)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	code, out, errs := runT("upload", b, "--addr", addr, "--json")
	var r uploadResult
	if code != exitFailed || json.Unmarshal([]byte(out), &r) != nil || r.Epoch != "1" || !strings.Contains(r.Error, "is roottask running") || !strings.Contains(errs, addr) {
		t.Fatalf("upload to %s = %d %q %q", addr, code, out, errs)
	}
}
