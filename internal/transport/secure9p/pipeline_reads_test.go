package secure9p

import (
	"bytes"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hugelgupf/p9/linux"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/nineclient"
)

// exchangeCounter is a loopback proxy in front of a hive that counts a
// synchronous client's exchanges: a burst of requests sent after the last
// replies arrived is one more round trip.
type exchangeCounter struct {
	addr string
	mu   sync.Mutex
	n    int
	idle bool // replies have passed since the last requests
}

func countExchanges(t *testing.T, upstream string) *exchangeCounter {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	c := &exchangeCounter{addr: l.Addr().String(), idle: true}
	go func() {
		for {
			down, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", upstream)
			if err != nil {
				down.Close()
				return
			}
			t.Cleanup(func() { down.Close(); up.Close() })
			go c.copy(up, down, true)
			go c.copy(down, up, false)
		}
	}()
	return c
}

func (c *exchangeCounter) copy(dst, src net.Conn, requests bool) {
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			c.mu.Lock()
			if requests && c.idle {
				c.n++
			}
			c.idle = !requests
			c.mu.Unlock()
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			dst.Close()
			return
		}
	}
}

// since returns the exchanges counted since the mark before.
func (c *exchangeCounter) since(before int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n - before
}

func (c *exchangeCounter) mark() int { return c.since(0) }

// A Pipeline lists a directory that fits in one Rreaddir in one round
// trip (Secure9P fills a Treaddir greedily, so a reply with room left is
// the end), reads on when a listing is longer than one reply, and packs
// several files' reads into as few exchanges as the tag window allows,
// one file's reads continuing in the next exchange, each file's refusal
// its own.
func TestPipelineListingsAndPackedReads(t *testing.T) {
	cfg := unthrottled()
	workers := 2 * (generated.Secure9pMsize / (24 + len("worker-000")))
	cfg.MaxWorkers = workers
	h := startHiveQueen(t, cfg, bootText)
	qroot := h.mustDial(t, queenTicket(t))
	for range workers {
		h.spawn(t, qroot)
	}
	want, err := listDir(qroot, "/worker")
	if err != nil || len(want) != workers {
		t.Fatalf("/worker through hugelgupf/p9's client: %d names, %v; want %d", len(want), err, workers)
	}
	ex := countExchanges(t, h.addr)
	pl, err := nineclient.DialPipeline(ex.addr, queenTicket(t), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()

	at := ex.mark()
	names, err := pl.ReadDir("/proc")
	if err != nil || !slices.Contains(names, "boot") {
		t.Fatalf("ReadDir /proc = %v, %v", names, err)
	}
	if n := ex.since(at); n != 1 {
		t.Errorf("ReadDir of /proc took %d exchanges; a listing that fits one reply is one", n)
	}
	at = ex.mark()
	if names, err = pl.ReadDir("/worker"); err != nil || !slices.Equal(names, want) {
		t.Fatalf("ReadDir /worker: %d names, %v; want the %d hugelgupf/p9 lists", len(names), err, len(want))
	}
	if n := ex.since(at); n < 2 {
		t.Errorf("ReadDir of %d workers took %d exchanges; more than one reply's worth needs more", workers, n)
	}
	if _, err := pl.ReadDir("/no-such-dir"); !errors.Is(err, linux.ENOENT) {
		t.Fatalf("ReadDir of a missing directory: %v; want ENOENT", err)
	}

	// Three telemetry segments of different sizes, read with one missing
	// among them.
	in, err := pl.Ingest("/queen/telemetry", "packed")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var segs []string
	var data [][]byte
	for i, size := range []int{generated.TelemetryIngestMaxRecordBytes, 3 * generated.TelemetryIngestMaxRecordBytes, 100} {
		seg, err := in.NewSegment("text/plain")
		if err != nil {
			t.Fatal(err)
		}
		r := min(size, generated.TelemetryIngestMaxRecordBytes)
		rec := append(bytes.Repeat([]byte{'a' + byte(i)}, r-1), '\n')
		recs := [][]byte{}
		for range size / r {
			recs = append(recs, rec)
		}
		if _, err := in.Append(seg, 0, recs...); err != nil {
			t.Fatal(err)
		}
		segs, data = append(segs, seg), append(data, bytes.Join(recs, nil))
	}
	dir := "/queen/telemetry/packed/seg"
	limit := generated.TelemetryIngestMaxBytesPerSegment
	files := []nineclient.FileRead{
		{Path: dir + "/" + segs[0], Buf: make([]byte, limit)},
		{Path: dir + "/seg-999999", Buf: make([]byte, limit)},
		{Path: dir + "/" + segs[1], Off: 100, Buf: make([]byte, limit)},
		{Path: dir + "/" + segs[2], Buf: make([]byte, limit)},
		{Path: dir + "/" + segs[0], Off: 10, Buf: make([]byte, 1<<20)}, // more reads than one exchange holds
	}
	at = ex.mark()
	if err := pl.ReadFiles(files); err != nil {
		t.Fatal(err)
	}
	wantData := [][]byte{data[0], nil, data[1][100:], data[2], data[0][10:]}
	for i, f := range files {
		if i == 1 {
			if !errors.Is(f.Err, linux.ENOENT) {
				t.Errorf("missing segment: %v; want ENOENT", f.Err)
			}
			continue
		}
		if f.Err != nil || !bytes.Equal(f.Data, wantData[i]) {
			t.Errorf("file %d (%s from %d): %d bytes, %v; want %d", i, f.Path, f.Off, len(f.Data), f.Err, len(wantData[i]))
		}
	}
	perFile := 3 + (limit+int(generated.Secure9pMsize)-12)/(int(generated.Secure9pMsize)-11)
	packed := (4*perFile + generated.Secure9pTagsPerSession - 1) / generated.Secure9pTagsPerSession
	if n := ex.since(at); n > packed+2 {
		t.Errorf("ReadFiles took %d exchanges; %d packed files fit in %d, the big one in 2 more", n, 4, packed)
	}

	// A cursor's segment goes with the listing; the rest follow it.
	var seen []string
	at = ex.mark()
	names, rest, err := pl.ReadDirFiles(dir, []nineclient.FileRead{{Path: dir + "/" + segs[1], Buf: make([]byte, limit)}},
		func(names []string) []nineclient.FileRead {
			seen = names
			i := slices.Index(names, segs[1])
			var out []nineclient.FileRead
			for _, s := range names[i+1:] {
				out = append(out, nineclient.FileRead{Path: dir + "/" + s, Buf: make([]byte, limit)})
			}
			return out
		})
	if err != nil || !slices.Equal(names, segs) || !slices.Equal(seen, segs) {
		t.Fatalf("ReadDirFiles: names %v (more saw %v), %v; want %v", names, seen, err, segs)
	}
	if len(rest) != 1 || rest[0].Err != nil || !bytes.Equal(rest[0].Data, data[2]) {
		t.Fatalf("ReadDirFiles rest: %+v", rest)
	}
	if n := ex.since(at); n > 2 {
		t.Errorf("ReadDirFiles of a listing, one segment ahead and one after took %d exchanges; want 2", n)
	}
}
