package tests

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/nineclient"
	"github.com/cohesix/cohesix/internal/ticket"
)

// BenchmarkTelemetryThroughput measures telemetry push and pull through a
// hosted root task (a separate process, Secure9P over loopback TCP) for
// 1 MB and 100 MB, and in the same run the same bytes over raw loopback
// TCP two ways: request/response with the same message sizes (one
// 4096-byte record per round trip for push, one msize read per round trip
// for pull: the best any one-outstanding-request protocol can do) and a
// plain stream (64 KiB writes, one ack at the end: the wire's ceiling).
//
// A device holds at most max_total_bytes_per_device (128 KiB: four
// 32 KiB segments), so bytes move in rounds: push one round of
// max_segments_per_device segments, then pull that round; the next
// round's ctl lines evict it (evict-oldest). Push time and pull time are
// summed over the rounds separately. Records are max_record_bytes long,
// newline included, and every pulled byte is checked against the pushed.
//
// Both sides use the client code the tools use, a nineclient.Pipeline
// session: push is what coh telemetry push does, Ingest.Push (per segment
// one exchange: walk, open, the records, and the ctl line and read of
// latest that make the next segment); pull is what coh telemetry pull
// does per segment, one ReadFile exchange (walk, open, getattr, the
// reads).
//
// Durations are summed over b.N runs of each size.
//
//	go test ./tests -run '^$' -bench BenchmarkTelemetryThroughput/1MB -benchtime 20x
//	go test ./tests -run '^$' -bench BenchmarkTelemetryThroughput/100MB -benchtime 2x
func BenchmarkTelemetryThroughput(b *testing.B) {
	bin := binaries(b, "roottask")
	for _, size := range []int{1 << 20, 100 << 20} {
		b.Run(fmt.Sprintf("%dMB", size>>20), func(b *testing.B) {
			rt := startRootTask(b, bin, false)
			tcp := newTCPBase(b)
			var push, pull time.Duration
			for i := 0; i < b.N; i++ {
				pu, pl := pushPull(b, rt, "bench", size, tcp)
				push += pu
				pull += pl
			}
			// Totals over b.N runs: -benchtime Nx steadies the 1 MB case.
			moved := float64(size) * float64(b.N)
			mbps := func(d time.Duration) float64 { return moved / 1e6 / d.Seconds() }
			b.ReportMetric(mbps(push), "push_MB/s")
			b.ReportMetric(mbps(pull), "pull_MB/s")
			b.ReportMetric(mbps(tcp.rrPush), "tcp_rr_push_MB/s")
			b.ReportMetric(mbps(tcp.rrPull), "tcp_rr_pull_MB/s")
			b.ReportMetric(mbps(tcp.stream), "tcp_stream_MB/s")
			b.ReportMetric(tcp.rrPush.Seconds()/push.Seconds(), "push/tcp_rr")
			b.ReportMetric(tcp.rrPull.Seconds()/pull.Seconds(), "pull/tcp_rr")
			b.ReportMetric(tcp.stream.Seconds()/push.Seconds(), "push/tcp_stream")
			b.ReportMetric(tcp.stream.Seconds()/pull.Seconds(), "pull/tcp_stream")
		})
	}
}

// pushPull moves size bytes through device dev in rounds and returns the
// summed push and pull times.
func pushPull(b *testing.B, rt *rootTask, dev string, size int, tcp *tcpBase) (push, pull time.Duration) {
	pl, err := rt.nine(b, ticket.RoleQueen, "").Pipeline()
	if err != nil {
		b.Fatal(err)
	}
	defer pl.Close()
	rec := []byte(strings.Repeat("t", generated.TelemetryIngestMaxRecordBytes-1) + "\n")
	perSeg := generated.TelemetryIngestMaxBytesPerSegment / len(rec)
	segsPerRound := min(generated.TelemetryIngestMaxSegmentsPerDevice, generated.TelemetryIngestMaxTotalBytesPerDevice/(perSeg*len(rec)))
	want := bytes.Repeat(rec, perSeg) // one segment as pushed
	in, err := pl.Ingest("/queen/telemetry", dev)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	base := "/queen/telemetry/" + dev
	moved, pulled := 0, 0
	for moved < size {
		t0 := time.Now()
		type job struct {
			id string
			n  int // bytes for this segment
		}
		var round []job
		var segs []nineclient.Segment
		for s := 0; s < segsPerRound && moved < size; s++ {
			n := min(perSeg*len(rec), size-moved)
			var recs [][]byte
			for left := n; left > 0; left -= len(rec) {
				recs = append(recs, rec[len(rec)-min(len(rec), left):])
			}
			segs = append(segs, nineclient.Segment{Mime: "text/plain", Records: recs})
			round = append(round, job{n: n})
			moved += n
		}
		ids, _, err := in.Push(segs)
		if err != nil {
			b.Fatalf("push: %v", err)
		}
		for i := range round {
			round[i].id = ids[i]
		}
		t1 := time.Now()
		for _, j := range round {
			// As coh telemetry pull does for a segment with no local copy.
			data, _, err := pl.ReadFile(base+"/seg/"+j.id, 0, generated.ClientPoliciesCohTelemetryMaxBytesPerSegment)
			if err != nil {
				b.Fatalf("read %s: %v", j.id, err)
			}
			if !bytes.Equal(data, want[:j.n]) {
				b.Fatalf("read %s: %d bytes differ from those pushed", j.id, len(data))
			}
			pulled += len(data)
		}
		push += t1.Sub(t0)
		pull += time.Since(t1)
		n := 0
		for _, j := range round {
			n += j.n
		}
		tcp.round(n)
	}
	if pulled != size {
		b.Fatalf("pulled %d bytes of %d pushed", pulled, size)
	}
	return push, pull
}

