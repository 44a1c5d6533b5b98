package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/gatewayapi"
	"github.com/cohesix/cohesix/internal/gatewayclient"
	"github.com/cohesix/cohesix/internal/ingest"
	"github.com/cohesix/cohesix/internal/nineclient"
	"github.com/cohesix/cohesix/internal/ticket"
)

// The figures of issue 14 (docs/BENCHMARKS.md, hive-gateway): each
// benchmark runs a hosted root task and bin/hive-gateway in front of it,
// both separate processes on loopback, as deployed. They run only with
// -bench:
//
//	go test ./tests -run '^$' -bench 'BenchmarkGatewayTelemetry$/1MB' -benchtime 5x
//	go test ./tests -run '^$' -bench 'BenchmarkGatewayTelemetry$/1024MB' -benchtime 1x
//	go test ./tests -run '^$' -bench 'BenchmarkGatewayTelemetryBareProxy/(10|100)MB' -benchtime 1x
//	go test ./tests -run '^$' -bench BenchmarkGatewayTelemetryStream -benchtime 1x
//	go test ./tests -run '^$' -bench BenchmarkGatewayCat -benchtime 20000x
//	go test ./tests -run '^$' -bench BenchmarkGatewayControlUnderFlood -benchtime 2000x

const benchToken = "gateway-bench-token"

// benchGateway is bin/hive-gateway serving rt, its URL and its process.
type benchGateway struct {
	url  string
	proc *os.Process
	out  *os.File
}

// startBenchGateway runs bin/hive-gateway in front of rt's Secure9P
// listener (dev profile: its own minted queen ticket, request-auth token
// benchToken) and waits for /readyz.
func startBenchGateway(b testing.TB, bin string, rt *rootTask) *benchGateway {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(filepath.Join(bin, "hive-gateway"), "--bind", addr, "--hive-9p", rt.NinePAddr)
	cmd.Env = append(os.Environ(), gatewayapi.TokenEnv[0]+"="+benchToken)
	// The gateway logs a line per request. They go to a file, as an
	// operator's would: piped into this process, every line would wake the
	// benchmark's own client process to copy it.
	out, err := os.Create(filepath.Join(b.TempDir(), "hive-gateway.log"))
	if err != nil {
		b.Fatal(err)
	}
	g := &benchGateway{url: "http://" + addr, out: out}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	g.proc = cmd.Process
	b.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	for i := 0; ; i++ {
		resp, err := http.Get(g.url + gatewayapi.PathReadyz)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return g
			}
		}
		if i == 200 {
			b.Fatalf("hive-gateway not ready at %s; output:\n%s", g.url, fileText(g.out.Name()))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// client is a gateway client with the bench token; concurrency is how
// many requests it keeps connections for.
func (g *benchGateway) client(b *testing.B, concurrency int) *gatewayclient.Client {
	return pooledClient(b, g.url, benchToken, concurrency)
}

// pooledClient is a client of the gateway at url with token that keeps
// conns connections open, for that many requests at once.
func pooledClient(tb testing.TB, url, token string, conns int) *gatewayclient.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = conns, conns
	c, err := gatewayclient.New(url, gatewayclient.Options{Token: token, HTTP: &http.Client{Transport: tr}})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// memKiB reads a /proc/<pid>/status field in KiB (VmHWM, VmRSS).
func memKiB(b *testing.B, pid int, field string) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatalf("/proc/%d/status has no %s", pid, field)
	return 0
}

// telemetryRound is one device-full of telemetry: a body of whole lines
// that ingest cuts into exactly segsPerRound segments within the device's
// total, and the lines' length.
type telemetryRound struct {
	line    []byte // one line; every line of a body is this long
	perSeg  int    // lines per segment
	segs    int    // segments per round
	stored  int    // bytes a full segment takes in the hive
	counter int
}

