package hive

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/google/go-cmp/cmp"
)

// bootLine is the first line of /log/queen.log on a hive that booted.
const bootLine = "lifecycle transition old=BOOTING new=ONLINE reason=boot-complete"

// TestDispatch runs each verb's success and refusal on a fresh hive;
// before lines run first and their output is not checked.
func TestDispatch(t *testing.T) {
	help := []string{"help", "bi", "caps", "mem", "ping", "test (host-only; use cohsh)", "nettest (dev-virt)", "netstats", "quit"}
	spawn := `spawn {"spawn":"heartbeat","ticks":3}`
	tok := workerTicket(t, "worker-1")
	tests := []struct {
		name     string
		worker   bool // also mint a worker-1 ticket and attach with it first
		before   []string
		line     string
		want     []string
		wantQuit bool
	}{
		{name: "help", line: "help", want: append(slices.Clone(help), "OK HELP")},
		{name: "help upper case", line: "HELP", want: append(slices.Clone(help), "OK HELP")},
		{name: "ping", line: "ping", want: []string{"PONG", "OK PING reply=pong"}},
		{name: "ping attached", before: []string{"attach queen"}, line: "ping", want: []string{"PONG", "OK PING reply=pong"}},
		{name: "test", line: "test", want: []string{"ERR TEST reason=policy detail=host-only"}},
		{name: "test with argument", line: "test quick", want: []string{"ERR PARSE reason=policy detail=invalid value for argument test"}},
		{name: "bi", line: "bi", want: []string{"ERR BOOTINFO reason=policy detail=unavailable"}},
		{name: "caps", line: "caps", want: []string{"ERR CAPS reason=policy detail=unavailable"}},
		{name: "mem", line: "mem", want: []string{"ERR MEM reason=policy detail=unavailable"}},
		{name: "nettest", line: "nettest", want: []string{"ERR NETTEST reason=policy detail=unsupported"}},
		{name: "netstats", line: "netstats", want: []string{"ERR NETSTATS reason=policy detail=unsupported"}},
		{name: "cachelog", line: "cachelog 4", want: []string{"ERR CACHELOG reason=policy detail=unsupported"}},
		{name: "unknown verb", line: "reboot", want: []string{"ERR PARSE reason=policy detail=unsupported console command"}},
		{name: "quit detached", line: "quit", want: []string{"OK QUIT"}, wantQuit: true},
		{name: "quit attached", before: []string{"attach queen"}, line: "quit", want: []string{"OK QUIT"}, wantQuit: true},

		{name: "attach queen", line: "attach queen", want: []string{"OK ATTACH role=queen"}},
		{name: "attach queen any case", line: "attach QuEeN", want: []string{"OK ATTACH role=queen"}},
		{name: "attach unknown role", line: "attach king", want: []string{"ERR ATTACH reason=policy detail=invalid-role"}},
		{name: "attach worker without ticket", line: "attach worker", want: []string{"ERR ATTACH reason=policy detail=denied"}},
		{name: "attach worker bad ticket", line: "attach worker cohesix-ticket-00.00", want: []string{"ERR ATTACH reason=policy detail=denied"}},
		{name: "attach throttled", before: []string{"attach king"}, line: "attach queen", want: []string{"ERR ATTACH reason=quota detail=throttled delay_ms=250"}},
		{name: "attach worker", before: []string{"attach queen", spawn}, line: "attach worker " + tok, want: []string{"OK ATTACH role=worker-heartbeat"}},
		{name: "attach worker-heartbeat", before: []string{"attach queen", spawn}, line: "attach worker-heartbeat " + tok, want: []string{"OK ATTACH role=worker-heartbeat"}},
		{name: "attach worker ticket for another role", line: "attach worker-gpu " + tok, want: []string{"ERR ATTACH reason=policy detail=denied"}},

		{name: "log detached", line: "log", want: []string{"ERR LOG reason=policy detail=unauthenticated"}},
		{name: "ls detached", line: "ls /", want: []string{"ERR LS reason=policy detail=unauthenticated"}},
		{name: "cat detached", line: "cat /proc/boot", want: []string{"ERR CAT reason=policy detail=unauthenticated"}},
		{name: "tail detached", line: "tail /log/queen.log", want: []string{"ERR TAIL reason=policy detail=unauthenticated"}},
		{name: "echo detached", line: "echo /log/queen.log hi", want: []string{"ERR ECHO reason=policy detail=unauthenticated"}},
		{name: "spawn detached", line: spawn, want: []string{"ERR SPAWN reason=policy detail=unauthenticated"}},
		{name: "kill detached", line: "kill worker-1", want: []string{"ERR KILL reason=policy detail=unauthenticated"}},

		{name: "ls root", before: []string{"attach queen"}, line: "ls /", want: []string{"OK LS path=/ entries=8", "gpu", "kmesg", "log", "proc", "queen", "trace", "shard", "worker", "END"}},
		{name: "ls empty dir", before: []string{"attach queen"}, line: "ls /worker", want: []string{"OK LS path=/worker entries=0", "END"}},
		{name: "ls missing", before: []string{"attach queen"}, line: "ls /nope", want: []string{"ERR LS reason=policy detail=invalid-path path=/nope error=invalid path"}},
		{name: "ls bad path", before: []string{"attach queen"}, line: "ls /log/../proc", want: []string{"ERR LS reason=policy detail=invalid-path path=/log/../proc error=invalid path"}},
		{name: "cat lifecycle", before: []string{"attach queen"}, line: "cat /proc/lifecycle/state", want: []string{"OK CAT path=/proc/lifecycle/state data=state=ONLINE", "state=ONLINE", "END"}},
		{name: "cat boot", before: []string{"attach queen"}, line: "cat /proc/boot", want: catWant("/proc/boot", BootLines())},
		{name: "cat log streams no lines", before: []string{"attach queen", "echo /log/queen.log hello"}, line: "cat /log/queen.log", want: []string{"OK CAT path=/log/queen.log data=" + bootLine + "|attach accepted role=queen|hello", "END"}},
		{name: "cat missing", before: []string{"attach queen"}, line: "cat /nope", want: []string{"ERR CAT reason=policy detail=invalid-path path=/nope error=invalid path"}},
		{name: "cat directory", before: []string{"attach queen"}, line: "cat /proc", want: []string{"ERR CAT reason=policy detail=invalid-path path=/proc error=invalid path"}},
		{name: "tail log", before: []string{"attach queen"}, line: "tail /log/queen.log", want: []string{"OK TAIL path=/log/queen.log", bootLine, "attach accepted role=queen", "END"}},
		{name: "tail unsupported", before: []string{"attach queen"}, line: "tail /proc/boot", want: []string{"ERR TAIL reason=policy detail=invalid-path path=/proc/boot"}},
		{name: "log", before: []string{"attach queen"}, line: "log", want: []string{"OK LOG", bootLine, "attach accepted role=queen", "END"}},
		{name: "echo queen log", before: []string{"attach queen"}, line: "echo /log/queen.log hello there", want: []string{"OK ECHO path=/log/queen.log bytes=11"}},
		{name: "echo read-only", before: []string{"attach queen"}, line: "echo /proc/boot x", want: []string{"ERR ECHO reason=policy detail=denied path=/proc/boot error=EPERM"}},

		{name: "spawn", before: []string{"attach queen"}, line: spawn, want: []string{`OK SPAWN payload={"spawn":"heartbeat","ticks":3}`}},
		{name: "spawn gpu", before: []string{"attach queen"}, line: `spawn {"spawn":"gpu","lease":{"gpu_id":"GPU-0","mem_mb":1,"streams":1,"ttl_s":1}}`, want: []string{"ERR SPAWN reason=busy detail=busy path=/queen/ctl error=EBUSY"}},
		{name: "spawn bad json", before: []string{"attach queen"}, line: `spawn {"spawn":"heartbeat"`, want: []string{"ERR SPAWN reason=policy detail=invalid-payload path=/queen/ctl error=invalid payload"}},
		{name: "spawn zero ticks", before: []string{"attach queen"}, line: `spawn {"spawn":"heartbeat","ticks":0}`, want: []string{"ERR SPAWN reason=policy detail=invalid-payload path=/queen/ctl error=invalid payload"}},
		{name: "spawn over max workers", before: append([]string{"attach queen"}, slices.Repeat([]string{spawn}, generated.QueenMaxWorkers)...), line: spawn, want: []string{"ERR SPAWN reason=quota detail=buffer-full path=/queen/ctl error=buffer full"}},
		{name: "kill", before: []string{"attach queen", spawn}, line: "kill worker-1", want: []string{"OK KILL id=worker-1"}},
		{name: "kill id with quotes adds no keys", before: []string{"attach queen", spawn}, line: `kill w","kill":"worker-1`, want: []string{"ERR KILL reason=policy detail=invalid-path path=/queen/ctl error=invalid path"}},
		{name: "kill unknown", before: []string{"attach queen"}, line: "kill worker-9", want: []string{"ERR KILL reason=policy detail=invalid-path path=/queen/ctl error=invalid path"}},
		{name: "bind via echo", before: []string{"attach queen", `echo /queen/ctl {"bind":{"from":"/log","to":"/mylog"}}`}, line: "ls /mylog", want: []string{"OK LS path=/mylog entries=1", "queen.log", "END"}},

		{name: "worker echo denied", worker: true, line: "echo /log/queen.log hi", want: []string{"ERR ECHO reason=policy detail=denied path=/log/queen.log error=EPERM"}},
		{name: "worker echo own telemetry denied", worker: true, line: `echo /worker/worker-1/telemetry {"x":1}`, want: []string{"ERR ECHO reason=policy detail=denied path=/worker/worker-1/telemetry error=EPERM"}},
		{name: "worker log", worker: true, line: "log", want: []string{"ERR LOG reason=policy detail=unauthenticated"}},
		{name: "worker spawn", worker: true, line: spawn, want: []string{"ERR SPAWN reason=policy detail=unauthenticated"}},
		{name: "worker kill", worker: true, line: "kill worker-1", want: []string{"ERR KILL reason=policy detail=unauthenticated"}},
		{name: "worker cat ctl", worker: true, line: "cat /queen/ctl", want: []string{"ERR CAT reason=policy detail=denied path=/queen/ctl error=EPERM"}},
		{name: "worker ls workers", worker: true, line: "ls /worker", want: []string{"ERR LS reason=policy detail=denied path=/worker error=EPERM"}},
		{name: "worker cat boot", worker: true, line: "cat /proc/boot", want: catWant("/proc/boot", BootLines())},
		{name: "worker cat own telemetry", worker: true, line: "cat /worker/worker-1/telemetry", want: []string{"OK CAT path=/worker/worker-1/telemetry data=", "END"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHive(t)
			cs := h.session()
			before := tt.before
			if tt.worker {
				before = append([]string{"attach queen", spawn, "attach worker " + tok}, before...)
			}
			for _, l := range before {
				cs.Dispatch(l)
			}
			out, quit := cs.Dispatch(tt.line)
			if diff := cmp.Diff(tt.want, out); diff != "" {
				t.Errorf("dispatch(%q) mismatch (-want +got):\n%s", tt.line, diff)
			}
			if quit != tt.wantQuit {
				t.Errorf("dispatch(%q) quit = %v; want %v", tt.line, quit, tt.wantQuit)
			}
		})
	}
}

