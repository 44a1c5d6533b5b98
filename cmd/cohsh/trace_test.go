package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const traceScript = `attach queen
EXPECT OK
ls /trace
EXPECT SUBSTR entries=2
echo {"set":{"level":"info","cats":["console","lifecycle","queen","kmesg"]}} > /trace/ctl
EXPECT OK
spawn heartbeat ticks=3
EXPECT OK
echo hello > /worker/worker-1/telemetry
EXPECT OK
cat /worker/worker-1/telemetry
EXPECT SUBSTR data=hello
cat /proc/missing
EXPECT ERR
tail /trace/events
EXPECT OK
tail /kmesg
EXPECT OK
quit
`

// TestTraceRecordReplay: a recorded mock session replays byte for byte
// under GOMAXPROCS 1 and 4 against fresh hives, and a trace with one
// flipped byte is rejected before anything is sent (spec console §11).
func TestTraceRecordReplay(t *testing.T) {
	s := writeFile(t, "t.coh", traceScript)
	tr := filepath.Join(t.TempDir(), "session.trace")
	if out, errOut, code := runCohsh(t, "", "--transport", "mock", "--script", s, "--record-trace", tr); code != 0 {
		t.Fatalf("record: exit %d\n%s\n%s", code, out, errOut)
	}
	var outs []string
	for _, procs := range []int{1, 4} {
		prev := runtime.GOMAXPROCS(procs)
		out, errOut, code := runCohsh(t, "", "--transport", "mock", "--replay-trace", tr)
		runtime.GOMAXPROCS(prev)
		if code != 0 {
			t.Fatalf("replay GOMAXPROCS=%d: exit %d\n%s\n%s", procs, code, out, errOut)
		}
		if !strings.Contains(out, `"msg":"trace ctl set level=info cats=console,lifecycle,queen,kmesg transport=`) || !strings.HasSuffix(out, "replay ok frames=10 acks=10\n") {
			t.Fatalf("replay output:\n%s", out)
		}
		outs = append(outs, out)
	}
	if outs[0] != outs[1] {
		t.Fatalf("replay differs between GOMAXPROCS 1 and 4:\n%s\n---\n%s", outs[0], outs[1])
	}
	b, err := os.ReadFile(tr)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x20
	bad := filepath.Join(t.TempDir(), "tampered.trace")
	if err := os.WriteFile(bad, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCohsh(t, "", "--transport", "mock", "--replay-trace", bad)
	if code == 0 || out != "" || !strings.Contains(errOut, "rejected: trace hash mismatch") {
		t.Fatalf("tampered replay: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if _, errOut, code := runCohsh(t, "", "--replay-trace", tr); code != exitUsage || !strings.Contains(errOut, "require --transport mock") {
		t.Fatalf("replay over tcp: exit %d %s", code, errOut)
	}
}