// newTelemetryRound measures the round: lines of gpu-telemetry-like
// ndjson with escapes, cut by the same Segmenter the gateway and coh use.
func newTelemetryRound(b testing.TB) *telemetryRound {
	r := &telemetryRound{}
	r.line = r.nextLine()
	var probe bytes.Buffer
	for probe.Len() < 4*generated.TelemetryIngestMaxBytesPerSegment {
		probe.Write(r.nextLine())
	}
	recs, _, err := ingest.NewSegmenter(&probe, "application/x-ndjson", ingest.DefaultLimits()).Next()
	if err != nil {
		b.Fatal(err)
	}
	for _, rec := range recs {
		r.stored += len(rec) + 1
	}
	r.perSeg = payloadLen(b, recs) / len(r.line)
	r.segs = min(generated.TelemetryIngestMaxSegmentsPerDevice, generated.TelemetryIngestMaxTotalBytesPerDevice/r.stored)
	return r
}

// payloadLen is the payload bytes of envelope records.
func payloadLen(b testing.TB, recs [][]byte) int {
	n := 0
	for _, rec := range recs {
		i := bytes.Index(rec, []byte(`"payload":"`))
		if i < 0 {
			b.Fatalf("record %q has no payload", rec)
		}
		s, err := strconv.Unquote(string(rec[i+len(`"payload":`) : len(rec)-1]))
		if err != nil {
			b.Fatal(err)
		}
		n += len(s)
	}
	return n
}

// deviceFull is one device-full of lines: the most a round moves.
func (r *telemetryRound) deviceFull() []byte { return r.body(r.perSeg * r.segs * len(r.line)) }

// nextLine is one fixed-length telemetry line.
func (r *telemetryRound) nextLine() []byte {
	r.counter++
	return fmt.Appendf(nil, `{"schema_version":"gpu-telemetry/v1","device_id":"GPU-0","seq":%09d,"latency_ms":[3,5,8],"note":"ok \"q\" é"}`+"\n", r.counter%1000000000)
}

// body returns the next round of at most limit bytes: whole lines.
func (r *telemetryRound) body(limit int) []byte {
	n := max(1, min(r.perSeg*r.segs, limit/len(r.line)))
	out := make([]byte, 0, n*len(r.line))
	for range n {
		out = append(out, r.nextLine()...)
	}
	return out
}

// p7Side is one side's summed times and bytes.
type p7Side struct {
	push, pull time.Duration
	stored     int64
}

// BenchmarkGatewayTelemetry is P7 (milestone 25f): push and pull of 1 MB,
// 10 MB, 100 MB and 1 GB of telemetry through hive-gateway and, in the
// same run, interleaved round by round, straight over Secure9P as coh
// telemetry push|pull does it (the same Segmenter, Ingest.Push over one
// pipelined session, Pipeline.ReadFile per segment). A device holds one
// device-full (max_total_bytes_per_device), so bytes move in rounds: push
// a body that fills the device's segments, then pull them; the next
// round evicts them. No request is retried: any error fails the run, and
// every pulled segment must equal, byte for byte, what the other side
// stored of the same body. MB/s counts body bytes (10^6 B/s). The
// gateway's peak RSS (VmHWM of its process) is reported: it holds one
// segment of a push at a time. p7WarmRounds rounds go first, not
// counted, so a run measures the steady state of the processes, not
// their first connections and buffers.
func BenchmarkGatewayTelemetry(b *testing.B) { p7Bench(b, false) }

// BenchmarkGatewayTelemetryBareProxy is BenchmarkGatewayTelemetry with
// the pulls made through bareProxy instead of the gateway (pushes still
// go through the gateway): P7's proxy ceiling, what any HTTP hop in
// front of the hive costs a pull on this host. Run beside it, its
// pull_gw/9p is the bare proxy's.
func BenchmarkGatewayTelemetryBareProxy(b *testing.B) { p7Bench(b, true) }

