package queenfs_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/ns/nstest"
	"github.com/cohesix/cohesix/internal/prov/provtest"
	"github.com/cohesix/cohesix/internal/prov/queenfs"
	"github.com/cohesix/cohesix/internal/queen"
)

// binds records the binds /queen/ctl installs; full refuses every one.
type binds struct {
	mu   sync.Mutex
	got  []string
	full bool
}

func (b *binds) bind(_ ns.Caller, from, to []string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.full {
		return errs.New(errs.ErrQuota, "buffer full")
	}
	b.got = append(b.got, ns.Join(from)+" -> "+ns.Join(to))
	return nil
}

type fixture struct {
	t     *testing.T
	q     *provtest.Queen
	fs    *queenfs.FS
	binds *binds
}

func newFixture(t *testing.T, configure func(*queen.Config)) *fixture {
	t.Helper()
	q := provtest.NewQueen(t, configure)
	b := &binds{}
	fs := queenfs.New(queenfs.Config{
		Queen:    q,
		Limits:   ns.DefaultLimits(),
		Mounts:   map[string][]string{"logs": {"log"}},
		MaxBinds: 4,
		Bind:     b.bind,
	})
	return &fixture{t: t, q: q, fs: fs, binds: b}
}

func (f *fixture) write(rel, data string) error {
	_, err := provtest.Walk(f.t, f.fs, rel).Append(provtest.QueenCaller, []byte(data), -1)
	return err
}

func (f *fixture) mustWrite(rel, data string) {
	f.t.Helper()
	provtest.Append(f.t, f.fs, provtest.QueenCaller, rel, data)
}

// segment creates a text segment on dev and returns its name.
func (f *fixture) segment(dev string) string {
	f.t.Helper()
	f.mustWrite("telemetry/"+dev+"/ctl", `{"new":"segment","mime":"text/plain"}`)
	segs, err := provtest.Walk(f.t, f.fs, "telemetry/"+dev+"/seg").List()
	if err != nil || len(segs) == 0 {
		f.t.Fatalf("ls telemetry/%s/seg = %q, %v; want a segment", dev, segs, err)
	}
	return segs[len(segs)-1]
}

func conformance() []nstest.Case {
	return []nstest.Case{
		nstest.Open("telemetry"), // the first ctl write creates a device (namespace.md §3)
		nstest.IgnoresOffset("ctl"),
		nstest.IgnoresOffset("lifecycle/ctl"),
	}
}

func TestConformance(t *testing.T) {
	f := newFixture(t, nil)
	nstest.TestProvider(t, f.fs, append(conformance(), nstest.Lists("", "ctl", "lifecycle", "telemetry", "export"))...)
	seg := f.segment("dev-1")
	f.mustWrite("telemetry/dev-1/seg/"+seg, "record one\n")
	f.mustWrite("telemetry/dev-1/ctl", `{"export":"lora-job","job":"job-1","base_model":"base"}`)
	nstest.TestProvider(t, f.fs, append(conformance(),
		nstest.IgnoresOffset("telemetry/dev-1/ctl"),
		nstest.Lists("telemetry", "dev-1"),
		nstest.Content("telemetry/dev-1/latest", seg+"\n"),
		nstest.Content("telemetry/dev-1/seg/"+seg, "record one\n"),
		nstest.Lists("export/lora_jobs", "job-1"),
		nstest.Content("export/lora_jobs/job-1/base_model.ref", "base\n"),
		nstest.AppendError("export/lora_jobs", "cannot write directory /queen/export/lora_jobs"),
		nstest.AppendError("export/lora_jobs/job-1/policy.toml", "cannot write read-only file /queen/export/lora_jobs/job-1/policy.toml"),
		nstest.WalkError("telemetry", "bad/name", "not found"),
	)...)
}

