package tests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/nineclient"
	"github.com/cohesix/cohesix/internal/ticket"
)

// cutProxy forwards TCP connections to a hive and cuts the first
// connection whose client has sent more than cutAfter bytes: it forwards
// exactly cutAfter bytes (so the hive sees a frame torn in half) and then
// closes both sides, the way a flaky link drops a session mid-stream.
// Later connections pass untouched.
type cutProxy struct {
	ln       net.Listener
	target   string
	cutAfter int64
	stall    bool // at the cut, stop forwarding but keep both sides open
	cuts     atomic.Int64
	cutOnce  sync.Once
	conns    atomic.Int64
}

func newCutProxy(t *testing.T, target string, cutAfter int64) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, cutAfter: cutAfter}
	t.Cleanup(func() { ln.Close() })
	go p.serve()
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.conns.Add(1)
		go p.pipe(c)
	}
}

func (p *cutProxy) pipe(c net.Conn) {
	defer c.Close()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer up.Close()
	go func() { io.Copy(c, up); c.Close() }()
	var sent int64
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			cut := false
			if sent+int64(n) > p.cutAfter {
				p.cutOnce.Do(func() { cut = true })
			}
			if cut {
				chunk = chunk[:p.cutAfter-sent]
			}
			if _, werr := up.Write(chunk); werr != nil {
				return
			}
			sent += int64(len(chunk))
			if cut {
				p.cuts.Add(1)
				if p.stall { // a hung link: swallow until the client gives up
					io.Copy(io.Discard, c)
				}
				return // closes both sides
			}
		}
		if err != nil {
			return
		}
	}
}

// poolRecords is n distinct one-line records of about 100 bytes.
func poolRecords(n int) ([][]byte, []byte) {
	var recs [][]byte
	var all []byte
	for i := range n {
		r := []byte(fmt.Sprintf("{\"rec\":%05d,\"pad\":\"%s\"}\n", i, strings.Repeat("x", 80)))
		recs = append(recs, r)
		all = append(all, r...)
	}
	return recs, all
}

// TestSessionPoolDrop (M15 acceptance 2 and 6): a push through the
// telemetry session pool whose connection is cut mid-stream, part way
// through its records, is retried a bounded number of times and the
// hive's segment holds every record exactly once, in order: no loss,
// no duplicate.
func TestSessionPoolDrop(t *testing.T) {
	rt := startRootTask(t, binaries(t, "roottask"), false)
	q := rt.nine(t, ticket.RoleQueen, "")
	n := generated.TelemetryIngestMaxBytesPerSegment / 110
	recs, want := poolRecords(n)
	proxy := newCutProxy(t, rt.NinePAddr, int64(len(want)/2))
	tok, err := nineclient.MintQueen(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var audit []string
	var mu sync.Mutex
	pool := nineclient.NewPool(nineclient.PoolConfig{Addr: proxy.addr(), Ticket: tok, Audit: func(l string) {
		mu.Lock()
		audit = append(audit, l)
		mu.Unlock()
	}})
	defer pool.Close()
	id, err := pool.PushSegment(context.Background(), generated.ClientPoliciesCohTelemetryRoot, "pool-drop", nineclient.Segment{Mime: "text/plain", Records: recs})
	if err != nil {
		t.Fatalf("PushSegment through a cut connection: %v (audit %q)", err, audit)
	}
	if proxy.cuts.Load() != 1 {
		t.Fatalf("the proxy cut %d connections; want 1 (records %d bytes)", proxy.cuts.Load(), len(want))
	}
	// One drop, so one re-dial; a busy hive may add refusals, each also
	// retried and audited, within retry.max_attempts.
	st := pool.Stats()
	if st.Drops != 1 || st.Retries < 1 || st.Dials != 2 || st.Retries >= int64(generated.ClientPoliciesRetryMaxAttempts) {
		t.Errorf("pool stats %+v; want one drop, two dials, 1..%d retries", st, generated.ClientPoliciesRetryMaxAttempts-1)
	}
	if len(audit) != int(st.Retries) || !strings.HasPrefix(audit[0], "pool retry kind=telemetry attempt=2 ") {
		t.Errorf("audit = %q; want one line per retry, the first for attempt 2", audit)
	}
	got, err := q.Read(generated.ClientPoliciesCohTelemetryRoot+"/pool-drop/seg/"+id, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the hive holds %d records (%d bytes); want exactly the %d sent (%d bytes), once each, in order",
			bytes.Count(got, []byte("\n")), len(got), n, len(want))
	}
}