func p7Bench(b *testing.B, viaBare bool) {
	bin := binaries(b, "roottask", "cmd/hive-gateway")
	for _, size := range []int{1 << 20, 10 << 20, 100 << 20, 1 << 30} {
		b.Run(fmt.Sprintf("%dMB", size>>20), func(b *testing.B) {
			rt := startRootTask(b, bin, false)
			gw := startBenchGateway(b, bin, rt)
			gc := gw.client(b, 1)
			pc := gc
			if viaBare {
				var err error
				if pc, err = gatewayclient.New("http://"+startChild(b, bareProxyEnv, rt.NinePAddr), gatewayclient.Options{}); err != nil {
					b.Fatal(err)
				}
			}
			pl, err := rt.nine(b, ticket.RoleQueen, "").Pipeline()
			if err != nil {
				b.Fatal(err)
			}
			defer pl.Close()
			round := newTelemetryRound(b)
			var gwSide, nineSide p7Side
			move := func(body []byte) {
				nineSegs := p7Straight(b, pl, "p7-9p", body, &nineSide)
				segs := p7GatewayPush(b, gc, "p7-gw", body, len(nineSegs), &gwSide)
				p7Pull(b, pc, "p7-gw", segs, nineSegs, &gwSide)
			}
			for range p7WarmRounds {
				move(round.body(size))
			}
			gwSide, nineSide = p7Side{}, p7Side{}
			total := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for moved := 0; moved < size; {
					body := round.body(size - moved)
					move(body)
					moved += len(body)
					total += len(body)
				}
			}
			b.StopTimer()
			if gwSide.stored != nineSide.stored {
				b.Fatalf("gateway stored %d bytes, Secure9P %d", gwSide.stored, nineSide.stored)
			}
			mbps := func(d time.Duration) float64 { return float64(total) / 1e6 / d.Seconds() }
			b.ReportMetric(mbps(gwSide.push), "gw_push_MB/s")
			b.ReportMetric(mbps(gwSide.pull), "gw_pull_MB/s")
			b.ReportMetric(mbps(nineSide.push), "9p_push_MB/s")
			b.ReportMetric(mbps(nineSide.pull), "9p_pull_MB/s")
			b.ReportMetric(nineSide.push.Seconds()/gwSide.push.Seconds(), "push_gw/9p")
			b.ReportMetric(nineSide.pull.Seconds()/gwSide.pull.Seconds(), "pull_gw/9p")
			// The physical ceiling, in the same run: the same number of
			// bytes from memory over one loopback TCP stream.
			ceiling := ceilingMBps(b, int64(total))
			b.ReportMetric(ceiling, "ceiling_MB/s")
			b.ReportMetric(mbps(gwSide.pull)/ceiling, "pull_gw/ceiling")
			b.ReportMetric(mbps(gwSide.push)/ceiling, "push_gw/ceiling")
			b.ReportMetric(memKiB(b, gw.proc.Pid, "VmHWM")/1024, "gw_VmHWM_MiB")
			b.ReportMetric(0, "errors")
		})
	}
}

// p7Straight pushes body to dev as coh does and pulls the segments back;
// it returns what the hive stored, segment by segment.
func p7Straight(b *testing.B, pl *nineclient.Pipeline, dev string, body []byte, side *p7Side) [][]byte {
	t0 := time.Now()
	sg := ingest.NewSegmenter(bytes.NewReader(body), "application/x-ndjson", ingest.DefaultLimits())
	var segs []nineclient.Segment
	for {
		recs, _, err := sg.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		segs = append(segs, nineclient.Segment{Mime: "application/x-ndjson", Records: recs})
	}
	in, err := pl.Ingest(generated.ClientPoliciesCohTelemetryRoot, dev)
	if err != nil {
		b.Fatal(err)
	}
	ids, _, err := in.Push(segs)
	if err != nil {
		b.Fatalf("9p push: %v", err)
	}
	in.Close()
	t1 := time.Now()
	var out [][]byte
	for _, id := range ids {
		data, _, err := pl.ReadFile(generated.ClientPoliciesCohTelemetryRoot+"/"+dev+"/seg/"+id, 0, generated.ClientPoliciesCohTelemetryMaxBytesPerSegment)
		if err != nil {
			b.Fatalf("9p read %s: %v", id, err)
		}
		out = append(out, data)
		side.stored += int64(len(data))
	}
	side.push += t1.Sub(t0)
	side.pull += time.Since(t1)
	return out
}

// p7GatewayPush pushes body to dev through the gateway and returns the
// segments it made.
func p7GatewayPush(b *testing.B, gc *gatewayclient.Client, dev string, body []byte, segs int, side *p7Side) []string {
	t0 := time.Now()
	res, err := gc.TelemetryPush(context.Background(), dev, "application/x-ndjson", bytes.NewReader(body))
	if err != nil {
		b.Fatalf("gateway push: %v", err)
	}
	side.push += time.Since(t0)
	if len(res.Segments) != segs {
		b.Fatalf("gateway made %d segments of a round; Secure9P %d", len(res.Segments), segs)
	}
	return res.Segments
}

