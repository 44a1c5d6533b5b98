package secure9p

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hugelgupf/p9/linux"
)

// pipeConn serves one connection over net.Pipe, whose every client Write
// reaches the server in one read: a batch arrives whole, deterministically.
func (h *hive) pipeConn(t *testing.T, wrap func(net.Conn) net.Conn) *raw {
	t.Helper()
	cli, srvEnd := net.Pipe()
	t.Cleanup(func() { cli.Close() })
	go h.srv.ServeConn(wrap(srvEnd))
	cli.SetDeadline(time.Now().Add(10 * time.Second))
	return &raw{t: t, nc: cli}
}

func plain(c net.Conn) net.Conn { return c }

// countLog is the number of retained log lines holding sub.
func (h *hive) countLog(sub string) int { return strings.Count(h.logText(), sub) }

// A batch of six frames against a queue depth of four: the first four are
// answered, the last two refused EBUSY in arrival order with one audit
// line for the batch, and the connection goes on.
func TestQueueDepthOverflow(t *testing.T) {
	h := startHive(t, func(c *Config) { c.BatchFrames = 4 })
	r := h.pipeConn(t, plain)
	r.version(8192)
	if e := r.attach(1, queenTicket(t)); e != 0 {
		t.Fatalf("attach: errno %d", e)
	}
	busy := h.q.Pressure.Busy.Load()
	var batch []byte
	for tag := uint16(10); tag < 16; tag++ {
		batch = append(batch, frame(tTgetattr, tag, uint32(1), uint64(0x7ff))...)
	}
	r.send(batch)
	got := map[uint16]uint32{}
	var refusedOrder []uint16
	for range 6 {
		typ, tag, body := r.recv()
		if typ == tRlerror {
			got[tag] = le.Uint32(body)
			refusedOrder = append(refusedOrder, tag)
		} else {
			got[tag] = 0
		}
	}
	for tag := uint16(10); tag < 16; tag++ {
		want := uint32(0)
		if tag >= 14 {
			want = uint32(linux.EBUSY)
		}
		if e, ok := got[tag]; !ok || e != want {
			t.Errorf("tag %d: errno %d (answered %v); want %d", tag, e, ok, want)
		}
	}
	if len(refusedOrder) != 2 || refusedOrder[0] != 14 || refusedOrder[1] != 15 {
		t.Errorf("refusals in order %v; want [14 15]", refusedOrder)
	}
	line := "nine-door: batch refused reason=queue-depth-exceeded frames=6 depth=4 refused=2"
	if !h.logEventually(line) || h.countLog("queue-depth-exceeded") != 1 {
		t.Errorf("want exactly one audit line %q; log:\n%s", line, h.logText())
	}
	if got := h.ns.NineP().QueueBusy.Load(); got != 2 {
		t.Errorf("QueueBusy %d; want 2", got)
	}
	if got := h.q.Pressure.Busy.Load(); got != busy+2 {
		t.Errorf("busy pressure %d; want %d", got, busy+2)
	}
	// The session is intact, and a batch within the depth passes whole.
	batch = batch[:0]
	for tag := uint16(20); tag < 24; tag++ {
		batch = append(batch, frame(tTgetattr, tag, uint32(1), uint64(0x7ff))...)
	}
	r.send(batch)
	for range 4 {
		if typ, tag, body := r.recv(); typ == tRlerror {
			t.Errorf("tag %d after overflow: errno %d", tag, le.Uint32(body))
		}
	}
	if got := h.ns.NineP().Queued.Load(); got != 0 {
		t.Errorf("queued %d after the batches; want 0", got)
	}
}

// With the manifest's depth (batch_frames = tags_per_session) a full
// window sent as one batch passes: the receive queue never refuses a
// client that keeps within the tag window.
func TestFullWindowBatchPasses(t *testing.T) {
	h := startHive(t)
	r := h.pipeConn(t, plain)
	r.version(8192)
	if e := r.attach(1, queenTicket(t)); e != 0 {
		t.Fatalf("attach: errno %d", e)
	}
	var batch []byte
	n := DefaultConfig().Tags
	for tag := range uint16(n) {
		batch = append(batch, frame(tTgetattr, 100+tag, uint32(1), uint64(0x7ff))...)
	}
	r.send(batch)
	seen := map[uint16]bool{}
	for range n {
		typ, tag, body := r.recv()
		if typ == tRlerror {
			t.Errorf("tag %d: errno %d", tag, le.Uint32(body))
		}
		if seen[tag] {
			t.Errorf("tag %d answered twice", tag)
		}
		seen[tag] = true
	}
}

