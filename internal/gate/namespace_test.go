package gate

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/ticket"
	"github.com/google/go-cmp/cmp"
)

func TestSplit(t *testing.T) {
	ns := &Namespace{cfg: Config{WalkDepth: 8, ComponentMax: 64}}
	c64 := strings.Repeat("c", 64)
	tests := []struct {
		name string
		in   string
		want []string // nil with ok=false means refused
		ok   bool
	}{
		{"root", "/", nil, true},
		{"file", "/log/queen.log", []string{"log", "queen.log"}, true},
		{"empty components skipped", "//log///queen.log/", []string{"log", "queen.log"}, true},
		{"component of 64 bytes", "/" + c64, []string{c64}, true},
		{"depth 8", "/a/b/c/d/e/f/g/h", []string{"a", "b", "c", "d", "e", "f", "g", "h"}, true},
		{"depth 8 with empty components", "/a//b/c/d/e/f/g/h//", []string{"a", "b", "c", "d", "e", "f", "g", "h"}, true},
		{"star is a name here", "/a/*", []string{"a", "*"}, true},
		{"empty", "", nil, false},
		{"relative", "log/queen.log", nil, false},
		{"dot", "/log/./queen.log", nil, false},
		{"dot dot", "/log/../proc", nil, false},
		{"trailing dot dot", "/log/..", nil, false},
		{"NUL", "/log/queen\x00.log", nil, false},
		{"component of 65 bytes", "/" + c64 + "c", nil, false},
		{"depth 9", "/a/b/c/d/e/f/g/h/i", nil, false},
		{"CR LF (forged log line)", "/log/x\r\nattach accepted role=queen", nil, false},
		{"ESC sequence", "/log/\x1b[2J", nil, false},
		{"DEL", "/log/a\x7f", nil, false},
		{"tab", "/log/a\tb", nil, false},
		{"C1 CSI", "/log/a\u009bb", nil, false},
		{"invalid UTF-8", "/log/\xff", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ns.Split(tt.in)
			if !tt.ok {
				if !errors.Is(err, errs.ErrInvalid) || errs.Message(err) != "invalid path" {
					t.Errorf("Split(%q) = %q, %v; want ErrInvalid %q", tt.in, got, err, "invalid path")
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("Split(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestCheckName(t *testing.T) {
	ns := &Namespace{cfg: Config{WalkDepth: 8, ComponentMax: 64}}
	tests := []struct {
		in string
		ok bool
	}{
		{"queen.log", true},
		{"worker-1", true},
		{strings.Repeat("n", 64), true},
		{"", false},
		{".", false},
		{"..", false},
		{"a/b", false},
		{"a\x00", false},
		{strings.Repeat("n", 65), false},
		{"x\r\nattach accepted role=queen", false},
		{"\x1b[31mred", false},
		{"a\x7f", false},
		{"a\x01", false},
		{"a\u0085", false},
		{"\xc3", false},
		{"ünïcode", true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.12q", tt.in), func(t *testing.T) {
			err := ns.CheckName(tt.in)
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, errs.ErrInvalid)) {
				t.Errorf("CheckName(%q) = %v; want ok %v (else ErrInvalid)", tt.in, err, tt.ok)
			}
		})
	}
}

func TestShardLabel(t *testing.T) {
	tests := []struct {
		name    string
		enabled bool
		bits    int
		id      string
		want    string
	}{
		{"spec example 1", true, 8, "worker-1", "13"},
		{"spec example 2", true, 8, "worker-2", "1c"},
		{"four bits", true, 4, "worker-1", "01"},
		{"four bits 2", true, 4, "worker-2", "01"},
		{"one bit", true, 1, "worker-1", "00"},
		{"zero bits", true, 0, "worker-1", "00"},
		{"disabled", false, 8, "worker-2", "00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := &Namespace{cfg: Config{ShardEnabled: tt.enabled, ShardBits: tt.bits}}
			if got := ns.ShardLabel(tt.id); got != tt.want {
				t.Errorf("ShardLabel(%s) with enabled=%v bits=%d = %s; want %s", tt.id, tt.enabled, tt.bits, got, tt.want)
			}
		})
	}
}

func TestRootListing(t *testing.T) {
	tests := []struct {
		name string
		opt  options
		want []string
	}{
		{"manifest", options{}, []string{"gpu", "kmesg", "log", "proc", "queen", "trace", "shard", "worker"}},
		{"alias off", options{ns: func(c *Config) { c.LegacyAlias = false }}, []string{"gpu", "kmesg", "log", "proc", "queen", "trace", "shard"}},
		{"sharding off", options{ns: func(c *Config) { c.ShardEnabled = false }}, []string{"gpu", "kmesg", "log", "proc", "queen", "trace", "worker"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.opt)
			got, err := f.list(f.queen(), "/")
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("ls / = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// The manifest's /proc and /queen listings (namespace.md §2, §3): the
// observability nodes it enables, then pressure; ctl, lifecycle and the
// telemetry ingest entries.
var (
	procEntries  = []string{"boot", "tests", "lifecycle", "9p", "ingest", "root", "schedule", "lease", "pressure", "net", "peers", "ui"}
	queenEntries = []string{"ctl", "lifecycle", "telemetry", "export"}
)

func TestListings(t *testing.T) {
	f := newFixture(t, options{})
	f.spawn(3, "10") // worker-1 → 13, worker-2 → 1c, worker-3 → 1a
	q := f.queen()
	tests := []struct {
		path string
		want []string
	}{
		{"/log", []string{"queen.log"}},
		{"/proc", procEntries},
		{"/proc/lifecycle", []string{"state", "reason", "since"}},
		{"/proc/pressure", []string{"busy", "quota", "cut", "policy"}},
		{"/proc/net", []string{"console", "secure9p"}},
		{"/proc/tests", []string{"selftest_quick.coh"}},
		{"/queen", queenEntries},
		{"/worker", []string{"worker-1", "worker-2", "worker-3"}},
		{"/worker/worker-2", []string{"telemetry"}},
		{"/shard/13", []string{"worker"}},
		{"/shard/13/worker", []string{"worker-1"}},
		{"/shard/1c/worker", []string{"worker-2"}},
		{"/shard/00/worker", nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := f.list(q, tt.path)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("ls %s = %q, %v; want %q", tt.path, got, err, tt.want)
			}
		})
	}
	shards, err := f.list(q, "/shard")
	if err != nil || len(shards) != 256 || shards[0] != "00" || shards[255] != "ff" {
		t.Errorf("ls /shard = %d labels (%v); want 00..ff", len(shards), err)
	}
	for _, p := range []string{"/shard/1c/worker/worker-1", "/shard/100", "/shard/1C", "/shard/zz", "/worker/worker-9", "/nope"} {
		if _, _, err := f.ns.Resolve(q, p, OpRead); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("Resolve(%s) = %v; want ErrNotFound", p, err)
		}
	}
}

func TestProcFiles(t *testing.T) {
	f := newFixture(t, options{})
	q := f.queen()
	tests := []struct {
		path string
		want string
	}{
		{"/proc/boot", testBoot},
		{"/proc/lifecycle/state", "state=ONLINE\n"},
		{"/proc/lifecycle/reason", "reason=boot-complete\n"},
		{"/proc/lifecycle/since", "since_ms=1000000\n"},
		{"/proc/pressure/busy", "busy=0\n"},
		{"/proc/pressure/policy", "policy=0\n"},
		{"/proc/tests/selftest_quick.coh", "ping\n"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := f.read(q, tt.path)
			if err != nil || got != tt.want {
				t.Errorf("read %s = %q, %v; want %q", tt.path, got, err, tt.want)
			}
		})
	}
	got, err := f.read(f.worker("worker-1"), "/proc/boot")
	if err != nil || got != testBoot {
		t.Errorf("worker read /proc/boot = %q, %v; want %q", got, err, testBoot)
	}
}

func TestRoleMatrix(t *testing.T) {
	f := newFixture(t, options{})
	f.spawn(2, "10")
	const w1, w2 = "worker-1", "worker-2"
	tests := []struct {
		role    ticket.Role
		subject string
		path    string
		op      Op
		ok      bool
	}{
		{ticket.RoleQueen, "", "/queen/ctl", OpWrite, true},
		{ticket.RoleQueen, "", "/worker", OpRead, true},
		{ticket.RoleQueen, "", "/shard/1c/worker", OpRead, true},
		{ticket.RoleQueen, "", "/worker/worker-2/telemetry", OpWrite, true},
		{ticket.RoleQueen, "", "/proc/lifecycle/state", OpRead, true},
		{ticket.RoleQueen, "", "/log/queen.log", OpWrite, true},

		{ticket.RoleWorkerHeartbeat, w1, "/proc/boot", OpRead, true},
		{ticket.RoleWorkerHeartbeat, w1, "/log/queen.log", OpRead, true},
		{ticket.RoleWorkerHeartbeat, w1, "/shard/13/worker/worker-1/telemetry", OpRead, true},
		{ticket.RoleWorkerHeartbeat, w1, "/shard/13/worker/worker-1/telemetry", OpWrite, true},
		{ticket.RoleWorkerHeartbeat, w1, "/worker/worker-1/telemetry", OpRead, true},
		{ticket.RoleWorkerHeartbeat, w1, "/worker/worker-1/telemetry", OpWrite, true},
		{ticket.RoleWorkerHeartbeat, w1, "/", OpWalk, true},
		{ticket.RoleWorkerHeartbeat, w1, "/proc", OpWalk, true},
		{ticket.RoleWorkerHeartbeat, w1, "/log", OpWalk, true},
		{ticket.RoleWorkerHeartbeat, w1, "/worker", OpWalk, true},
		{ticket.RoleWorkerHeartbeat, w1, "/worker/worker-1", OpWalk, true},
		{ticket.RoleWorkerHeartbeat, w1, "/shard", OpWalk, true},
		{ticket.RoleWorkerHeartbeat, w1, "/shard/13", OpWalk, true},
		{ticket.RoleWorkerHeartbeat, w1, "/shard/13/worker", OpWalk, true},
		{ticket.RoleWorkerHeartbeat, w1, "/worker", OpRead, false},
		{ticket.RoleWorkerHeartbeat, w1, "/shard", OpRead, false},
		{ticket.RoleWorkerHeartbeat, w1, "/shard/13/worker", OpRead, false},
		{ticket.RoleWorkerHeartbeat, w1, "/shard/1c", OpWalk, false},
		{ticket.RoleWorkerHeartbeat, w1, "/queen", OpWalk, false},
		{ticket.RoleWorkerHeartbeat, w1, "/queen/ctl", OpRead, false},
		{ticket.RoleWorkerHeartbeat, w1, "/queen/ctl", OpWrite, false},
		{ticket.RoleWorkerHeartbeat, w1, "/log/queen.log", OpWrite, false},
		{ticket.RoleWorkerHeartbeat, w1, "/proc/boot", OpWrite, false},
		{ticket.RoleWorkerHeartbeat, w1, "/proc", OpRead, false},
		{ticket.RoleWorkerHeartbeat, w1, "/proc/lifecycle/state", OpRead, false},
		{ticket.RoleWorkerHeartbeat, w1, "/proc/pressure/policy", OpRead, false},
		{ticket.RoleWorkerHeartbeat, w1, "/worker/worker-2/telemetry", OpRead, false},
		{ticket.RoleWorkerHeartbeat, w1, "/worker/worker-2/telemetry", OpWrite, false},
		{ticket.RoleWorkerHeartbeat, w1, "/shard/1c/worker/worker-2/telemetry", OpWrite, false},
		{ticket.RoleWorkerHeartbeat, w1, "/shard/1c/worker/worker-1/telemetry", OpRead, false}, // wrong label
		{ticket.RoleWorkerHeartbeat, "", "/worker/worker-1/telemetry", OpRead, false},          // no subject
		{ticket.RoleWorkerGPU, w2, "/worker/worker-2/telemetry", OpWrite, true},
		{ticket.RoleWorkerGPU, w2, "/worker/worker-1/telemetry", OpWrite, false},

		{ticket.RoleWorkerBus, "modbus-1", "/proc", OpRead, true},
		{ticket.RoleWorkerBus, "modbus-1", "/log", OpRead, true},
		{ticket.RoleWorkerBus, "modbus-1", "/proc/boot", OpRead, true},
		{ticket.RoleWorkerBus, "modbus-1", "/log/queen.log", OpWrite, false},
		{ticket.RoleWorkerBus, "modbus-1", "/worker/worker-1/telemetry", OpRead, false},
		{ticket.RoleWorkerLora, "lora-1", "/queen/ctl", OpWrite, false},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s/%s/%s%s", tt.role, tt.op, tt.subject, tt.path)
		t.Run(name, func(t *testing.T) {
			s := f.ns.NewSession(tt.role, tt.subject)
			comps, err := f.ns.Split(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			total := f.logTotal()
			err = f.ns.Check(s, comps, tt.op)
			if tt.ok {
				if err != nil {
					t.Errorf("Check(%s, %s, %s) = %v; want nil", tt.role, tt.path, tt.op, err)
				}
				if got := f.logSince(total); len(got) != 0 {
					t.Errorf("allowed access wrote audit lines %q", got)
				}
				return
			}
			if want := "access to " + tt.path + " denied"; !errors.Is(err, errs.ErrPermission) || errs.Message(err) != want {
				t.Errorf("Check(%s, %s, %s) = %v; want ErrPermission %q", tt.role, tt.path, tt.op, err, want)
			}
			subject := tt.subject
			if subject == "" {
				subject = "none"
			}
			want := []string{fmt.Sprintf("access denied role=%s subject=%s path=%s op=%s", tt.role, subject, tt.path, tt.op)}
			if got := f.logSince(total); !slices.Equal(got, want) {
				t.Errorf("audit = %q; want %q", got, want)
			}
		})
	}
}

func TestWorkerTelemetryPaths(t *testing.T) {
	f := newFixture(t, options{})
	f.spawn(2, "10")
	w1 := f.worker("worker-1")
	f.mustWrite(w1, "/worker/worker-1/telemetry", `{"alias":1}`)
	f.mustWrite(w1, "/shard/13/worker/worker-1/telemetry", `{"canonical":1}`+"\n")
	want := "{\"alias\":1}\n{\"canonical\":1}\n"
	for _, p := range []string{"/worker/worker-1/telemetry", "/shard/13/worker/worker-1/telemetry"} {
		for _, s := range []*Session{w1, f.queen()} {
			if got, err := f.read(s, p); err != nil || got != want {
				t.Errorf("read %s as %s = %q, %v; want %q", p, s.Role, got, err, want)
			}
		}
	}
	err := f.write(w1, "/worker/worker-2/telemetry", "x")
	if want := "access to /worker/worker-2/telemetry denied"; !errors.Is(err, errs.ErrPermission) || errs.Message(err) != want {
		t.Errorf("worker-1 writing worker-2's telemetry = %v; want ErrPermission %q", err, want)
	}
	if got, _ := f.read(f.queen(), "/worker/worker-2/telemetry"); got != "" {
		t.Errorf("worker-2 telemetry = %q; want empty", got)
	}
	if _, err := f.list(w1, "/worker"); !errors.Is(err, errs.ErrPermission) {
		t.Errorf("worker ls /worker = %v; want ErrPermission", err)
	}
	if _, err := f.list(w1, "/shard/13/worker"); !errors.Is(err, errs.ErrPermission) {
		t.Errorf("worker ls /shard/13/worker = %v; want ErrPermission", err)
	}
}

func TestWorkerCannotWriteCtl(t *testing.T) {
	f := newFixture(t, options{})
	f.spawn(1, "10")
	w1 := f.worker("worker-1")
	bind := `{"bind":{"from":"/log","to":"/mylog"}}`
	total := f.logTotal()
	err := f.write(w1, "/queen/ctl", bind)
	if !errors.Is(err, errs.ErrPermission) || errs.Message(err) != "access to /queen/ctl denied" {
		t.Errorf("worker write /queen/ctl = %v; want ErrPermission", err)
	}
	if want := []string{"access denied role=worker-heartbeat subject=worker-1 path=/queen/ctl op=write"}; !slices.Equal(f.logSince(total), want) {
		t.Errorf("audit = %q; want %q", f.logSince(total), want)
	}
	// The transport that reports the refusal counts it, not the namespace.
	if got := f.q.Pressure.Policy.Load(); got != 0 {
		t.Errorf("Pressure.Policy after a namespace denial = %d; want 0", got)
	}
	// Even past the policy check (a transport that skipped it), the queen
	// refuses and the session gains no bind.
	n, err := f.ns.Lookup([]string{"queen", "ctl"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Append(w1, []byte(bind), -1); !errors.Is(err, errs.ErrPermission) {
		t.Errorf("worker Append on /queen/ctl node = %v; want ErrPermission", err)
	}
	if got := f.ns.Rebind(w1, []string{"mylog", "queen.log"}); !slices.Equal(got, []string{"mylog", "queen.log"}) {
		t.Errorf("Rebind after refused bind = %q; want unchanged", got)
	}
}

func TestBindIsPerSession(t *testing.T) {
	f := newFixture(t, options{})
	a, b := f.queen(), f.queen()
	f.mustWrite(a, "/log/queen.log", "hello from a")
	f.mustWrite(a, "/queen/ctl", `{"bind":{"from":"/log","to":"/mylog"}}`)
	got, err := f.read(a, "/mylog/queen.log")
	if err != nil || !strings.Contains(got, "hello from a\n") {
		t.Errorf("session a read /mylog/queen.log = %q, %v; want the log", got, err)
	}
	if _, err := f.read(b, "/mylog/queen.log"); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("session b read /mylog/queen.log = %v; want ErrNotFound (binds are per session)", err)
	}
	if !slices.Contains(f.log(), "bind from=/log to=/mylog") {
		t.Errorf("log = %q; want the bind audited", f.log())
	}
}

// M4: "A queen remapping /queen does not affect other sessions".
func TestRemapQueenDoesNotAffectOthers(t *testing.T) {
	f := newFixture(t, options{})
	a, b := f.queen(), f.queen()
	f.mustWrite(a, "/queen/ctl", `{"bind":{"from":"/proc","to":"/queen"}}`)
	if got, err := f.list(a, "/queen"); err != nil || !slices.Equal(got, procEntries) {
		t.Errorf("session a ls /queen = %q, %v; want /proc's entries", got, err)
	}
	if _, err := f.read(a, "/queen/lifecycle/state"); err != nil {
		t.Errorf("session a read /queen/lifecycle/state = %v; want /proc/lifecycle/state", err)
	}
	if got, err := f.list(b, "/queen"); err != nil || !slices.Equal(got, queenEntries) {
		t.Errorf("session b ls /queen = %q, %v; want %q", got, err, queenEntries)
	}
	f.mustWrite(b, "/queen/ctl", `{"spawn":"heartbeat","ticks":1}`)
	if got, err := f.list(b, "/worker"); err != nil || !slices.Equal(got, []string{"worker-1"}) {
		t.Errorf("session b ls /worker after spawn = %q, %v; want [worker-1]", got, err)
	}
}

func TestBindResolution(t *testing.T) {
	f := newFixture(t, options{})
	s := f.queen()
	for _, line := range []string{
		`{"bind":{"from":"/log","to":"/a"}}`,
		`{"bind":{"from":"/proc","to":"/a/b"}}`,
		`{"bind":{"from":"/proc/lifecycle","to":"/ab"}}`,
	} {
		f.mustWrite(s, "/queen/ctl", line)
	}
	tests := []struct{ in, want string }{
		{"/a/queen.log", "/log/queen.log"},
		{"/a/b/boot", "/proc/boot"},            // longest prefix wins
		{"/a/b", "/proc"},                      // exact
		{"/ab/state", "/proc/lifecycle/state"}, // component boundary: /ab is not under /a
		{"/abc", "/abc"},
		{"/log/queen.log", "/log/queen.log"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			comps, _ := f.ns.Split(tt.in)
			if got := Join(f.ns.Rebind(s, comps)); got != tt.want {
				t.Errorf("Rebind(%s) = %s; want %s", tt.in, got, tt.want)
			}
		})
	}
	// Binding an existing target replaces its source.
	f.mustWrite(s, "/queen/ctl", `{"bind":{"from":"/proc","to":"/a"}}`)
	if got := Join(f.ns.Rebind(s, []string{"a", "boot"})); got != "/proc/boot" {
		t.Errorf("Rebind(/a/boot) after rebinding /a = %s; want /proc/boot", got)
	}
}

func TestMaxBinds(t *testing.T) {
	f := newFixture(t, options{ns: func(c *Config) { c.MaxBinds = 3 }})
	s := f.queen()
	for i := range 3 {
		f.mustWrite(s, "/queen/ctl", fmt.Sprintf(`{"bind":{"from":"/log","to":"/b%d"}}`, i))
	}
	total := f.logTotal()
	err := f.write(s, "/queen/ctl", `{"bind":{"from":"/log","to":"/b3"}}`)
	if !errors.Is(err, errs.ErrQuota) || errs.Message(err) != "buffer full" {
		t.Errorf("fourth bind = %v; want ErrQuota %q", err, "buffer full")
	}
	if got := f.logSince(total); !slices.Contains(got, "bind outcome=deny reason=buffer-full max=3") {
		t.Errorf("audit = %q; want a buffer-full bind denial", got)
	}
	if _, err := f.read(s, "/b3/queen.log"); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("read /b3/queen.log = %v; want ErrNotFound", err)
	}
	// Replacing an existing target needs no new slot.
	f.mustWrite(s, "/queen/ctl", `{"bind":{"from":"/proc","to":"/b0"}}`)
	if _, err := f.read(s, "/b0/boot"); err != nil {
		t.Errorf("read /b0/boot after rebinding at the limit = %v; want nil", err)
	}
	// Another session has its own table.
	f.mustWrite(f.queen(), "/queen/ctl", `{"bind":{"from":"/log","to":"/b3"}}`)
}

func TestMount(t *testing.T) {
	f := newFixture(t, options{})
	s := f.queen()
	f.mustWrite(s, "/queen/ctl", `{"mount":{"service":"logs","at":"/x"}}`)
	if got, err := f.list(s, "/x"); err != nil || !slices.Equal(got, []string{"queen.log"}) {
		t.Errorf("ls /x after mounting logs = %q, %v; want [queen.log]", got, err)
	}
	if !slices.Contains(f.log(), "mount service=logs at=/x") {
		t.Errorf("log = %q; want the mount audited", f.log())
	}
	// Mounting at the canonical path is a no-op that takes no slot.
	f.mustWrite(s, "/queen/ctl", `{"mount":{"service":"proc","at":"/proc"}}`)
	s.mu.Lock()
	n := len(s.binds)
	s.mu.Unlock()
	if n != 1 {
		t.Errorf("bind table has %d entries after a canonical mount; want 1", n)
	}
}

func TestBindTargetRefusals(t *testing.T) {
	tests := []struct {
		name string
		line string
	}{
		{"unknown service", `{"mount":{"service":"nope","at":"/x"}}`},
		{"mount at root", `{"mount":{"service":"logs","at":"/"}}`},
		{"mount at star", `{"mount":{"service":"logs","at":"/x/*"}}`},
		{"bind to star", `{"bind":{"from":"/log","to":"/x/*"}}`},
		{"bind from star", `{"bind":{"from":"/*","to":"/x"}}`},
		{"bind to root", `{"bind":{"from":"/log","to":"/"}}`},
		{"bind from root", `{"bind":{"from":"/","to":"/x"}}`},
		{"empty component", `{"bind":{"from":"/log","to":"/x//y"}}`},
		{"trailing slash", `{"bind":{"from":"/log/","to":"/x"}}`},
		{"relative", `{"bind":{"from":"log","to":"/x"}}`},
		{"dot dot", `{"bind":{"from":"/log/..","to":"/x"}}`},
		{"too deep", `{"bind":{"from":"/log","to":"/a/b/c/d/e/f/g/h/i"}}`},
		{"empty", `{"bind":{"from":"","to":"/x"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, options{})
			s := f.queen()
			total := f.logTotal()
			err := f.write(s, "/queen/ctl", tt.line)
			if !errors.Is(err, errs.ErrInvalid) || errs.Message(err) != "invalid path" {
				t.Errorf("write %s = %v; want ErrInvalid %q", tt.line, err, "invalid path")
			}
			got := f.logSince(total)
			if len(got) != 1 || !strings.Contains(got[0], "outcome=deny reason=invalid-path") {
				t.Errorf("audit = %q; want one invalid-path denial", got)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if len(s.binds) != 0 {
				t.Errorf("bind table = %v; want empty", s.binds)
			}
		})
	}
}

func TestBindGatedByLifecycle(t *testing.T) {
	f := newFixture(t, options{queen: func(c *queen.Config) { c.AutoOnline = "" }}) // stays BOOTING
	s := f.queen()
	err := f.write(s, "/queen/ctl", `{"bind":{"from":"/log","to":"/x"}}`)
	if !errors.Is(err, errs.ErrPermission) {
		t.Errorf("bind in BOOTING = %v; want ErrPermission", err)
	}
	if !slices.Contains(f.log(), "lifecycle denied action=new-work state=BOOTING reason=gate-denied") {
		t.Errorf("log = %q; want a new-work gate denial", f.log())
	}
	if got, _ := f.read(s, "/proc/lifecycle/state"); got != "state=BOOTING\n" {
		t.Errorf("/proc/lifecycle/state = %q; want state=BOOTING", got)
	}
}

func TestTelemetryWindow(t *testing.T) {
	f := newFixture(t, options{queen: func(c *queen.Config) { c.RingBytesPerWorker = 64; c.HeartbeatIntervalMs = 100 }})
	f.spawn(1, "100")
	for range 8 { // 8 records of 23 bytes: the 64-byte ring holds the last two
		f.clock.ms.Add(100) // a heartbeat apart: each wrap opens its own audit window
		f.tick(1)
	}
	q := f.queen()
	n, _, err := f.ns.Resolve(q, "/worker/worker-1/telemetry", OpRead)
	if err != nil {
		t.Fatal(err)
	}
	ring := f.q.Snapshot().Workers()[0].Ring
	if ring.Base == 0 {
		t.Fatalf("ring base = 0; want a wrapped ring")
	}
	data, err := ReadAll(n)
	if err != nil {
		t.Fatalf("ReadAll = %v", err)
	}
	want := "{\"tick\":7,\"ts_ms\":700}\n{\"tick\":8,\"ts_ms\":800}\n"
	if string(data) != want {
		t.Errorf("ReadAll(wrapped telemetry) = %q; want %q", data, want)
	}
	st, _ := n.Stat()
	if st.Size != ring.End() {
		t.Errorf("Stat size = %d; want ring end %d", st.Size, ring.End())
	}
	for _, off := range []int64{0, int64(ring.Base) - 1} {
		_, err := n.ReadAt(make([]byte, 16), off)
		want := fmt.Sprintf("append-only offset %d is stale; oldest available %d", off, ring.Base)
		if !errors.Is(err, errs.ErrInvalid) || errs.Message(err) != want {
			t.Errorf("ReadAt(%d) = %v; want ErrInvalid %q", off, err, want)
		}
	}
	p := make([]byte, 8)
	k, err := n.ReadAt(p, int64(ring.Base))
	if err != nil || string(p[:k]) != `{"tick":` {
		t.Errorf("ReadAt(base) = %q, %v; want the oldest retained record", p[:k], err)
	}
	// The wrap was audited.
	var wraps []string
	for _, l := range f.log() {
		if strings.HasPrefix(l, "telemetry ring wrap ") {
			wraps = append(wraps, l)
		}
	}
	if len(wraps) == 0 || wraps[len(wraps)-1] != fmt.Sprintf("telemetry ring wrap dropped_bytes=23 new_base=%d", ring.Base) {
		t.Errorf("wrap audit lines = %q; want the last to report new_base=%d", wraps, ring.Base)
	}
}

func TestKilledWorkerTelemetry(t *testing.T) {
	f := newFixture(t, options{})
	f.spawn(1, "10")
	q := f.queen()
	n, _, err := f.ns.Resolve(q, "/worker/worker-1/telemetry", OpRead)
	if err != nil {
		t.Fatal(err)
	}
	f.mustWrite(q, "/queen/ctl", `{"kill":"worker-1"}`)
	if _, err := n.ReadAt(make([]byte, 8), 0); !errors.Is(err, errs.ErrClosed) {
		t.Errorf("ReadAt on a killed worker's open telemetry = %v; want ErrClosed", err)
	}
	if _, _, err := f.ns.Resolve(q, "/worker/worker-1/telemetry", OpRead); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("Resolve after kill = %v; want ErrNotFound", err)
	}
	err = f.write(q, "/queen/ctl", `{"kill":"worker-1"}`)
	if !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("kill twice = %v; want ErrNotFound", err)
	}
}

func TestLogAppend(t *testing.T) {
	f := newFixture(t, options{})
	q := f.queen()
	f.mustWrite(q, "/log/queen.log", "one\ntwo\n")
	log := f.log()
	if diff := cmp.Diff([]string{"one", "two"}, log[len(log)-2:]); diff != "" {
		t.Errorf("log tail mismatch (-want +got):\n%s", diff)
	}
	got, err := f.read(f.worker("worker-9"), "/log/queen.log")
	if err != nil || !strings.HasSuffix(got, "one\ntwo\n") {
		t.Errorf("worker read /log/queen.log = %q, %v; want the log", got, err)
	}
}