// p7Pull pulls dev's segments segs in one device read from the first, as
// coh telemetry pull --rest-url makes it, and checks them against what
// the straight side stored.
func p7Pull(b *testing.B, c *gatewayclient.Client, dev string, segs []string, want [][]byte, side *p7Side) {
	t0 := time.Now()
	spans, data, err := c.TelemetryReadDevice(context.Background(), dev, segs[0], 0, generated.ClientPoliciesCohTelemetryMaxTotalBytesPerDevice)
	side.pull += time.Since(t0)
	if err != nil || len(spans) != len(want) {
		b.Fatalf("%s device read: %d spans for %d segments, %v", c.URL(), len(spans), len(want), err)
	}
	for i, sp := range spans {
		if sp.Seg != segs[i] || !bytes.Equal(data[:sp.Len], want[i]) {
			b.Fatalf("%s segment %s (%d bytes) differs from the Secure9P one (%d bytes)", c.URL(), sp.Seg, sp.Len, len(want[i]))
		}
		data = data[sp.Len:]
		side.stored += sp.Len
	}
}

// p7WarmRounds is how many rounds each P7 run moves before it measures.
const p7WarmRounds = 16

// lineSource streams n bytes of telemetry lines without holding them.
type lineSource struct {
	r    *telemetryRound
	left int
	cur  []byte
}

func (s *lineSource) Read(p []byte) (int, error) {
	if s.left <= 0 {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && s.left > 0 {
		if len(s.cur) == 0 {
			s.cur = s.r.nextLine()
			if len(s.cur) > s.left { // the last line is cut short, still a line
				s.cur = append(s.cur[:max(0, s.left-1)], '\n')
			}
		}
		c := copy(p[n:], s.cur)
		s.cur, n, s.left = s.cur[c:], n+c, s.left-c
	}
	return n, nil
}

// BenchmarkGatewayTelemetryStream pushes 100 MB and 1 GB as ONE request
// body, streamed from a generator: the gateway cuts and pushes segments
// as the body arrives (older segments are evicted as the device fills),
// so its peak RSS must not grow with the body. Push only: the hive keeps
// the last device-full.
func BenchmarkGatewayTelemetryStream(b *testing.B) {
	bin := binaries(b, "roottask", "cmd/hive-gateway")
	for _, size := range []int{100 << 20, 1 << 30} {
		b.Run(fmt.Sprintf("%dMB", size>>20), func(b *testing.B) {
			rt := startRootTask(b, bin, false)
			gw := startBenchGateway(b, bin, rt)
			gc := gw.client(b, 1)
			round := newTelemetryRound(b)
			before := memKiB(b, gw.proc.Pid, "VmHWM")
			var took time.Duration
			segs := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				res, err := gc.TelemetryPush(context.Background(), "p7-stream", "application/x-ndjson", &lineSource{r: round, left: size})
				if err != nil {
					b.Fatalf("streamed push of %d bytes: %v (result %d segments)", size, err, len(res.Segments))
				}
				took += time.Since(t0)
				segs += len(res.Segments)
			}
			b.StopTimer()
			b.ReportMetric(float64(size)*float64(b.N)/1e6/took.Seconds(), "gw_push_MB/s")
			b.ReportMetric(float64(segs)/float64(b.N), "segments")
			b.ReportMetric(before/1024, "gw_VmHWM_before_MiB")
			b.ReportMetric(memKiB(b, gw.proc.Pid, "VmHWM")/1024, "gw_VmHWM_MiB")
		})
	}
}

// latencies runs total requests of do on workers goroutines and returns
// every request's latency, sorted, and the wall time.
func latencies(b *testing.B, workers, total int, do func() error) ([]time.Duration, time.Duration) {
	var next atomic.Int64
	per := make([][]time.Duration, workers)
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	t0 := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(total) {
				s := time.Now()
				if err := do(); err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
				per[w] = append(per[w], time.Since(s))
			}
		}()
	}
	wg.Wait()
	wall := time.Since(t0)
	if e := failed.Load(); e != nil {
		b.Fatal(*e)
	}
	all := slices.Concat(per...)
	slices.Sort(all)
	return all, wall
}

// pct is the p-th percentile of sorted durations, in ms.
func pct(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	return float64(d[min(len(d)-1, int(float64(len(d))*p))]) / 1e6
}

