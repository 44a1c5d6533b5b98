package hive

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/cohesix/cohesix/internal/queen"
)

// TestTraceFS: /trace/events is JSONL with monotonic seq, filtered by
// /trace/ctl (an empty cats list and unknown levels are refused); /kmesg
// holds the boot banner (M7e, spec namespace §11).
func TestTraceFS(t *testing.T) {
	h := newTestHive(t)
	s := h.session()
	h.run(t, s, "attach queen")
	if got := h.run(t, s, "ls /trace"); !slices.Equal(got, []string{"OK LS path=/trace entries=2", "ctl", "events", "END"}) {
		t.Fatalf("ls /trace = %q", got)
	}
	km := h.run(t, s, "tail /kmesg")
	if len(km) < 3 || km[0] != "OK TAIL path=/kmesg" || !strings.Contains(km[1], `"msg":"Cohesix boot: root-task online"`) {
		t.Fatalf("tail /kmesg = %q", km)
	}
	events := func() []queen.TraceEvent {
		t.Helper()
		out := h.run(t, s, "tail /trace/events")
		if out[0] != "OK TAIL path=/trace/events" || out[len(out)-1] != "END" {
			t.Fatalf("tail /trace/events = %q", out)
		}
		var evs []queen.TraceEvent
		for _, l := range out[1 : len(out)-1] {
			var e queen.TraceEvent
			if err := json.Unmarshal([]byte(l), &e); err != nil {
				t.Fatalf("event %q is not JSON: %v", l, err)
			}
			if len(evs) > 0 && e.Seq <= evs[len(evs)-1].Seq {
				t.Fatalf("seq not monotonic: %d after %d", e.Seq, evs[len(evs)-1].Seq)
			}
			evs = append(evs, e)
		}
		return evs
	}
	all := events()
	if !slices.ContainsFunc(all, func(e queen.TraceEvent) bool { return e.Cat == "lifecycle" }) {
		t.Errorf("no lifecycle event in %v", all)
	}
	if got := h.run(t, s, `echo /trace/ctl {"set":{"level":"info","cats":[]}}`); !strings.HasPrefix(got[0], "ERR ECHO reason=policy detail=invalid-payload") {
		t.Fatalf("empty cats = %q", got)
	}
	if got := h.run(t, s, `echo /trace/ctl {"set":{"level":"loud","cats":["boot"]}}`); !strings.HasPrefix(got[0], "ERR ECHO") {
		t.Fatalf("unknown level = %q", got)
	}
	if got := h.run(t, s, `echo /trace/ctl {"set":{"level":"warn","cats":["console"]}}`); !strings.HasPrefix(got[0], "OK ECHO") {
		t.Fatalf("set = %q", got)
	}
	if got := h.run(t, s, "cat /trace/ctl"); got[1] != `{"set":{"level":"warn","cats":["console"]}}` {
		t.Fatalf("cat /trace/ctl = %q", got)
	}
	h.run(t, s, "cat /proc/none") // a console refusal: warn, console
	for _, e := range events() {
		if e.Cat != "console" || e.Level != "warn" && e.Level != "error" {
			t.Errorf("filtered event %+v", e)
		}
	}
	if len(events()) == 0 {
		t.Errorf("no console warn event after a refusal")
	}
}
