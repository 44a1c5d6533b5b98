package tests

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/client"
	"github.com/cohesix/cohesix/internal/nineclient"
)

// BenchmarkSwarmUILive is issue 16's live figure (docs/BENCHMARKS.md,
// "SwarmUI live at 1,000 workers"): a fleet root task with 1,000 live
// heartbeat workers (each ticks every queen.heartbeat_interval_ms, so the
// stream carries diffs all along), the fleet swarmui, and in one chromium
// (the browser tests' flags) three pages measured one after the other over
// the same window each:
//
//   - ceiling: an empty page's requestAnimationFrame rate (the display's
//     cap; SwarmUI caps its renders at swarmui.hive.frame_cap_fps, 60);
//   - baseline: a bare PixiJS page with 1,000 sprites redrawn every frame
//     (cmd/swarmui/web/bench, the fair peer);
//   - swarmui: the page logged in as the queen, zoomed out to show all
//     1,000 workers, redrawn every frame by a wheel event per frame, while
//     the live diffs arrive.
//
// It also reports the first paint of the hive after a reload at 1,000
// live workers and the 1-minute load average before each figure. Figures
// only; run with make ui first:
//
//	go test -run '^$' -bench BenchmarkSwarmUILive -benchtime 1x ./tests/
func BenchmarkSwarmUILive(b *testing.B) {
	ctx, _ := newBrowser(b)
	fm := readFleetManifest(b)
	const workers = 1000 // limit-literal-ok: the figure
	if fm.workers < workers {
		b.Fatalf("the fleet profile allows %d workers", fm.workers)
	}
	rtBin := fleetBinaries(b)
	uiBin := b.TempDir()
	build := exec.Command("go", "build", "-tags", fleetTag, "-o", uiBin+"/", "./cmd/swarmui")
	build.Dir = repoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build -tags %s ./cmd/swarmui: %v\n%s", fleetTag, err, out)
	}
	rt := startRootTask(b, rtBin, false)
	spawnLive(b, rt, workers)
	ui := startSwarmUIB(b, uiBin, rt)
	baseline := baselineServer(b)
	tok, err := nineclient.MintQueen(time.Now())
	if err != nil {
		b.Fatal(err)
	}
	const window = 10 * time.Second // limit-literal-ok: the measuring window the issue names
	var ceiling, base, live, paint, hiveEv, renderer, streamOpen float64
	var loads [4]float64
	cdo(b, ctx,
		chromedp.Navigate(ui.URL),
		chromedp.WaitVisible(chromedp.ID("login-ticket")),
		chromedp.SendKeys(chromedp.ID("login-ticket"), tok),
		chromedp.Click(chromedp.ID("login-submit")),
	)
	for i := 0; i < b.N; i++ {
		// SwarmUI first: its first paint at 1,000 live workers (a reload
		// with the session cookie), and its canvas size, which the
		// baseline then fills alike.
		cdo(b, ctx,
			chromedp.Navigate(ui.URL),
			waitJS(fmt.Sprintf(`window.cohesixUI && cohesixUI.ready && cohesixUI.workers() >= %d`, workers)),
			chromedp.Reload(),
			waitJS(fmt.Sprintf(`window.cohesixUI && cohesixUI.firstPaintMs > 0 && cohesixUI.workers() >= %d`, workers)),
		)
		paint += crun(b, ctx, chromedp.Evaluate[float64](`cohesixUI.firstPaintMs`))
		m := crun(b, ctx, chromedp.Evaluate[map[string]float64](`cohesixUI.marks()`))
		hiveEv += m["hiveEventMs"]
		streamOpen += m["streamOpenMs"]
		renderer += m["rendererMs"]
		size := crun(b, ctx, chromedp.Evaluate[[]float64](`(() => { const c = document.getElementById('hive-canvas'); return [c.width, c.height]; })()`))

		loads[0] += load1(b)
		cdo(b, ctx, chromedp.Navigate("about:blank"), js(`window.__f = []; (function f(t) { window.__f.push(t); requestAnimationFrame(f); })(0)`))
		ceiling += measureFrames(b, ctx, window, `window.__f.filter((f) => f >= %f).length`)

		loads[1] += load1(b)
		cdo(b, ctx, chromedp.Navigate(fmt.Sprintf("%s?w=%.0f&h=%.0f", baseline, size[0], size[1])), waitJS(`window.baseline && window.baseline.ready`))
		base += measureFrames(b, ctx, window, `baseline.framesSince(%f)`)

		loads[2] += load1(b)
		cdo(b, ctx,
			chromedp.Navigate(ui.URL),
			waitJS(fmt.Sprintf(`window.cohesixUI && cohesixUI.ready && cohesixUI.workers() >= %d`, workers)),
			js(`(() => {
		  const c = document.getElementById('hive-canvas'), r = c.getBoundingClientRect();
		  const at = { clientX: r.left + r.width / 2, clientY: r.top + r.height / 2, bubbles: true, cancelable: true };
		  c.dispatchEvent(new WheelEvent('wheel', { ...at, deltaY: 200 }));
		  window.__spin = true;
		  (function spin(n) { if (!window.__spin) return;
		    c.dispatchEvent(new WheelEvent('wheel', { ...at, deltaY: n % 2 ? 1 : -1 }));
		    requestAnimationFrame(() => spin(n + 1)); })(0);
		})()`))
		live += measureFrames(b, ctx, window, `cohesixUI.framesSince(%f)`)
		cdo(b, ctx, js(`window.__spin = false`))
		loads[3] += load1(b)
		b.Logf("canvas %.0fx%.0f", size[0], size[1])
	}
	n := float64(b.N)
	b.ReportMetric(ceiling/n, "ceiling-fps")
	b.ReportMetric(base/n, "baseline-fps")
	b.ReportMetric(live/n, "swarmui-fps")
	b.ReportMetric(paint/n, "first-paint-ms")
	b.ReportMetric(streamOpen/n, "stream-open-ms")
	b.ReportMetric(hiveEv/n, "hive-event-ms")
	b.ReportMetric(renderer/n, "renderer-up-ms")
	for i, what := range []string{"load1-ceiling", "load1-baseline", "load1-swarmui", "load1-after"} {
		b.ReportMetric(loads[i]/n, what)
	}
}

