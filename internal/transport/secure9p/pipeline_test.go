package secure9p

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// M9 figures and checks: several tags in flight per session, replies
// matched by tag. Tread and Tgetattr of /proc/boot, whose reply bytes
// identify the request they answer.

// openBoot walks fid 2 to /proc/boot and opens it on an attached raw
// connection.
func openBoot(tb testing.TB, r *raw) {
	tb.Helper()
	if e := r.call(frame(tTwalk, 1, uint32(1), uint32(2), uint16(2), "proc", "boot")); e != 0 {
		tb.Fatalf("walk: errno %d", e)
	}
	if e := r.call(frame(tTlopen, 1, uint32(2), uint32(0))); e != 0 {
		tb.Fatalf("lopen: errno %d", e)
	}
}

// attached is a raw TCP connection, versioned, attached as the queen, with
// /proc/boot open as fid 2.
func (h *hive) attached(tb testing.TB) *raw {
	tb.Helper()
	r := h.raw(tb)
	r.nc.SetDeadline(time.Time{})
	r.version(8192)
	if e := r.attach(1, queenTicket(tb)); e != 0 {
		tb.Fatalf("attach: errno %d", e)
	}
	openBoot(tb, r)
	return r
}

// readReq is a one-byte Tread of /proc/boot at off under tag.
func readReq(tag uint16, off uint64) []byte { return frame(tTread, tag, uint32(2), off, uint32(1)) }

// readReply reads one reply frame from br.
func readReply(br *bufio.Reader) (typ byte, tag uint16, body []byte, err error) {
	var hdr [7]byte
	if _, err = io.ReadFull(br, hdr[:]); err != nil {
		return 0, 0, nil, err
	}
	body = make([]byte, le.Uint32(hdr[:])-headerLen)
	_, err = io.ReadFull(br, body)
	return hdr[4], le.Uint16(hdr[5:]), body, err
}

// sessionRun is what one session of interleave saw.
type sessionRun struct {
	done   int // requests answered correctly
	maxIn  int // most requests in flight at once
	errors []error
}

// drive keeps window one-byte reads in flight on r until ops are
// answered: a tag is sent again only once its reply has come (the client
// side of "no tag reuse"), and every reply must be for a tag in flight
// and carry the byte its request asked for (matched by tag, never by
// position). Request i reads byte i mod len(boot). With batch, the
// requests whose tags are free go out together in one write (a batch of
// at most window frames, far below msize).
func drive(nc net.Conn, boot []byte, ops, window int, batch bool) sessionRun {
	var run sessionRun
	free := make(chan uint16, window)
	for t := range window {
		free <- uint16(100 + t)
	}
	var mu sync.Mutex
	want := map[uint16]byte{} // tag in flight → the byte it asked
	done := make(chan struct{})
	go func() {
		defer close(done)
		br := bufio.NewReader(nc)
		for run.done < ops {
			typ, tag, body, err := readReply(br)
			if err != nil {
				run.errors = append(run.errors, err)
				return
			}
			mu.Lock()
			b, ok := want[tag]
			delete(want, tag)
			mu.Unlock()
			switch {
			case !ok:
				run.errors = append(run.errors, fmt.Errorf("reply for tag %d not in flight", tag))
			case typ != tTread+1 || len(body) != 5 || body[4] != b:
				run.errors = append(run.errors, fmt.Errorf("tag %d: reply type %d body %x; want byte %q", tag, typ, body, b))
			default:
				run.done++
			}
			if len(run.errors) > 0 {
				nc.Close()
				return
			}
			free <- tag
		}
	}()
	var out []byte
	for i := 0; i < ops; {
		var tags []uint16
		select {
		case tag := <-free:
			tags = append(tags, tag)
		case <-done:
			return run
		}
		for batch && i+len(tags) < ops && len(free) > 0 {
			tags = append(tags, <-free)
		}
		out = out[:0]
		mu.Lock()
		for _, tag := range tags {
			off := uint64(i % len(boot))
			want[tag] = boot[off]
			out = append(out, readReq(tag, off)...)
			i++
		}
		run.maxIn = max(run.maxIn, len(want))
		mu.Unlock()
		if _, err := nc.Write(out); err != nil {
			<-done
			return run
		}
	}
	<-done
	return run
}

// interleave runs ops requests split over sessions connections at once,
// window in flight on each.
func interleave(tb testing.TB, h *hive, sessions, ops, window int) []sessionRun {
	conns := make([]*raw, sessions)
	for i := range conns {
		conns[i] = h.attached(tb)
	}
	runs := make([]sessionRun, sessions)
	var wg sync.WaitGroup
	for i, r := range conns {
		wg.Go(func() { runs[i] = drive(r.nc, bootText, ops/sessions, window, true) })
	}
	wg.Wait()
	return runs
}