// catClients is the concurrency of the cat figure.
const catClients = 100

// BenchmarkGatewayCat: GET /v1/fs/cat?path=/proc/lifecycle/state with 100
// concurrent clients on loopback (b.N requests in all), each sending its
// next request as soon as the last is answered: p50/p99 and requests/s,
// beside a bare net/http handler in this process returning the same bytes
// (the ceiling of net/http on this machine).
func BenchmarkGatewayCat(b *testing.B) {
	gwGet, bareGet := catTargets(b)
	b.ResetTimer()
	gl, gwall := latencies(b, catClients, b.N, gwGet)
	bl, bwall := latencies(b, catClients, b.N, bareGet)
	b.StopTimer()
	reportCat(b, gl, gwall, bl, bwall)
}

// catInterval is how often each of the paced figure's clients sends.
const catInterval = 100 * time.Millisecond

// BenchmarkGatewayCatPaced is BenchmarkGatewayCat with each of the 100
// clients sending one request every catInterval (1,000 requests/s in all)
// instead of back to back: the latency a client sees when the clients,
// not the two cores, set the pace. Each latency is counted from the
// request's scheduled time, so a request that leaves late because the
// one before was slow counts its wait.
func BenchmarkGatewayCatPaced(b *testing.B) {
	gwGet, bareGet := catTargets(b)
	b.ResetTimer()
	gl, gwall := paced(b, catClients, b.N, catInterval, gwGet)
	bl, bwall := paced(b, catClients, b.N, catInterval, bareGet)
	b.StopTimer()
	reportCat(b, gl, gwall, bl, bwall)
}

// catTargets starts a root task and a gateway and returns a GET of the
// cat figure's URL through the gateway and one of a bare net/http handler
// in this process answering the gateway's bytes.
func catTargets(b *testing.B) (gw, bare func() error) {
	bin := binaries(b, "roottask", "cmd/hive-gateway")
	rt := startRootTask(b, bin, false)
	g := startBenchGateway(b, bin, rt)
	hc := g.client(b, catClients)
	url := g.url + gatewayapi.PathCat + "?path=/proc/lifecycle/state"
	httpc := &http.Client{Transport: func() *http.Transport {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns, tr.MaxIdleConnsPerHost = catClients, catClients
		return tr
	}()}
	get := func(u string) func() error {
		return func() error {
			resp, err := httpc.Get(u)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				return err
			}
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("GET %s: %s", u, resp.Status)
			}
			return nil
		}
	}
	r, err := hc.Cat(context.Background(), "/proc/lifecycle/state", 0)
	if err != nil || r.Status != gatewayapi.StatusOK {
		b.Fatalf("cat = %+v, %v", r, err)
	}
	resp, err := httpc.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	same, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(same)
	}))
	b.Cleanup(srv.Close)
	return get(url), get(srv.URL)
}

func reportCat(b *testing.B, gl []time.Duration, gwall time.Duration, bl []time.Duration, bwall time.Duration) {
	b.ReportMetric(pct(gl, 0.50), "gw_p50_ms")
	b.ReportMetric(pct(gl, 0.99), "gw_p99_ms")
	b.ReportMetric(float64(len(gl))/gwall.Seconds(), "gw_req/s")
	b.ReportMetric(pct(bl, 0.50), "bare_p50_ms")
	b.ReportMetric(pct(bl, 0.99), "bare_p99_ms")
	b.ReportMetric(float64(len(bl))/bwall.Seconds(), "bare_req/s")
}

// paced runs total calls of do over workers goroutines, each calling it
// once every interval from a start staggered across the first interval,
// and returns each call's latency from its scheduled time (sorted) and
// the wall time.
func paced(b *testing.B, workers, total int, interval time.Duration, do func() error) ([]time.Duration, time.Duration) {
	per := make([][]time.Duration, workers)
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	t0 := time.Now()
	for w := range workers {
		n := total / workers
		if w < total%workers {
			n++
		}
		wg.Go(func() {
			at := t0.Add(interval * time.Duration(w) / time.Duration(workers))
			for range n {
				time.Sleep(time.Until(at))
				if err := do(); err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
				per[w] = append(per[w], time.Since(at))
				at = at.Add(interval)
			}
		})
	}
	wg.Wait()
	wall := time.Since(t0)
	if e := failed.Load(); e != nil {
		b.Fatal(*e)
	}
	all := slices.Concat(per...)
	slices.Sort(all)
	return all, wall
}