// TestSessionPoolStall: a link that stops forwarding mid-stream without
// closing ends the operation at retry.timeout_ms (here 2 s), and the retry on a
// fresh session completes the segment exactly once.
func TestSessionPoolStall(t *testing.T) {
	rt := startRootTask(t, binaries(t, "roottask"), false)
	q := rt.nine(t, ticket.RoleQueen, "")
	recs, want := poolRecords(generated.TelemetryIngestMaxBytesPerSegment / 110)
	proxy := newCutProxy(t, rt.NinePAddr, int64(len(want)/2))
	proxy.stall = true
	tok, err := nineclient.MintQueen(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	retry := nineclient.ManifestRetry()
	retry.Timeout = 2 * time.Second // limit-literal-ok: shorter than the manifest's 5 s, long enough for a loaded machine
	pool := nineclient.NewPool(nineclient.PoolConfig{Addr: proxy.addr(), Ticket: tok, Retry: retry})
	defer pool.Close()
	id, err := pool.PushSegment(context.Background(), generated.ClientPoliciesCohTelemetryRoot, "pool-stall", nineclient.Segment{Mime: "text/plain", Records: recs})
	if err != nil || proxy.cuts.Load() != 1 || pool.Stats().Drops != 1 {
		t.Fatalf("PushSegment through a stalled link: %v (stalls %d, stats %+v)", err, proxy.cuts.Load(), pool.Stats())
	}
	if got, err := q.Read(generated.ClientPoliciesCohTelemetryRoot+"/pool-stall/seg/"+id, 0); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the hive holds %d bytes (%v); want the %d records once each", len(got), err, len(recs))
	}
}

// TestSessionPoolExhausted (M15 acceptance 5): with every telemetry
// session busy for longer than retry.timeout_ms, the next operation gets
// ErrPoolExhausted and the pool one audit line, and nothing is sent.
func TestSessionPoolExhausted(t *testing.T) {
	rt := startRootTask(t, binaries(t, "roottask"), false)
	tok, err := nineclient.MintQueen(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var audit atomic.Value
	retry := nineclient.ManifestRetry()
	retry.Timeout = 200 * time.Millisecond // limit-literal-ok: a short wait keeps the test quick
	pool := nineclient.NewPool(nineclient.PoolConfig{Addr: rt.NinePAddr, Ticket: tok, Telemetry: 1, Retry: retry,
		Audit: func(l string) { audit.Store(l) }})
	defer pool.Close()
	hold, held := make(chan struct{}), make(chan struct{})
	go pool.Do(context.Background(), nineclient.Telemetry, func(*nineclient.Pipeline) error {
		close(held)
		<-hold
		return nil
	})
	<-held
	ran := false
	err = pool.Do(context.Background(), nineclient.Telemetry, func(*nineclient.Pipeline) error { ran = true; return nil })
	close(hold)
	if !errors.Is(err, nineclient.ErrPoolExhausted) || ran {
		t.Fatalf("Do with the pool busy = %v (ran %v); want ErrPoolExhausted, not run", err, ran)
	}
	if err.Error() != "session pool exhausted: kind=telemetry sessions=1" {
		t.Errorf("error = %q", err)
	}
	if l, _ := audit.Load().(string); l != "pool exhausted kind=telemetry sessions=1 wait_ms=200" {
		t.Errorf("audit = %q", l)
	}
	// The control sessions are a separate class: they are free.
	if err := pool.Do(context.Background(), nineclient.Control, func(pl *nineclient.Pipeline) error {
		_, err := pl.ReadDir("/proc")
		return err
	}); err != nil {
		t.Errorf("a control operation while telemetry is exhausted: %v", err)
	}
}

// TestCohPushSurvivesDrop: coh telemetry push, through a connection cut
// mid-stream, prints its usual OK line, says on stderr that it retried,
// and the hive's segment holds the file's records exactly once.
func TestCohPushSurvivesDrop(t *testing.T) {
	bin := binaries(t, "roottask", "cmd/coh")
	rt := startRootTask(t, bin, false)
	q := rt.nine(t, ticket.RoleQueen, "")
	_, want := poolRecords(generated.TelemetryIngestMaxBytesPerSegment / 160) // envelopes add about a third
	src := filepath.Join(t.TempDir(), "hb.ndjson")
	if err := os.WriteFile(src, want, 0o644); err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, rt.NinePAddr, int64(len(want)/2))
	out, code := tool(t, bin, "coh", "--9p-port", port(proxy.addr()), "telemetry", "push", "--device", "coh-drop", src)
	if code != 0 || proxy.cuts.Load() != 1 || !strings.Contains(out, "[coh][pool] pool retry kind=telemetry attempt=2") {
		t.Fatalf("coh telemetry push through a cut (cuts %d) = %d:\n%s", proxy.cuts.Load(), code, out)
	}
	// The same file pushed straight, with no cut, is what the hive must hold.
	direct, code := tool(t, bin, "coh", "--9p-port", port(rt.NinePAddr), "telemetry", "push", "--device", "coh-direct", src)
	if code != 0 {
		t.Fatalf("coh telemetry push = %d:\n%s", code, direct)
	}
	got, exp := segmentOf(t, q, "coh-drop", out), segmentOf(t, q, "coh-direct", direct)
	if !bytes.Equal(got, exp) || len(exp) == 0 {
		t.Fatalf("after the cut the hive holds %d records (%d bytes); a push with no cut stores %d (%d bytes)",
			bytes.Count(got, []byte("\n")), len(got), bytes.Count(exp, []byte("\n")), len(exp))
	}

	// Retries are bounded: with one attempt the cut ends the push with
	// an error naming the part-written segment, exit 1, nothing resent.
	proxy = newCutProxy(t, rt.NinePAddr, int64(len(want)/2))
	out, code = tool(t, bin, "coh", "--9p-port", port(proxy.addr()), "telemetry", "push", "--device", "coh-once", "--retry-max-attempts", "1", src)
	if code != 1 || !strings.Contains(out, "ERR TELEMETRY action=push device=coh-once segments=seg-") || !strings.Contains(out, "retries exhausted (1 attempts, kind=telemetry)") || strings.Contains(out, "[coh][pool] pool retry") {
		t.Fatalf("coh telemetry push --retry-max-attempts 1 through a cut = %d:\n%s", code, out)
	}
}