// Without ingest in the manifest /queen has only ctl and lifecycle.
func TestIngestDisabled(t *testing.T) {
	f := newFixture(t, func(c *queen.Config) { c.Ingest = queen.IngestConfig{} })
	nstest.TestProvider(t, f.fs, append(conformance()[1:], nstest.Lists("", "ctl", "lifecycle"))...)
}

// An approved bind or mount goes to the Bind callback; a refused one
// writes the buffer-full audit line.
func TestCtlBinds(t *testing.T) {
	f := newFixture(t, nil)
	f.mustWrite("ctl", `{"bind":{"from":"/log","to":"/mylog"}}`+"\n"+`{"mount":{"service":"logs","at":"/m"}}`+"\n")
	if want := []string{"/log -> /mylog", "/log -> /m"}; !slices.Equal(f.binds.got, want) {
		t.Errorf("binds = %q; want %q", f.binds.got, want)
	}
	if err := f.write("ctl", `{"mount":{"service":"nope","at":"/m"}}`); err == nil || err.Error() != "invalid path" {
		t.Errorf("mount of an unknown service = %v; want invalid path", err)
	}
	f.binds.full = true
	if err := f.write("ctl", `{"bind":{"from":"/proc","to":"/p"}}`); !errors.Is(err, errs.ErrQuota) {
		t.Errorf("bind into a full table = %v; want ErrQuota", err)
	}
	if log := f.q.Snapshot().Log; !strings.HasSuffix(log[len(log)-1], "bind outcome=deny reason=buffer-full max=4") {
		t.Errorf("last log line = %q; want the buffer-full denial", log[len(log)-1])
	}
}

func TestLifecycleCtl(t *testing.T) {
	f := newFixture(t, nil)
	f.mustWrite("lifecycle/ctl", "cordon\n")
	if s := f.q.Snapshot().Lifecycle.State; s != "DRAINING" {
		t.Errorf("state after cordon = %s; want DRAINING", s)
	}
	// The first refusal ends the write: drain applies, cordon is refused
	// from QUIESCED, and resume never runs.
	if err := f.write("lifecycle/ctl", "drain\ncordon\nresume\n"); err == nil {
		t.Error("drain, cordon, resume = nil; want cordon refused")
	}
	if s := f.q.Snapshot().Lifecycle.State; s != "QUIESCED" {
		t.Errorf("state = %s; want QUIESCED", s)
	}
}

// store records outcomes in order; fail makes Record refuse.
type store struct {
	mu   sync.Mutex
	got  []string
	fail bool
}

func (s *store) Record(o queen.IngestOutcome) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errors.New("disk gone")
	}
	s.got = append(s.got, o.Device+"/"+o.Segment+":"+string(o.Record))
	return nil
}

// With a store, each accepted ingest command is recorded before the
// writer is answered; a store that refuses turns the write into a busy
// refusal with an audit line.
func TestIngestStore(t *testing.T) {
	f := newFixture(t, nil)
	st := &store{}
	f.q.UseIngestStore(st)
	seg := f.segment("dev-1")
	f.mustWrite("telemetry/dev-1/seg/"+seg, "a\n")
	f.mustWrite("telemetry/dev-1/seg/"+seg, "b\n")
	if want := []string{"dev-1/" + seg + ":", "dev-1/" + seg + ":a\n", "dev-1/" + seg + ":b\n"}; !slices.Equal(st.got, want) {
		t.Errorf("recorded = %q; want %q", st.got, want)
	}
	st.fail = true
	err := f.write("telemetry/dev-1/seg/"+seg, "c\n")
	if !errors.Is(err, errs.ErrBusy) || err.Error() != "telemetry spool unavailable" {
		t.Errorf("append with a failing store = %v; want busy telemetry spool unavailable", err)
	}
	if log := f.q.Snapshot().Log; !strings.HasSuffix(log[len(log)-1], "telemetry ingest persist failed device=dev-1 seg_id="+seg) {
		t.Errorf("last log line = %q; want the persist failure", log[len(log)-1])
	}
}
