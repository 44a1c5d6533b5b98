package gate

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/ticket"
)

// fakeClock is a Clock that moves only when told.
type fakeClock struct{ ms atomic.Int64 }

func (c *fakeClock) Now() time.Time { return time.UnixMilli(c.ms.Load()) }

const testBoot = "Cohesix boot: root-task online\nmanifest.schema=test\n"

// fixture is a namespace over a running queen whose heartbeats advance
// only by explicit Tick commands.
type fixture struct {
	t     *testing.T
	ns    *Namespace
	q     *queen.Queen
	clock *fakeClock
}

type options struct {
	queen func(*queen.Config)
	ns    func(*Config)
	inbox int // the queen's inbox depth per class; 0 for 64
}

func newFixture(t *testing.T, o options) *fixture {
	t.Helper()
	qcfg := queen.Default()
	qcfg.InitialState, qcfg.AutoOnline = "BOOTING", "ONLINE"
	if o.queen != nil {
		o.queen(&qcfg)
	}
	ncfg := DefaultConfig()
	if o.ns != nil {
		o.ns(&ncfg)
	}
	clock := &fakeClock{}
	clock.ms.Store(1_000_000)
	inbox := o.inbox
	if inbox == 0 {
		inbox = 64
	}
	q := queen.New(qcfg, clock, inbox)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); q.Run(ctx, nil) }()
	t.Cleanup(func() { cancel(); <-done })
	tests := []Entry{{Name: "selftest_quick.coh", Node: Content{ReadOnly: ReadOnly{Path: "/proc/tests/selftest_quick.coh"}, Render: func() []byte { return []byte("ping\n") }}}}
	f := &fixture{t: t, ns: New(q, ncfg, []byte(testBoot), tests), q: q, clock: clock}
	f.do(queen.LogAppend{}) // barrier: boot is complete
	return f
}

func (f *fixture) do(c queen.Cmd) queen.Result {
	f.t.Helper()
	r, err := f.q.Submit(context.Background(), c)
	if err != nil {
		f.t.Fatalf("Submit(%#v) = %v", c, err)
	}
	return r
}

func (f *fixture) tick(n int) {
	f.t.Helper()
	for range n {
		f.do(queen.Tick{})
	}
}

func (f *fixture) queen() *Session { return f.ns.NewSession(ticket.RoleQueen, "") }

func (f *fixture) worker(id string) *Session {
	return f.ns.NewSession(ticket.RoleWorkerHeartbeat, id)
}

// write resolves path for writing as s and appends data.
func (f *fixture) write(s *Session, path, data string) error {
	n, _, err := f.ns.Resolve(s, path, OpWrite)
	if err != nil {
		return err
	}
	_, err = n.Append(s, []byte(data), -1)
	return err
}

func (f *fixture) mustWrite(s *Session, path, data string) {
	f.t.Helper()
	if err := f.write(s, path, data); err != nil {
		f.t.Fatalf("write(%s, %s, %q) = %v; want nil", s.Role, path, data, err)
	}
}

// read resolves path for reading as s and returns its retained content.
func (f *fixture) read(s *Session, path string) (string, error) {
	n, _, err := f.ns.Resolve(s, path, OpRead)
	if err != nil {
		return "", err
	}
	b, err := ReadAll(n)
	return string(b), err
}

func (f *fixture) list(s *Session, path string) ([]string, error) {
	n, _, err := f.ns.Resolve(s, path, OpRead)
	if err != nil {
		return nil, err
	}
	return n.List()
}

// spawn spawns n heartbeat workers with the given tick budget.
func (f *fixture) spawn(n int, ticks string) {
	f.t.Helper()
	q := f.queen()
	for range n {
		f.mustWrite(q, "/queen/ctl", `{"spawn":"heartbeat","ticks":`+ticks+`}`)
	}
}

// log returns the retained /log/queen.log lines.
func (f *fixture) log() []string { return slices.Clone(f.q.Snapshot().Log) }

// logSince returns the lines appended since the log held total lines.
func (f *fixture) logSince(total uint64) []string {
	sn := f.q.Snapshot()
	added := min(int(sn.LogTotal-total), len(sn.Log))
	return slices.Clone(sn.Log[len(sn.Log)-added:])
}

func (f *fixture) logTotal() uint64 { return f.q.Snapshot().LogTotal }