// tcpServer answers the baseline's messages on loopback: 'w' a record
// (read it, reply 11 bytes like Rwrite), 'r' a read request (18 more
// bytes like Tread, reply n bytes), 's' a stream of n bytes (one ack).
func tcpServer() (net.Listener, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				hdr := make([]byte, 5)
				data := make([]byte, 1<<16)
				for {
					if _, err := io.ReadFull(c, hdr); err != nil {
						return
					}
					n := int(binary.LittleEndian.Uint32(hdr))
					switch hdr[4] {
					case 'w':
						if _, err := io.ReadFull(c, data[:n]); err != nil {
							return
						}
						c.Write(data[:11])
					case 'r':
						if _, err := io.ReadFull(c, data[:18]); err != nil {
							return
						}
						c.Write(data[:n])
					case 's':
						if _, err := io.CopyN(io.Discard, c, int64(n)); err != nil {
							return
						}
						c.Write(data[:1])
					}
				}
			}(c)
		}
	}()
	return l, nil
}

// baselineEnv makes the test binary serve tcpServer instead of running
// tests, so the baseline crosses processes as the root task's 9P does.
const baselineEnv = "COHESIX_TCP_BASELINE_SERVER"

// childServers are the servers this test binary runs as a child process
// instead of running tests, by environment variable; each is given that
// variable's value.
var childServers = map[string]func(string) (net.Listener, error){
	baselineEnv:  func(string) (net.Listener, error) { return tcpServer() },
	bareProxyEnv: bareProxy,
}

// TestMain runs a child server when asked (see startChild): it prints
// the server's address and serves until its stdin closes.
func TestMain(m *testing.M) {
	for env, serve := range childServers {
		if v := os.Getenv(env); v != "" {
			l, err := serve(v)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			fmt.Println(l.Addr())
			io.Copy(io.Discard, os.Stdin) // serve until the benchmark closes our stdin
			os.Exit(0)
		}
	}
	os.Exit(m.Run())
}

// startTCPServer runs tcpServer in a child process (this test binary) and
// returns its address: the root task is a separate process too, so both
// sides of the comparison pay the same cross-process wake-ups.
func startTCPServer(b *testing.B) string { return startChild(b, baselineEnv, "1") }

// startChild runs this test binary as the child server env names, given
// value, and returns its address; the server ends with the benchmark.
func startChild(b *testing.B, env, value string) string {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), env+"="+value)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { in.Close(); cmd.Wait() })
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatalf("%s server: %v", env, err)
	}
	return strings.TrimSpace(addr)
}

// tcpBase is the raw loopback TCP baseline, run after each 9P round on
// the same bytes so both see the same machine load: request/response push
// and pull (the 9P run's message sizes) and a stream, on one connection.
// Durations are summed over the rounds.
type tcpBase struct {
	b                      *testing.B
	c                      net.Conn
	rrPush, rrPull, stream time.Duration
}

func newTCPBase(b *testing.B) *tcpBase {
	c, err := net.Dial("tcp", startTCPServer(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return &tcpBase{b: b, c: c}
}

// round moves size bytes each way.
func (t *tcpBase) round(size int) {
	msg := func(kind byte, n, extra int) []byte {
		h := binary.LittleEndian.AppendUint32(nil, uint32(n))
		return append(append(h, kind), make([]byte, extra)...)
	}
	rec := generated.TelemetryIngestMaxRecordBytes
	chunk := generated.Secure9pMsize - 64
	rr := func(w []byte, unit, reply int) time.Duration {
		buf := make([]byte, reply)
		t0 := time.Now()
		for moved := 0; moved < size; moved += unit {
			t.c.Write(w)
			io.ReadFull(t.c, buf)
		}
		return time.Since(t0)
	}
	t.rrPush += rr(msg('w', rec, rec), rec, 11)
	t.rrPull += rr(msg('r', chunk, 18), chunk, chunk)
	buf := make([]byte, 1<<16)
	t0 := time.Now()
	t.c.Write(msg('s', size, 0))
	for done := 0; done < size; done += len(buf) {
		t.c.Write(buf[:min(len(buf), size-done)])
	}
	io.ReadFull(t.c, buf[:1])
	t.stream += time.Since(t0)
}