// measureFrames counts animation frames over window: count is an
// expression of the frames since its %f argument (performance.now()).
func measureFrames(b *testing.B, ctx context.Context, window time.Duration, count string) float64 {
	b.Helper()
	start := crun(b, ctx, chromedp.Evaluate[float64](`performance.now()`))
	time.Sleep(window)
	frames := crun(b, ctx, chromedp.Evaluate[float64](fmt.Sprintf(count, start)))
	end := crun(b, ctx, chromedp.Evaluate[float64](`performance.now()`))
	return frames / ((end - start) / 1000)
}

// spawnLive spawns n heartbeat workers from the console, with a ticks
// budget that outlasts the run.
func spawnLive(b *testing.B, rt *rootTask, n int) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, rt.ConsoleAddr, generated.ConsoleAuthToken)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if r, err := c.Do("attach queen"); err != nil || !r.Ack.OK {
		b.Fatalf("attach: %v %v", r.Raw, err)
	}
	for i := range n {
		if r, err := c.Do(`spawn {"spawn":"heartbeat","ticks":100000}`); err != nil || !r.Ack.OK {
			b.Fatalf("spawn %d: %v %v", i+1, r.Raw, err)
		}
	}
}

// baselineServer builds the fair-peer page (cmd/swarmui/web/bench) with
// the page's esbuild and PixiJS and serves it on loopback.
func baselineServer(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	cmd := exec.Command("node", filepath.Join(repoRoot(), "cmd/swarmui/web/bench/build.mjs"), dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building the baseline page (make ui first): %v\n%s", err, out)
	}
	ts := httptest.NewServer(http.FileServer(http.Dir(dir)))
	b.Cleanup(ts.Close)
	return ts.URL + "/index.html"
}

// load1 is the 1-minute load average.
func load1(b *testing.B) float64 {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		b.Fatal(err)
	}
	v, _ := strconv.ParseFloat(strings.Fields(string(raw))[0], 64)
	return v
}