// catWant is the cat reply for a file of lines; the summary rules are
// the console package's (tested there).
func catWant(path string, lines []string) []string {
	summary := console.CatSummary(path, lines, console.ManifestLimits())
	return append(append([]string{"OK CAT path=" + path + " data=" + summary}, lines...), "END")
}

// TestPolicyPressureCountsEachRefusal provokes a known number of console
// refusals with reason=policy and checks /proc/pressure/policy counts each
// exactly once, whichever layer refused.
func TestPolicyPressureCountsEachRefusal(t *testing.T) {
	h := newTestHive(t)
	cs := h.session()
	spawn := `spawn {"spawn":"heartbeat","ticks":3}`
	steps := []struct {
		line   string
		policy bool // the reply is a reason=policy refusal
	}{
		{"ls /", true},        // unauthenticated
		{"test", true},        // host-only
		{"bi", true},          // unavailable
		{"reboot", true},      // parse error
		{"attach king", true}, // invalid role
		{"ping", false},
		{"help", false},
	}
	want := 0
	for _, s := range steps {
		out, _ := cs.Dispatch(s.line)
		if got := strings.Contains(out[len(out)-1], "reason=policy"); got != s.policy {
			t.Fatalf("dispatch(%q) = %q; want policy refusal %v", s.line, out, s.policy)
		}
		if s.policy {
			want++
		}
	}
	// attach is throttled for 250 ms after the failure above.
	h.clock.Advance(250)
	steps = []struct {
		line   string
		policy bool
	}{
		{"attach queen", false},
		{spawn, false},
		{"cat /nope", true},                     // invalid path (namespace)
		{"echo /proc/boot x", true},             // read-only file (namespace EPERM)
		{`spawn {"spawn":"x","ticks":1}`, true}, // invalid payload (queen)
		{"kill worker-9", true},                 // not found (queen)
		{"tail /proc/boot", true},               // unsupported tail source
		{"attach worker " + workerTicket(t, "worker-1"), false},
		{"cat /queen/ctl", true},         // role policy (namespace Check)
		{"ls /worker", true},             // role policy (namespace Check)
		{"echo /log/queen.log hi", true}, // worker echo outside /bus, /lora
		{"log", true},                    // queen only
		{"attach queen", false},
	}
	for _, s := range steps {
		out, _ := cs.Dispatch(s.line)
		if got := strings.Contains(out[len(out)-1], "reason=policy"); got != s.policy {
			t.Fatalf("dispatch(%q) = %q; want policy refusal %v", s.line, out, s.policy)
		}
		if s.policy {
			want++
		}
	}
	out, _ := cs.Dispatch("cat /proc/pressure/policy")
	wantLine := fmt.Sprintf("policy=%d", want)
	if len(out) != 3 || out[1] != wantLine {
		t.Errorf("cat /proc/pressure/policy = %q; want %s (one per refusal)", out, wantLine)
	}
	for _, c := range []string{"busy", "quota", "cut"} {
		out, _ := cs.Dispatch("cat /proc/pressure/" + c)
		if len(out) != 3 || out[1] != c+"=0" {
			t.Errorf("cat /proc/pressure/%s = %q; want %s=0", c, out, c)
		}
	}
}

// TestRefusalsAreAudited checks that console refusals leave a line in
// /log/queen.log naming what was refused.
func TestRefusalsAreAudited(t *testing.T) {
	h := newTestHive(t)
	cs := h.session()
	cs.Dispatch("attach queen")
	cs.Dispatch(`spawn {"spawn":"heartbeat","ticks":3}`)
	cs.Dispatch("attach worker " + workerTicket(t, "worker-1"))
	for _, tt := range []struct{ line, audit string }{
		{"test", "console: test refused host-only"},
		{"echo /log/queen.log hi", "console: echo denied role=worker-heartbeat path=/log/queen.log"},
		{"cat /queen/ctl", "access denied role=worker-heartbeat subject=worker-1 path=/queen/ctl op=read"},
		{"log", "unauthenticated command verb=log"},
	} {
		t.Run(tt.line, func(t *testing.T) {
			cs.Dispatch(tt.line)
			log := h.q.Snapshot().Log
			if got := log[len(log)-1]; got != tt.audit {
				t.Errorf("last log line after %q = %q; want %q", tt.line, got, tt.audit)
			}
		})
	}
}
