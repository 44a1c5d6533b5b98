package tracefs_test

import (
	"strings"
	"testing"

	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/ns/nstest"
	"github.com/cohesix/cohesix/internal/prov/provtest"
	"github.com/cohesix/cohesix/internal/prov/tracefs"
	"github.com/cohesix/cohesix/internal/queen"
)

func newProviders(t *testing.T) (trace, kmesg ns.Provider, q *provtest.Queen) {
	t.Helper()
	q = provtest.NewQueen(t, nil)
	q.Must(queen.TraceEmit{Cat: "kmesg", Level: "info", Lines: []string{"boot line one", "boot line two"}})
	cfg := tracefs.Config{Queen: q}
	return tracefs.Trace(cfg), tracefs.Kmesg(cfg), q
}

func TestConformance(t *testing.T) {
	trace, kmesg, _ := newProviders(t)
	nstest.TestProvider(t, trace,
		nstest.Lists("", "ctl", "events"),
		nstest.Content("ctl", `{"set":{"level":"info","cats":["boot","kmesg","console","ninep","queen","lifecycle","ticket","policy","telemetry"]}}`+"\n"),
		nstest.AppendError("events", "cannot write read-only file /trace/events"),
	)
	nstest.TestProvider(t, kmesg, nstest.AppendError("", "cannot write read-only file /kmesg"))
}

// Each line written to ctl sets the filter in turn; the first refusal
// ends the write, and events shows what the filter in force passes.
func TestCtl(t *testing.T) {
	trace, kmesg, _ := newProviders(t)
	provtest.Append(t, trace, provtest.QueenCaller, "ctl",
		`{"set":{"level":"debug","cats":["queen"]}}`+"\n"+`{"set":{"level":"info","cats":["kmesg"]}}`+"\n\n")
	if got, want := provtest.Read(t, trace, "ctl"), `{"set":{"level":"info","cats":["kmesg"]}}`+"\n"; got != want {
		t.Errorf("ctl = %q; want %q", got, want)
	}
	events := provtest.Read(t, trace, "events")
	if lines := strings.Split(strings.TrimSuffix(events, "\n"), "\n"); len(lines) < 2 || !strings.Contains(events, `"msg":"boot line two"`) {
		t.Errorf("events = %q; want the kmesg lines only", events)
	}
	if events != provtest.Read(t, kmesg, "") {
		t.Errorf("events under a kmesg filter = %q; want /kmesg %q", events, provtest.Read(t, kmesg, ""))
	}
	ctl := provtest.Walk(t, trace, "ctl")
	_, err := ctl.Append(provtest.QueenCaller, []byte(`{"set":{"level":"loud","cats":["queen"]}}`+"\n"+`{"set":{"level":"warn","cats":["queen"]}}`), -1)
	if err == nil || err.Error() != "invalid trace ctl: unknown level" {
		t.Errorf("Append(bad line) = %v; want %q", err, "invalid trace ctl: unknown level")
	}
	if got := provtest.Read(t, trace, "ctl"); !strings.Contains(got, `"kmesg"`) {
		t.Errorf("ctl after a refused first line = %q; want the filter unchanged", got)
	}
	if _, ok := provtest.Walk(t, trace, "events").(ns.Tailer); !ok {
		t.Error("events is not tailable")
	}
}
