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
	writeFiles(t, map[string]string{a: text.String(), js: `{"tokens":42}` + "\n" + `{"tokens":43}` + "\n"})

	comparePush(t, coh, rest, a, js)
	outGW := comparePull(t, coh, rest, dir)

	// A cut local copy resumes; the rest are skipped.
	segs, _ := os.ReadDir(filepath.Join(outGW, "dev-gw", "seg"))
	cut := filepath.Join(outGW, "dev-gw", "seg", segs[0].Name())
	whole, _ := os.ReadFile(cut)
	writeFiles(t, map[string]string{cut: string(whole[:len(whole)/2])})
	again, code := coh(append([]string{"telemetry", "pull", "--out", outGW, "--json"}, rest...)...)
	if code != 0 || strings.Count(again, `"action":"resume"`) != 1 || strings.Count(again, `"action":"skip"`) != 3 {
		t.Fatalf("second pull through the gateway = %d: %s", code, again)
	}
	if got, _ := os.ReadFile(cut); string(got) != string(whole) {
		t.Fatal("the resumed segment differs from the hive's")
	}

	// Refused locally: nothing is sent; a wrong token is the gateway's 401.
	png := filepath.Join(dir, "x.png")
	writeFiles(t, map[string]string{png: "x"})
	if out, code := coh(append([]string{"telemetry", "push", "--device", "dev-gw"}, append(rest, a, png)...)...); code != 2 || !strings.Contains(out, "not allowed") {
		t.Fatalf("push of a .png through the gateway = %d: %s", code, out)
	}
	if out, code := coh("telemetry", "push", "--device", "dev-gw", "--rest-auth-token", "wrong", "--rest-url", gw.url, a); code != 1 || !strings.Contains(out, "401") {
		t.Fatalf("push with a wrong token = %d: %s", code, out)
	}
}

func writeFiles(t *testing.T, files map[string]string) {
	t.Helper()
	for path, body := range files {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// comparePush pushes files to dev-9p over Secure9P and to dev-gw through
// the gateway and requires the same lines but for device and seg ids.
func comparePush(t *testing.T, coh func(...string) (string, int), rest []string, files ...string) {
	t.Helper()
	nine, code := coh(append([]string{"telemetry", "push", "--device", "dev-9p"}, files...)...)
	if code != 0 {
		t.Fatalf("push over Secure9P = %d:\n%s", code, nine)
	}
	viaGW, code := coh(append(append([]string{"telemetry", "push", "--device", "dev-gw"}, rest...), files...)...)
	if code != 0 {
		t.Fatalf("push over the gateway = %d:\n%s", code, viaGW)
	}
	segID := regexp.MustCompile(`seg_id=\S+`)
	mask := func(s, dev string) string {
		return segID.ReplaceAllString(strings.ReplaceAll(s, dev, "DEV"), "seg_id=S")
	}
	if mask(nine, "dev-9p") != mask(viaGW, "dev-gw") || strings.Count(viaGW, "OK TELEMETRY action=push") != len(files) {
		t.Fatalf("push lines differ:\nSecure9P:\n%s\ngateway:\n%s", nine, viaGW)
	}
}

// comparePull pulls every segment over Secure9P and through the gateway
// (the global --rest-url form) into two directories and requires the
// same JSON and the same files; it returns the gateway's directory.
func comparePull(t *testing.T, coh func(...string) (string, int), rest []string, dir string) string {
	t.Helper()
	out9, outGW := filepath.Join(dir, "pull-9p"), filepath.Join(dir, "pull-gw")
	pull9, code9 := coh("telemetry", "pull", "--out", out9, "--json")
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
	return outGW
}
