package tests

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/hugelgupf/p9/linux"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/nineclient"
	"github.com/cohesix/cohesix/internal/ticket"
)

// TestNineclientPipeline drives the pipelined session the telemetry
// benchmark, coh telemetry pull and bulk pushes use against a hosted root
// task: Ingest.NewSegment (ctl write and latest read in one exchange), a
// segment's records appended in one exchange, ReadFile in one exchange and
// across several, an Append longer than one exchange, an Append at the
// file's end, errors that leave the session usable, and an Append refused
// part way: the first refusal is reported and the records sent after it
// change nothing.
func TestNineclientPipeline(t *testing.T) {
	rt := startRootTask(t, binaries(t, "roottask"), false)
	q := rt.nine(t, ticket.RoleQueen, "")
	pl, err := q.Pipeline()
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	in, err := pl.Ingest("/queen/telemetry", "pipe")
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
	got, sz, err := pl.ReadFile(path, 0, generated.TelemetryIngestMaxBytesPerSegment)
	if err != nil || sz != uint64(len(want)) || !bytes.Equal(got, want) {
		t.Fatalf("ReadFile: %d bytes, size %d, %v; want the %d records in order", len(got), sz, err, n)
	}
	// 1 MiB asked: more reads than one exchange holds; the short read ends it.
	if got, _, err := pl.ReadFile(path, 5000, 1<<20); err != nil || !bytes.Equal(got, want[5000:]) {
		t.Fatalf("ReadFile past the end: %d bytes, %v; want %d", len(got), err, len(want)-5000)
	}
	if got, err := q.ReadFrom(path, 0, 0); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the same segment through hugelgupf/p9's client: %d bytes, %v", len(got), err)
	}

	// Errors leave the session usable: a missing file, then the next append.
	if _, _, err := pl.ReadFile("/queen/telemetry/pipe/seg/seg-999999", 0, 10); !errors.Is(err, linux.ENOENT) {
		t.Fatalf("ReadFile of a missing segment: %v; want ENOENT", err)
	}
	if _, err := pl.Append("/queen/telemetry/pipe/seg/seg-999999", 0, recs[0]); !errors.Is(err, linux.ENOENT) {
		t.Fatalf("Append to a missing segment: %v; want ENOENT", err)
	}

	// Forty short records: three exchanges; then two more at the end (-1).
	seg2, err := in.NewSegment("text/plain")
	if err != nil {
		t.Fatal(err)
	}
	var short [][]byte
	var wantShort []byte
	for i := range 42 {
		r := []byte(strings.Repeat(string(rune('A'+i%26)), 20) + "\n")
		short = append(short, r)
		wantShort = append(wantShort, r...)
	}
	if got, err := in.Append(seg2, 0, short[:40]...); err != nil || got != 40*21 {
		t.Fatalf("Append of 40 records = %d, %v; want %d", got, err, 40*21)
	}
	if got, err := pl.Append("/queen/telemetry/pipe/seg/"+seg2, -1, short[40:]...); err != nil || got != 2*21 {
		t.Fatalf("Append at the end = %d, %v; want %d", got, err, 2*21)
	}
	if got, err := q.Read("/queen/telemetry/pipe/seg/"+seg2, 0); err != nil || !bytes.Equal(got, wantShort) {
		t.Fatalf("segment of short records: %q, %v", got, err)
	}

	// The fourth record is one byte over max_record_bytes: records 1-3
	// land, the fourth is refused, and the rest fail the offset check.
	seg3, err := in.NewSegment("text/plain")
	if err != nil {
		t.Fatal(err)
	}
	bad := append([][]byte{}, recs...)
	bad[3] = append(bytes.Repeat([]byte{'x'}, size), '\n')
	wrote, err := in.Append(seg3, 0, bad...)
	if err == nil || wrote != 3*size {
		t.Fatalf("Append with an oversized fourth record = %d, %v; want %d and an error", wrote, err, 3*size)
	}
	if got, err := q.Read("/queen/telemetry/pipe/seg/"+seg3, 0); err != nil || !bytes.Equal(got, want[:3*size]) {
		t.Fatalf("segment after the refusal: %d bytes, %v; want the first three records", len(got), err)
	}

	// Push: three segments, one exchange each after the first; records
	// without a newline get one. Then a push refused in its second
	// segment: the first is whole, the second holds what came before the
	// refusal, and no third segment is made.
	var segs []nineclient.Segment
	var wantSegs [][]byte
	for i := range 3 {
		var g nineclient.Segment
		var w []byte
		for k := range 5 + i {
			r := []byte(strings.Repeat(string(rune('k'+i)), 100+k))
			g.Records = append(g.Records, r)
			w = append(append(w, r...), '\n')
		}
		g.Mime = "text/plain"
		segs = append(segs, g)
		wantSegs = append(wantSegs, w)
	}
	ids, wrote, err := in.Push(segs)
	if err != nil || len(ids) != 3 || ids[0] == ids[1] || ids[1] == ids[2] {
		t.Fatalf("Push = %v, %d, %v; want three new segments", ids, wrote, err)
	}
	for i, id := range ids {
		if got, err := q.Read("/queen/telemetry/pipe/seg/"+id, 0); err != nil || !bytes.Equal(got, wantSegs[i]) {
			t.Errorf("pushed segment %d (%s): %q, %v; want %q", i, id, got, err, wantSegs[i])
		}
	}
	segs[1].Records[2] = bytes.Repeat([]byte{'x'}, size) // over max_record_bytes with its newline
	ids, _, err = in.Push(segs)
	if err == nil || len(ids) != 3 {
		t.Fatalf("Push with a bad record in the second segment = %v, %v; want an error and the segments made", ids, err)
	}
	for i, want := range [][]byte{wantSegs[0], wantSegs[1][:2*100+1+2], nil} {
		if got, _ := q.Read("/queen/telemetry/pipe/seg/"+ids[i], 0); !bytes.Equal(got, want) {
			t.Errorf("segment %d of the refused push: %q; want %q", i, got, want)
		}
	}
	if latest, _ := q.Read("/queen/telemetry/pipe/latest", 0); strings.TrimSpace(string(latest)) != ids[2] {
		t.Errorf("latest after the refused push = %q; want %s", latest, ids[2])
	}
}