// segmentOf reads the segment a coh telemetry push line names.
func segmentOf(t *testing.T, q *nineclient.Client, dev, out string) []byte {
	t.Helper()
	f := strings.Fields(out[strings.Index(out, "OK TELEMETRY"):])
	seg := strings.TrimPrefix(f[4], "seg_id=")
	b, err := q.Read(generated.ClientPoliciesCohTelemetryRoot+"/"+dev+"/seg/"+seg, 0)
	if err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	return b
}

// BenchmarkSessionPoolPush (M15 acceptance 1): segments pushed through
// the telemetry pool one at a time (one session busy) against as many
// at once as the pool has sessions (client_policies.cohsh.pool), each
// to its own device; MB/s and segments/s in the log. docs/BENCHMARKS.md,
// Fleet figures.
func BenchmarkSessionPoolPush(b *testing.B) {
	rt := startRootTask(b, binaries(b, "roottask"), false)
	tok, err := nineclient.MintQueen(time.Now())
	if err != nil {
		b.Fatal(err)
	}
	recs, all := poolRecords(generated.TelemetryIngestMaxBytesPerSegment / 110)
	seg := nineclient.Segment{Mime: "text/plain", Records: recs}
	for _, par := range []int{1, generated.ClientPoliciesCohshPoolTelemetrySessions} {
		b.Run(fmt.Sprintf("parallel-%d", par), func(b *testing.B) {
			pool := nineclient.NewPool(nineclient.PoolConfig{Addr: rt.NinePAddr, Ticket: tok})
			defer pool.Close()
			b.SetBytes(int64(len(all)))
			var next atomic.Int64
			var wg sync.WaitGroup
			errc := make(chan error, par)
			b.ResetTimer()
			for g := range par {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						if _, err := pool.PushSegment(context.Background(), generated.ClientPoliciesCohTelemetryRoot, fmt.Sprintf("bench-%d", g), seg); err != nil {
							errc <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			close(errc)
			if err := <-errc; err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "segments/s")
		})
	}
}