// floodWorkers is how many telemetry pushes the flood keeps in flight:
// more than the broker's telemetry queue and workers, so it overflows.
const floodWorkers = 2 * (generated.GatewayBrokerTelemetryQueue + generated.GatewayBrokerWorkers)

// floodPause is how long a flood worker waits after a 429 before its
// next push: far under Retry-After (the flood ignores it, as a hostile
// or broken client would), but not a spin, which on a small machine
// measures the CPU the spinning clients take, not the broker's
// scheduling.
const floodPause = 10 * time.Millisecond

// BenchmarkGatewayControlUnderFlood: control requests (GET /v1/fs/ls
// ?path=/proc, not cached) one at a time, b.N of them, while
// floodWorkers goroutines push device-fulls of telemetry as fast as the
// gateway takes them (floodPause after a 429, ignoring Retry-After);
// control p50/p99 and the telemetry answers (200s and 429s) are
// reported. Any other telemetry answer fails the run. Then the same flood
// and control requests against a bare net/http server in this process
// (the ceiling): it admits as many pushes as the broker holds (its
// workers plus its telemetry queue), reads and drops each body and holds
// its slot so that it accepts pushes at the rate the gateway did,
// answers 429 past that with the gateway's rule for a connection that
// ignores Retry-After (its next 429 waits until then, P112), and answers
// ls with the bytes the gateway gave: what control requests cost when
// nothing but HTTP and the flood's own CPU stand in their way. The
// ceiling's control requests are paced to the gateway run's rate, so the
// flood lasts as long.
func BenchmarkGatewayControlUnderFlood(b *testing.B) {
	bin := binaries(b, "roottask", "cmd/hive-gateway")
	rt := startRootTask(b, bin, false)
	gw := startBenchGateway(b, bin, rt)
	gc := gw.client(b, floodWorkers+1)
	ls, err := gc.Ls(context.Background(), "/proc")
	if err != nil || ls.Status != gatewayapi.StatusOK {
		b.Fatalf("ls /proc = %+v, %v", ls, err)
	}
	b.ResetTimer()
	g := controlUnderFlood(b, gc, 0)
	b.StopTimer()
	slots := generated.GatewayBrokerWorkers + generated.GatewayBrokerTelemetryQueue
	hold := g.wall * time.Duration(slots) / time.Duration(max(g.ok, 1))
	bare := httptest.NewUnstartedServer(bareFloodHandler(b, ls, slots, hold))
	bare.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		return context.WithValue(ctx, bareConnKey{}, new(atomic.Int64))
	}
	bare.Start()
	b.Cleanup(bare.Close)
	bc := pooledClient(b, bare.URL, "", floodWorkers+1)
	b.StartTimer()
	c := controlUnderFlood(b, bc, g.wall/time.Duration(b.N))
	b.StopTimer()
	b.ReportMetric(pct(g.lat, 0.50), "ctl_p50_ms")
	b.ReportMetric(pct(g.lat, 0.99), "ctl_p99_ms")
	b.ReportMetric(float64(len(g.lat))/g.wall.Seconds(), "ctl_req/s")
	b.ReportMetric(float64(g.ok), "tele_200")
	b.ReportMetric(float64(g.overflow), "tele_429")
	b.ReportMetric(pct(c.lat, 0.50), "bare_ctl_p50_ms")
	b.ReportMetric(pct(c.lat, 0.99), "bare_ctl_p99_ms")
	b.ReportMetric(float64(c.ok), "bare_tele_200")
	b.ReportMetric(float64(c.overflow), "bare_tele_429")
}

// floodRun is one run of controlUnderFlood.
type floodRun struct {
	lat          []time.Duration // control latencies, sorted
	wall         time.Duration
	ok, overflow int64 // telemetry pushes answered 200, 429
}