// shortConn takes at most n bytes of each Write without an error: a
// transport that accepts N bytes per write.
type shortConn struct {
	net.Conn
	n int
}

func (s *shortConn) Write(b []byte) (int, error) {
	if len(b) > s.n {
		b = b[:s.n]
	}
	return s.Conn.Write(b)
}

// Policy reject: the first short reply write ends the connection, counted
// once and audited once.
func TestShortWriteReject(t *testing.T) {
	h := startHive(t, func(c *Config) { c.ShortWrite = ShortWrite{} })
	r := h.pipeConn(t, func(c net.Conn) net.Conn { return &shortConn{Conn: c, n: 8} })
	r.send(frame(tTversion, noTag, uint32(8192), "9P2000.L"))
	got := make([]byte, 64)
	n, _ := r.nc.Read(got)
	if n != 8 {
		t.Errorf("first read %d bytes; want the 8 the transport took", n)
	}
	if m, err := r.nc.Read(got); err == nil {
		t.Errorf("connection still open after a short write (read %d bytes)", m)
	}
	st := h.ns.NineP()
	if st.ShortWrites.Load() != 1 || st.Retries.Load() != 0 {
		t.Errorf("short_writes total=%d retries=%d; want 1 and 0", st.ShortWrites.Load(), st.Retries.Load())
	}
	if !h.logEventually("nine-door: short write policy=reject wrote=8 of=") || h.countLog("short write policy=") != 1 {
		t.Errorf("want one short-write audit line; log:\n%s", h.logText())
	}
}

// Policy retry: each reply is written on in pieces, up to the retry
// budget, and the session works; the retries are counted.
func TestShortWriteRetry(t *testing.T) {
	h := startHive(t, func(c *Config) {
		c.ShortWrite = ShortWrite{Retry: true, Attempts: 3, Base: time.Millisecond}
	})
	r := h.pipeConn(t, func(c net.Conn) net.Conn { return &shortConn{Conn: c, n: 64} })
	r.version(8192) // 23 bytes: one write
	if e := r.attach(1, queenTicket(t)); e != 0 {
		t.Fatalf("attach: errno %d", e)
	}
	st := h.ns.NineP()
	if st.ShortWrites.Load() != 0 {
		t.Fatalf("short writes %d before a reply over 64 bytes", st.ShortWrites.Load())
	}
	// Rgetattr is 160 bytes: 64 + 64 + 32, two retries.
	r.send(frame(tTgetattr, 5, uint32(1), uint64(0x7ff)))
	typ, tag, body := r.recv()
	if typ == tRlerror || tag != 5 || len(body) != 153 {
		t.Fatalf("getattr: type %d tag %d body %d bytes", typ, tag, len(body))
	}
	if st.ShortWrites.Load() != 1 || st.Retries.Load() != 2 {
		t.Errorf("short_writes total=%d retries=%d; want 1 and 2", st.ShortWrites.Load(), st.Retries.Load())
	}
	if e := r.call(frame(tTgetattr, 6, uint32(1), uint64(0x7ff))); e != 0 {
		t.Errorf("second getattr: errno %d", e)
	}
	if strings.Contains(h.logText(), "short write policy=") {
		t.Errorf("a retried short write was audited as a failure")
	}
}

func TestCountFrames(t *testing.T) {
	two := append(frame(tTclunk, 1, uint32(1)), frame(tTclunk, 2, uint32(2))...)
	for _, tc := range []struct {
		name string
		b    []byte
		want int
	}{
		{"empty", nil, 0},
		{"two", two, 2},
		{"two and a partial", append(append([]byte{}, two...), 20, 0, 0, 0, tTclunk), 2},
		{"stops at a size below the header", append(append([]byte{}, two...), 3, 0, 0, 0, 0, 0, 0, 0), 2},
		{"header only, body missing", two[:9], 0},
	} {
		if got := countFrames(tc.b); got != tc.want {
			t.Errorf("%s: %d frames; want %d", tc.name, got, tc.want)
		}
	}
}

// FuzzCountFrames: the frames counted lie within b, each at least a
// header long.
func FuzzCountFrames(f *testing.F) {
	f.Add(append(frame(tTclunk, 1, uint32(1)), frame(tTread, 2, uint32(2), uint64(0), uint32(1))...))
	f.Add([]byte{7, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		n := countFrames(b)
		off := 0
		for range n {
			size := int(le.Uint32(b[off:]))
			if size < headerLen || off+size > len(b) {
				t.Fatalf("counted a frame of %d bytes at %d in %d", size, off, len(b))
			}
			off += size
		}
	})
}