// TestInterleavedSessions is M9's acceptance check 1: 10,000 requests
// over 4 sessions, each with its whole tag window in flight, all answered
// by tag: no reply for a tag not in flight, none lost, every session
// finished (no starvation), the queue and window never refusing a client
// that keeps within them.
func TestInterleavedSessions(t *testing.T) {
	h := startHive(t)
	busy := h.q.Pressure.Busy.Load()
	const sessions, ops = 4, 10000
	window := DefaultConfig().Tags
	for i, run := range interleave(t, h, sessions, ops, window) {
		for _, err := range run.errors {
			t.Errorf("session %d: %v", i, err)
		}
		if run.done != ops/sessions {
			t.Errorf("session %d: %d of %d answered", i, run.done, ops/sessions)
		}
		if run.maxIn < 2 {
			t.Errorf("session %d: at most %d in flight; want a pipelined session", i, run.maxIn)
		}
	}
	if got := h.q.Pressure.Busy.Load(); got != busy {
		t.Errorf("%d Busy refusals for clients within the tag window", got-busy)
	}
	if got := h.ns.NineP().Queued.Load(); got != 0 {
		t.Errorf("queued %d after every reply; want 0", got)
	}
}

// BenchmarkInterleaved4Sessions is TestInterleavedSessions timed: b.N
// one-byte reads over 4 sessions, 16 in flight on each.
func BenchmarkInterleaved4Sessions(b *testing.B) {
	h := startHiveBoot(b, bootText)
	b.ResetTimer()
	for _, run := range interleave(b, h, 4, max(b.N, 4), DefaultConfig().Tags) {
		if len(run.errors) > 0 {
			b.Fatal(run.errors[0])
		}
	}
}

// BenchmarkSmallReads compares one-byte reads on one connection waiting
// for each reply (oneAtATime) with the tag window kept full, one frame
// per write (pipelined) or the free tags' requests in one write (batched).
func BenchmarkSmallReads(b *testing.B) {
	for _, bc := range []struct {
		name   string
		window int
		batch  bool
	}{{"oneAtATime", 1, false}, {"pipelined", DefaultConfig().Tags, false}, {"batched", DefaultConfig().Tags, true}} {
		b.Run(bc.name, func(b *testing.B) {
			h := startHiveBoot(b, bootText)
			benchDrive(b, h.attached(b).nc, bc.window, bc.batch)
		})
		// The fair peer: the same client and reads against a bare
		// hugelgupf/p9 staticfs server holding the same bytes.
		b.Run("bare/"+bc.name, func(b *testing.B) {
			benchDrive(b, bareBoot(b).nc, bc.window, bc.batch)
		})
		// The physical ceiling: the same client against a loop that
		// answers each Tread from bootText as it reads it, one write per
		// reply, with no 9P server at all.
		b.Run("echo/"+bc.name, func(b *testing.B) {
			benchDrive(b, echoReads(b), bc.window, bc.batch)
		})
	}
}

// benchDrive times b.N one-byte reads of bootText on nc (fid 2 open).
func benchDrive(b *testing.B, nc net.Conn, window int, batch bool) {
	b.ReportAllocs()
	b.ResetTimer()
	run := drive(nc, bootText, b.N, window, batch)
	if len(run.errors) > 0 || run.done != b.N {
		b.Fatalf("%d of %d answered: %v", run.done, b.N, run.errors)
	}
}

// echoReads is a connection to a loop that answers every Tread with the
// byte of bootText at its offset (the reply drive expects), read by one
// goroutine through a buffer and written one reply per write.
func echoReads(b *testing.B) net.Conn {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	go func() {
		sc, err := l.Accept()
		if err != nil {
			return
		}
		defer sc.Close()
		br := bufio.NewReader(sc)
		req := make([]byte, 23) // size[4] type[1] tag[2] fid[4] offset[8] count[4]
		for {
			if _, err := io.ReadFull(br, req); err != nil {
				return
			}
			reply := frame(tTread+1, le.Uint16(req[5:]), uint32(1), []byte{bootText[le.Uint64(req[11:])]})
			if _, err := sc.Write(reply); err != nil {
				return
			}
		}
	}()
	nc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { nc.Close() })
	return nc
}

// bareBoot is a raw connection to a bare hugelgupf/p9 staticfs server
// holding bootText as "boot", versioned and attached, the file open as
// fid 2, as attached is for the hive.
func bareBoot(b *testing.B) *raw {
	r := (&hive{addr: bareServer(b, bootText)}).raw(b)
	r.nc.SetDeadline(time.Time{})
	r.version(8192)
	if e := r.attach(1, ""); e != 0 {
		b.Fatalf("attach: errno %d", e)
	}
	if e := r.call(frame(tTwalk, 1, uint32(1), uint32(2), uint16(1), "boot")); e != 0 {
		b.Fatalf("walk: errno %d", e)
	}
	if e := r.call(frame(tTlopen, 1, uint32(2), uint32(0))); e != 0 {
		b.Fatalf("lopen: errno %d", e)
	}
	return r
}
