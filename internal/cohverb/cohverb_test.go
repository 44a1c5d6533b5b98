package cohverb

import (
	"errors"
	"strings"
	"testing"
)

// TestWire: each verb cohsh rewrites becomes the console line cohsh sends
// (the same function cohsh calls), and what cohsh refuses is a UsageError.
func TestWire(t *testing.T) {
	for _, tc := range []struct{ line, wire string }{
		{"log", "tail /log/queen.log"},
		{"ping", "ping"},
		{"cat /proc/lifecycle/state", "cat /proc/lifecycle/state"},
		{"tail /worker/worker-1/telemetry", "tail /worker/worker-1/telemetry"},
		{"echo hello > /log/queen.log", "echo /log/queen.log hello"},
		{"spawn heartbeat ticks=5", `echo /queen/ctl {"spawn":"heartbeat","ticks":5}`},
		{"kill worker-3", `echo /queen/ctl {"kill":"worker-3"}`},
		{"bind /worker /mnt", `echo /queen/ctl {"bind":{"from":"/worker","to":"/mnt"}}`},
		{"mount svc /srv", `echo /queen/ctl {"mount":{"service":"svc","at":"/srv"}}`},
	} {
		wire, local, ok, err := Wire(tc.line)
		if err != nil || !ok || local != nil || wire != tc.wire {
			t.Errorf("Wire(%q) = %q, %v, %v, %v; want %q", tc.line, wire, local, ok, err, tc.wire)
		}
	}
	if _, local, ok, err := Wire("help"); err != nil || !ok || len(local) == 0 || local[0] != "Commands:" {
		t.Errorf("help = %v %v %v", local, ok, err)
	}
	for _, line := range []string{"attach queen", "tail -f /log/queen.log", "BI", "quit"} {
		if wire, _, ok, err := Wire(line); ok || err != nil || wire != line {
			t.Errorf("Wire(%q) = %q, %v, %v; want it passed on", line, wire, ok, err)
		}
	}
	for _, line := range []string{"cat relative", "cat /a/../b", "kill", `kill a"b`, "spawn", "spawn nope", "spawn heartbeat", "echo nopath", "log extra", "bind /a"} {
		_, _, _, err := Wire(line)
		var ue *UsageError
		if !errors.As(err, &ue) || strings.TrimSpace(ue.Msg) == "" {
			t.Errorf("Wire(%q) error = %v; want a usage error", line, err)
		}
	}
}
