package tests

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cohesix/cohesix/internal/gatewayapi"
)

// TestCohTelemetryOverGateway: coh telemetry push and pull through
// hive-gateway (--rest-url, after the command or before it) print what
// they print straight over Secure9P: the same records and bytes per
// file, the same pull lines, the same files on disk, resumes and skips;
// a file coh refuses is refused before anything is sent, over either.
func TestCohTelemetryOverGateway(t *testing.T) {
	bin := binaries(t, "roottask", "cmd/coh", "cmd/hive-gateway")
	rt := startRootTask(t, bin, false)
	gw := startBenchGateway(t, bin, rt)
	if resp, err := http.Get(gw.url + gatewayapi.PathTelemetry); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotImplemented {
			t.Skip("this tree's hive-gateway has no telemetry routes yet (gw-core wires teleio)")
		}
	}
	coh := func(args ...string) (string, int) {
		return tool(t, bin, "coh", append([]string{"--9p-port", port(rt.NinePAddr)}, args...)...)
	}
	rest := []string{"--rest-url", gw.url, "--rest-auth-token", benchToken}
	dir := t.TempDir()
	var text strings.Builder
	for i := 0; text.Len() < 20000; i++ {
		text.WriteString("line é\"\\ " + strings.Repeat("x", i%13) + "\n")
	}
	a, js := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.ndjson")
	os.WriteFile(a, []byte(text.String()), 0o644)
	os.WriteFile(js, []byte(`{"tokens":42}`+"\n"+`{"tokens":43}`+"\n"), 0o644)

	nine, code := coh("telemetry", "push", "--device", "dev-9p", a, js)
	if code != 0 {
		t.Fatalf("push over Secure9P = %d:\n%s", code, nine)
	}
	viaGW, code := coh(append([]string{"telemetry", "push", "--device", "dev-gw"}, append(rest, a, js)...)...)
	if code != 0 {
		t.Fatalf("push over the gateway = %d:\n%s", code, viaGW)
	}
	segID := regexp.MustCompile(`seg_id=\S+`)
	mask := func(s, dev string) string {
		return segID.ReplaceAllString(strings.ReplaceAll(s, dev, "DEV"), "seg_id=S")
	}
	if mask(nine, "dev-9p") != mask(viaGW, "dev-gw") || strings.Count(viaGW, "OK TELEMETRY action=push") != 2 {
		t.Fatalf("push lines differ:\nSecure9P:\n%s\ngateway:\n%s", nine, viaGW)
	}

	out9, outGW := filepath.Join(dir, "pull-9p"), filepath.Join(dir, "pull-gw")
	pull9, code9 := coh("telemetry", "pull", "--out", out9, "--json")
	// The global form: coh --rest-url URL telemetry pull.
	pullGW, codeGW := coh(append(rest, "telemetry", "pull", "--out", outGW, "--json")...)
	if code9 != 0 || codeGW != 0 || pull9 != pullGW || strings.Count(pullGW, `"action":"fetch"`) != 4 {
		t.Fatalf("pull differs or failed:\nSecure9P %d: %s\ngateway %d: %s", code9, pull9, codeGW, pullGW)
	}
	for _, dev := range []string{"dev-9p", "dev-gw"} {
		segs, _ := os.ReadDir(filepath.Join(out9, dev, "seg"))
		for _, s := range segs {
			want, _ := os.ReadFile(filepath.Join(out9, dev, "seg", s.Name()))
			got, err := os.ReadFile(filepath.Join(outGW, dev, "seg", s.Name()))
			if err != nil || string(got) != string(want) {
				t.Fatalf("%s/%s pulled through the gateway differs (%v)", dev, s.Name(), err)
			}
		}
	}

	// A cut local copy resumes; the rest are skipped.
	segs, _ := os.ReadDir(filepath.Join(outGW, "dev-gw", "seg"))
	cut := filepath.Join(outGW, "dev-gw", "seg", segs[0].Name())
	whole, _ := os.ReadFile(cut)
	os.WriteFile(cut, whole[:len(whole)/2], 0o644)
	again, code := coh(append([]string{"telemetry", "pull", "--out", outGW, "--json"}, rest...)...)
	if code != 0 || strings.Count(again, `"action":"resume"`) != 1 || strings.Count(again, `"action":"skip"`) != 3 {
		t.Fatalf("second pull through the gateway = %d: %s", code, again)
	}
	if got, _ := os.ReadFile(cut); string(got) != string(whole) {
		t.Fatal("the resumed segment differs from the hive's")
	}

	// Refused locally over either transport: nothing is sent.
	png := filepath.Join(dir, "x.png")
	os.WriteFile(png, []byte("x"), 0o644)
	if out, code := coh(append([]string{"telemetry", "push", "--device", "dev-gw"}, append(rest, a, png)...)...); code != 2 || !strings.Contains(out, "not allowed") {
		t.Fatalf("push of a .png through the gateway = %d: %s", code, out)
	}
	if out, code := coh(append([]string{"telemetry", "push", "--device", "dev-gw", "--rest-auth-token", "wrong", "--rest-url", gw.url}, a)...); code != 1 || !strings.Contains(out, "401") {
		t.Fatalf("push with a wrong token = %d: %s", code, out)
	}
}
