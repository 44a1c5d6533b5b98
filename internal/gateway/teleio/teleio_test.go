package teleio_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/gateway/teleio"
	"github.com/cohesix/cohesix/internal/gatewayapi"
	"github.com/cohesix/cohesix/internal/hive"
	"github.com/cohesix/cohesix/internal/ingest"
	"github.com/cohesix/cohesix/internal/nineclient"
	"github.com/cohesix/cohesix/internal/transport/secure9p"
)

const root = generated.ClientPoliciesCohTelemetryRoot

// session starts an in-process hive serving Secure9P on loopback and
// returns a queen session on it and its pipeline.
func session(t *testing.T) (*nineclient.Client, *nineclient.Pipeline) {
	t.Helper()
	h, err := hive.New(hive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- secure9p.NewServerOn(h.Door(), secure9p.DefaultConfig()).Serve(ctx, l) }()
	t.Cleanup(func() { cancel(); <-done; h.Close() })
	tok, err := nineclient.MintQueen(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cl, err := nineclient.Dial(l.Addr().String(), tok, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	pl, err := cl.Pipeline()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pl.Close() })
	return cl, pl
}

// stored reads a whole segment as the hive holds it.
func stored(t *testing.T, pl *nineclient.Pipeline, dev, seg string) []byte {
	t.Helper()
	var b bytes.Buffer
	size, n, err := teleio.Read(pl, root, dev, seg, 0, &b)
	if err != nil || n != size || int64(b.Len()) != n {
		t.Fatalf("Read %s/%s = %d, %d, %v", dev, seg, size, n, err)
	}
	return b.Bytes()
}

// payloads decodes a segment's envelope records: their payloads joined,
// and checks seq runs from 1.
func payloads(t *testing.T, seg []byte) string {
	t.Helper()
	var out strings.Builder
	for i, line := range strings.Split(strings.TrimSuffix(string(seg), "\n"), "\n") {
		var env struct {
			Schema  string `json:"schema"`
			Seq     int    `json:"seq"`
			Payload string `json:"payload"`
		}
		if err := json.Unmarshal([]byte(line), &env); err != nil || env.Seq != i+1 || env.Schema != ingest.PushSchema {
			t.Fatalf("record %d %q: %v", i, line, err)
		}
		out.WriteString(env.Payload)
	}
	return out.String()
}

// logLines is a body of n lines of varied text, escapes included.
func logLines(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "ts=%d gpu=0 temp=%dC note=\"é\\%s\"\n", i, 40+i%30, strings.Repeat("x", i%97))
	}
	return b.String()
}

// TestPushIsWhatCohMakes: a body coh would push as one file becomes one
// segment holding exactly the records ingest.Chunk makes of that file.
func TestPushIsWhatCohMakes(t *testing.T) {
	_, pl := session(t)
	body := logLines(60)
	res, err := teleio.Push(pl, root, "edge-1", "text/plain", strings.NewReader(body))
	if err != nil || len(res.Segments) != 1 {
		t.Fatalf("Push = %+v, %v; want one segment", res, err)
	}
	recs, err := ingest.Chunk([]byte(body), "text/plain", ingest.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	want := append(bytes.Join(recs, []byte("\n")), '\n')
	if got := stored(t, pl, "edge-1", res.Segments[0]); !bytes.Equal(got, want) {
		t.Fatalf("segment holds %d bytes; coh would store %d", len(got), len(want))
	}
	if res.Records != len(recs) || res.Bytes != int64(len(want)) || res.Device != "edge-1" {
		t.Fatalf("PushResult = %+v; want %d records, %d bytes", res, len(recs), len(want))
	}
}

// TestPushCutsLargeBodyAtLines: a body larger than a segment is cut into
// several, each whole lines within max_bytes_per_segment, and the
// segments' payloads in order are the body.
func TestPushCutsLargeBodyAtLines(t *testing.T) {
	_, pl := session(t)
	body := logLines(1300) // about 90 KB: three segments, within the device's total
	res, err := teleio.Push(pl, root, "edge-2", "application/x-ndjson", strings.NewReader(body))
	if err != nil || len(res.Segments) < 3 {
		t.Fatalf("Push = %+v, %v; want at least three segments", res, err)
	}
	var whole strings.Builder
	var total int64
	for _, id := range res.Segments {
		seg := stored(t, pl, "edge-2", id)
		if len(seg) > generated.TelemetryIngestMaxBytesPerSegment {
			t.Fatalf("segment %s is %d bytes", id, len(seg))
		}
		p := payloads(t, seg)
		if !strings.HasSuffix(p, "\n") {
			t.Fatalf("segment %s ends inside a line", id)
		}
		whole.WriteString(p)
		total += int64(len(seg))
	}
	if whole.String() != body || total != res.Bytes {
		t.Fatalf("segments hold %d payload bytes (%d stored, result says %d); body is %d", whole.Len(), total, res.Bytes, len(body))
	}
}

// TestPushRefusesBadInputBeforeSending: a bad device, mime or first
// segment is refused as bad input and makes no segment.
func TestPushRefusesBadInputBeforeSending(t *testing.T) {
	cl, pl := session(t)
	long := strings.Repeat("y", generated.TelemetryIngestMaxBytesPerSegment) + "\n"
	cases := []struct{ name, dev, mime, body string }{
		{"device with a slash", "a/b", "text/plain", "x\n"},
		{"empty device", "", "text/plain", "x\n"},
		{"mime not allowed", "edge-3", "image/png", "x\n"},
		{"empty body", "edge-3", "text/plain", ""},
		{"not UTF-8", "edge-3", "text/plain", "ok\n\xff\xfe\n"},
		{"a line no segment holds", "edge-3", "text/plain", "ok\n" + long},
	}
	for _, c := range cases {
		res, err := teleio.Push(pl, root, c.dev, c.mime, strings.NewReader(c.body))
		if !teleio.IsBadInput(err) || len(res.Segments) != 0 {
			t.Errorf("%s: Push = %+v, %v; want bad input and no segment", c.name, res, err)
		}
	}
	segs, err := teleio.List(cl, root)
	if err != nil {
		t.Fatal(err)
	}
	if len(segs.Segments) != 0 {
		t.Fatalf("segments after refused pushes: %+v", segs)
	}
}

// TestPushMidStreamFailureSaysWhatWasWritten: a refused line after the
// first segment ends the push; the result names the segments made, which
// the hive holds.
func TestPushMidStreamFailureSaysWhatWasWritten(t *testing.T) {
	cl, pl := session(t)
	body := logLines(600) + strings.Repeat("z", generated.TelemetryIngestMaxBytesPerSegment+1) + "\n"
	res, err := teleio.Push(pl, root, "edge-4", "text/plain", strings.NewReader(body))
	if !teleio.IsBadInput(err) || len(res.Segments) < 2 || !strings.Contains(err.Error(), "max_bytes_per_segment") {
		t.Fatalf("Push = %+v, %v; want bad input after segments", res, err)
	}
	segs, err := teleio.List(cl, root)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range segs.Segments {
		ids = append(ids, s.Seg)
	}
	if fmt.Sprint(ids) != fmt.Sprint(res.Segments) {
		t.Fatalf("hive holds %v; result says %v", ids, res.Segments)
	}
}

// failingReader yields its data, then err.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if errors.Is(err, io.EOF) {
		return n, f.err
	}
	return n, err
}