// controlUnderFlood sends b.N control requests (ls /proc) one at a time
// through gc while floodWorkers goroutines push telemetry through it:
// back to back, or one every pace (latency from its scheduled time), so
// that a faster server is measured under the flood for as long.
func controlUnderFlood(b *testing.B, gc *gatewayclient.Client, pace time.Duration) floodRun {
	f := startPushFlood(b, gc, generated.ClientPoliciesCohTelemetryMaxDevices)
	// Let the flood fill the telemetry queue first.
	for f.overflow.Load() == 0 && f.ok.Load() < floodWorkers && f.err.Load() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	control := func() error {
		r, err := gc.Ls(context.Background(), "/proc")
		if err == nil && r.Status != gatewayapi.StatusOK {
			err = fmt.Errorf("ls /proc: %s", r.Ack)
		}
		return err
	}
	var lat []time.Duration
	var wall time.Duration
	if pace > 0 {
		lat, wall = paced(b, 1, b.N, pace, control)
	} else {
		lat, wall = latencies(b, 1, b.N, control)
	}
	if err := f.end(); err != nil {
		b.Fatalf("telemetry flood: %v", err)
	}
	return floodRun{lat: lat, wall: wall, ok: f.ok.Load(), overflow: f.overflow.Load()}
}

// pushFlood is floodWorkers clients pushing device-fulls of telemetry
// through one gateway client as fast as it takes them, each pushing
// again floodPause after a 429 (ignoring Retry-After), until end.
type pushFlood struct {
	ok, overflow atomic.Int64          // pushes answered 200, 429
	err          atomic.Pointer[error] // the first answer that was neither
	stop         context.CancelFunc
	wg           sync.WaitGroup
}

// startPushFlood starts a pushFlood over devs devices (flood-0...).
func startPushFlood(tb testing.TB, c *gatewayclient.Client, devs int) *pushFlood {
	body := newTelemetryRound(tb).deviceFull()
	ctx, stop := context.WithCancel(context.Background())
	f := &pushFlood{stop: stop}
	for w := range floodWorkers {
		f.wg.Go(func() {
			dev := fmt.Sprintf("flood-%d", w%devs)
			for ctx.Err() == nil {
				_, err := c.TelemetryPush(ctx, dev, "application/x-ndjson", bytes.NewReader(body))
				switch {
				case err == nil:
					f.ok.Add(1)
				case gatewayclient.IsStatus(err, http.StatusTooManyRequests):
					f.overflow.Add(1)
					time.Sleep(floodPause)
				case ctx.Err() != nil:
				default:
					f.err.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	return f
}

// end stops the flood and returns the first answer that was neither 200
// nor 429.
func (f *pushFlood) end() error {
	f.stop()
	f.wg.Wait()
	if e := f.err.Load(); e != nil {
		return *e
	}
	return nil
}

// bareConnKey finds a ceiling connection's Retry-After time (Unix ns).
type bareConnKey struct{}

// bareFloodHandler is the ceiling's server: up to slots pushes at once,
// each read, dropped and answered once hold has passed since it arrived,
// 429 with Retry-After: 1 past that, held until the last one's second
// has passed when the connection comes back sooner (the gateway's rule);
// ls answered with ls's bytes.
func bareFloodHandler(b *testing.B, ls gatewayapi.Response, slots int, hold time.Duration) http.Handler {
	lsBody, err := json.Marshal(ls)
	if err != nil {
		b.Fatal(err)
	}
	held := make(chan struct{}, slots)
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+gatewayapi.PathTelemetry+"/{device}", func(w http.ResponseWriter, r *http.Request) {
		select {
		case held <- struct{}{}:
			defer func() { <-held }()
		default:
			retryAt := r.Context().Value(bareConnKey{}).(*atomic.Int64)
			select {
			case <-time.After(time.Until(time.Unix(0, retryAt.Load()))):
			case <-r.Context().Done():
				return
			}
			retryAt.Store(time.Now().Add(time.Second).UnixNano())
			w.Header().Set("Retry-After", "1")
			http.Error(w, `{"status":429}`, http.StatusTooManyRequests)
			return
		}
		done := time.Now().Add(hold)
		n, _ := io.Copy(io.Discard, r.Body)
		time.Sleep(time.Until(done))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"device":%q,"bytes":%d}`, r.PathValue("device"), n)
	})
	mux.HandleFunc("GET "+gatewayapi.PathLs, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(lsBody)
	})
	return mux
}

// fileText is path's content, or what kept it from being read.
func fileText(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
