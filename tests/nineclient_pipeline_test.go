package tests

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/ticket"
)

// TestNineclientPipelinedIngest drives the client paths the telemetry
// benchmark and coh telemetry pull use against a hosted root task:
// Ingest.NewSegment, a pipelined Append of a segment's records, File.Size
// and ReadSpan, ReadFrom; and a pipelined Append refused part way: the
// first refusal is reported and the records sent after it change nothing.
func TestNineclientPipelinedIngest(t *testing.T) {
	rt := startRootTask(t, binaries(t, "roottask"), false)
	q := rt.nine(t, ticket.RoleQueen, "")
	in, err := q.Ingest("/queen/telemetry", "pipe")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	size := generated.TelemetryIngestMaxRecordBytes
	n := generated.TelemetryIngestMaxBytesPerSegment / size
	var recs [][]byte
	var want []byte
	for i := range n {
		r := append(bytes.Repeat([]byte{'a' + byte(i)}, size-1), '\n')
		recs = append(recs, r)
		want = append(want, r...)
	}
	seg, err := in.NewSegment("text/plain")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(seg, "seg-") {
		t.Fatalf("NewSegment = %q", seg)
	}
	if got, err := in.Append(seg, 0, recs...); err != nil || got != len(want) {
		t.Fatalf("Append = %d, %v; want %d", got, err, len(want))
	}
	path := "/queen/telemetry/pipe/seg/" + seg
	f, err := q.OpenRead(path)
	if err != nil {
		t.Fatal(err)
	}
	sz, err := f.Size()
	if err != nil || sz != uint64(len(want)) {
		t.Fatalf("Size = %d, %v; want %d", sz, err, len(want))
	}
	got, err := f.ReadSpan(0, int(sz))
	f.Close()
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("ReadSpan: %d bytes, %v; want the %d records in order", len(got), err, n)
	}
	if got, err := q.ReadSpan(path, 5000, 100000); err != nil || !bytes.Equal(got, want[5000:]) {
		t.Fatalf("ReadSpan past the end: %d bytes, %v; want %d", len(got), err, len(want)-5000)
	}
	if got, err := q.ReadFrom(path, 0, 0); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("ReadFrom: %d bytes, %v", len(got), err)
	}

	// The fourth record is one byte over max_record_bytes: records 1-3
	// land, the fourth is refused, and the rest fail the offset check.
	seg2, err := in.NewSegment("text/plain")
	if err != nil {
		t.Fatal(err)
	}
	bad := append([][]byte{}, recs...)
	bad[3] = append(bytes.Repeat([]byte{'x'}, size), '\n')
	wrote, err := in.Append(seg2, 0, bad...)
	if err == nil || wrote != 3*size {
		t.Fatalf("Append with an oversized fourth record = %d, %v; want %d and an error", wrote, err, 3*size)
	}
	if got, err := q.Read("/queen/telemetry/pipe/seg/"+seg2, 0); err != nil || !bytes.Equal(got, want[:3*size]) {
		t.Fatalf("segment after the refusal: %d bytes, %v; want the first three records", len(got), err)
	}
}