// TestPushBodyErrorIsNotBadInput: a body that breaks off (a client gone)
// is the reader's error, not a refusal of the input.
func TestPushBodyErrorIsNotBadInput(t *testing.T) {
	_, pl := session(t)
	cut := errors.New("client went away")
	res, err := teleio.Push(pl, root, "edge-5", "text/plain", &failingReader{strings.NewReader(logLines(600)), cut})
	if !errors.Is(err, cut) || teleio.IsBadInput(err) || len(res.Segments) == 0 {
		t.Fatalf("Push = %+v, %v; want the reader's error after segments", res, err)
	}
}

// TestReadResumesFromCursor: reads from an offset return the rest of the
// segment and its size; at the size nothing; an unknown segment is
// ErrNotFound; a bad cursor is bad input.
func TestReadResumesFromCursor(t *testing.T) {
	cl, pl := session(t)
	res, err := teleio.Push(pl, root, "edge-6", "text/plain", strings.NewReader(logLines(40)))
	if err != nil {
		t.Fatal(err)
	}
	seg := res.Segments[0]
	whole := stored(t, pl, "edge-6", seg)
	for _, off := range []int64{0, 1, int64(len(whole)) / 2, int64(len(whole)), int64(len(whole)) + 10} {
		var b bytes.Buffer
		size, n, err := teleio.Read(pl, root, "edge-6", seg, off, &b)
		want := whole[min(off, int64(len(whole))):]
		if err != nil || size != int64(len(whole)) || n != int64(len(want)) || !bytes.Equal(b.Bytes(), want) {
			t.Errorf("Read from %d = %d, %d, %v; want size %d and %d bytes", off, size, n, err, len(whole), len(want))
		}
	}
	if _, _, err := teleio.Read(pl, root, "edge-6", "seg-999999", 0, io.Discard); !errors.Is(err, teleio.ErrNotFound) {
		t.Errorf("Read of an unknown segment = %v; want ErrNotFound", err)
	}
	if _, _, err := teleio.Read(pl, root, "nodev", seg, 0, io.Discard); !errors.Is(err, teleio.ErrNotFound) {
		t.Errorf("Read on an unknown device = %v; want ErrNotFound", err)
	}
	for _, c := range []struct {
		dev, seg string
		off      int64
	}{{"edge-6", seg, -1}, {"..", seg, 0}, {"edge-6", "a/b", 0}, {"edge-6", "seg\n", 0}} {
		if _, _, err := teleio.Read(pl, root, c.dev, c.seg, c.off, io.Discard); !teleio.IsBadInput(err) {
			t.Errorf("Read(%q, %q, %d) = %v; want bad input", c.dev, c.seg, c.off, err)
		}
	}
	segs, err := teleio.List(cl, root)
	want := gatewayapi.Segments{Segments: []gatewayapi.Segment{{Device: "edge-6", Seg: seg, Size: int64(len(whole))}}}
	if err != nil || fmt.Sprint(segs) != fmt.Sprint(want) {
		t.Fatalf("List = %+v, %v; want %+v", segs, err, want)
	}
}

// TestMime: the push allowlist's types, UTF-8 only.
func TestMime(t *testing.T) {
	for ct, want := range map[string]string{
		"text/plain": "text/plain", "text/plain; charset=utf-8": "text/plain",
		"application/x-ndjson": "application/x-ndjson", "application/json": "application/json", "text/csv": "text/csv",
	} {
		if got, err := teleio.Mime(ct); err != nil || got != want {
			t.Errorf("Mime(%q) = %q, %v; want %q", ct, got, err, want)
		}
	}
	for _, ct := range []string{"", "image/png", "text/plain; charset=latin1", "text/"} {
		if _, err := teleio.Mime(ct); !teleio.IsBadInput(err) {
			t.Errorf("Mime(%q) = %v; want bad input", ct, err)
		}
	}
}
