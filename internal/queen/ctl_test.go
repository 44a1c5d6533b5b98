package queen

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/cohesix/cohesix/internal/errs"
	"github.com/google/go-cmp/cmp"
)

func str(s string) *string { return &s }
func u8(v uint8) *uint8    { return &v }

func TestParseCtlAccepts(t *testing.T) {
	// Every shape of namespace.md §3 plus the default-budget line.
	tests := []struct {
		name string
		line string
		want CtlCommand
	}{
		{"spawn heartbeat", `{"spawn":"heartbeat","ticks":5}`, CtlCommand{Spawn: str("heartbeat"), Ticks: u64(5)}},
		{"spawn heartbeat with budget", `{"spawn":"heartbeat","ticks":5,"budget":{"ttl_s":60,"ops":3}}`,
			CtlCommand{Spawn: str("heartbeat"), Ticks: u64(5), Budget: &Budget{TTLs: u64(60), Ops: u64(3)}}},
		{"spawn heartbeat with partial budget", `{"spawn":"heartbeat","ticks":5,"budget":{"ops":3}}`,
			CtlCommand{Spawn: str("heartbeat"), Ticks: u64(5), Budget: &Budget{Ops: u64(3)}}},
		{"spawn gpu", `{"spawn":"gpu","lease":{"gpu_id":"GPU-0","mem_mb":4096,"streams":2,"ttl_s":120}}`,
			CtlCommand{Spawn: str("gpu"), Lease: &gpuLease{GPUID: "GPU-0", MemMB: 4096, Streams: 2, TTLs: 120}}},
		{"spawn gpu with priority and budget", `{"spawn":"gpu","lease":{"gpu_id":"GPU-1","mem_mb":1,"streams":1,"ttl_s":1,"priority":7},"budget":{"ttl_s":5}}`,
			CtlCommand{Spawn: str("gpu"), Lease: &gpuLease{GPUID: "GPU-1", MemMB: 1, Streams: 1, TTLs: 1, Priority: u8(7)}, Budget: &Budget{TTLs: u64(5)}}},
		{"kill", `{"kill":"worker-1"}`, CtlCommand{Kill: str("worker-1")}},
		{"bind", `{"bind":{"from":"/log","to":"/mylog"}}`, CtlCommand{Bind: &bindReq{From: "/log", To: "/mylog"}}},
		{"mount", `{"mount":{"service":"logs","at":"/x"}}`, CtlCommand{Mount: &mountReq{Service: "logs", At: "/x"}}},
		{"default budget", `{"budget":{"ticks":9,"ops":3,"ttl_s":60}}`, CtlCommand{Budget: &Budget{Ticks: u64(9), Ops: u64(3), TTLs: u64(60)}}},
		{"surrounding whitespace and newline", " \t{\"kill\":\"worker-2\"}\r\n", CtlCommand{Kill: str("worker-2")}},
		{"inner whitespace", `{ "kill" : "worker-3" }`, CtlCommand{Kill: str("worker-3")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCtl([]byte(tt.line))
			if err != nil {
				t.Fatalf("ParseCtl(%s) = %v; want nil", tt.line, err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(CtlCommand{})); diff != "" {
				t.Errorf("ParseCtl(%s) mismatch (-want +got):\n%s", tt.line, diff)
			}
		})
	}
}

func TestParseCtlRejects(t *testing.T) {
	tests := []struct {
		name string
		line string
	}{
		{"empty", ``},
		{"blank", "  \n"},
		{"empty object", `{}`},
		{"null", `null`},
		{"array", `[{"kill":"worker-1"}]`},
		{"string", `"kill"`},
		{"malformed json", `{"kill":"worker-1"`},
		{"malformed value", `{"kill":worker-1}`},
		{"unknown key", `{"kill":"worker-1","force":true}`},
		{"unknown key alone", `{"restart":"worker-1"}`},
		{"unknown key in budget", `{"spawn":"heartbeat","ticks":1,"budget":{"cpu":1}}`},
		{"unknown key in bind", `{"bind":{"from":"/a","to":"/b","mode":"ro"}}`},
		{"unknown key in lease", `{"spawn":"gpu","lease":{"gpu_id":"GPU-0","mem_mb":1,"streams":1,"ttl_s":1,"vram":2}}`},
		{"trailing data", `{"kill":"worker-1"} x`},
		{"two objects", `{"kill":"worker-1"}{"kill":"worker-2"}`},
		{"two commands", `{"bind":{"from":"/a","to":"/b"},"mount":{"service":"logs","at":"/x"}}`},
		{"spawn with kill", `{"spawn":"heartbeat","ticks":1,"kill":"worker-1"}`},
		{"kill with ticks", `{"kill":"worker-1","ticks":1}`},
		{"kill with budget", `{"kill":"worker-1","budget":{"ops":1}}`},
		{"bind with lease", `{"bind":{"from":"/a","to":"/b"},"lease":{"gpu_id":"GPU-0"}}`},
		{"ticks alone", `{"ticks":5}`},
		{"budget with ticks", `{"budget":{"ops":1},"ticks":5}`},
		{"lease alone", `{"lease":{"gpu_id":"GPU-0","mem_mb":1,"streams":1,"ttl_s":1}}`},
		{"negative ticks", `{"spawn":"heartbeat","ticks":-1}`},
		{"fractional ticks", `{"spawn":"heartbeat","ticks":1.5}`},
		{"ticks as string", `{"spawn":"heartbeat","ticks":"5"}`},
		{"ticks overflow", `{"spawn":"heartbeat","ticks":18446744073709551616}`},
		{"streams overflow", `{"spawn":"gpu","lease":{"gpu_id":"GPU-0","mem_mb":1,"streams":256,"ttl_s":1}}`},
		{"kill not a string", `{"kill":1}`},
		{"spawn not a string", `{"spawn":{"kind":"heartbeat"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCtl([]byte(tt.line))
			if !errors.Is(err, errs.ErrInvalid) || errs.Message(err) != "invalid payload" {
				t.Errorf("ParseCtl(%q) = %v; want ErrInvalid %q", tt.line, err, "invalid payload")
			}
		})
	}
}

// TestParseCtlRejectedByApply covers lines the parser accepts as a shape
// but the spawn rules refuse (missing or zero ticks, ticks in the budget).
func TestParseCtlRejectedByApply(t *testing.T) {
	for _, line := range []string{
		`{"spawn":"heartbeat"}`,
		`{"spawn":"heartbeat","ticks":0}`,
		`{"spawn":"heartbeat","ticks":1,"budget":{"ticks":2}}`,
		`{"spawn":"heartbeat","budget":{"ops":2}}`,
	} {
		t.Run(line, func(t *testing.T) {
			s := onlineState(t, testConfig())
			if r := ctl(s, line, bootMs); !errors.Is(r.Err, errs.ErrInvalid) {
				t.Errorf("Apply(%s) = %v; want ErrInvalid", line, r.Err)
			}
		})
	}
}

// reparse checks that an accepted request survives a marshal round trip.
func reparse(t *testing.T, line []byte, r CtlCommand) {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("json.Marshal(ParseCtl(%q)) = %v", line, err)
	}
	again, err := ParseCtl(b)
	if err != nil {
		t.Fatalf("ParseCtl(%s) = %v; accepted as %q", b, err, line)
	}
	if diff := cmp.Diff(r, again, cmp.AllowUnexported(CtlCommand{})); diff != "" {
		t.Fatalf("ParseCtl(marshal(ParseCtl(%q))) changed (-first +second):\n%s", line, diff)
	}
}

func FuzzParseCtl(f *testing.F) {
	for _, s := range []string{
		`{"spawn":"heartbeat","ticks":5}`,
		`{"spawn":"heartbeat","ticks":5,"budget":{"ttl_s":60,"ops":3}}`,
		`{"spawn":"gpu","lease":{"gpu_id":"GPU-0","mem_mb":4096,"streams":2,"ttl_s":120,"priority":1}}`,
		`{"kill":"worker-1"}`,
		`{"bind":{"from":"/log","to":"/mylog"}}`,
		`{"mount":{"service":"logs","at":"/x"}}`,
		`{"budget":{"ticks":9}}`,
		`{"kill":"worker-1"} x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := ParseCtl(line)
		if err != nil {
			if !errors.Is(err, errs.ErrInvalid) {
				t.Fatalf("ParseCtl(%q) = %v; want nil or ErrInvalid", line, err)
			}
			return
		}
		n := 0
		for _, set := range []bool{r.Spawn != nil, r.Kill != nil, r.Bind != nil, r.Mount != nil} {
			if set {
				n++
			}
		}
		if n > 1 || (n == 0 && r.Budget == nil) {
			t.Fatalf("ParseCtl(%q) accepted %d commands", line, n)
		}
		reparse(t, line, r)
		// Applying an accepted line must never panic either.
		s := NewState(testConfig(), 0)
		s.Apply(BootComplete{}, 0)
		s.Apply(CtlWrite{Who: queenWho, Line: line}, 0)
	})
}

// TestCtlVetRefusal checks that a writer's refusal of a bind or mount
// target decides nothing: one deny line without transport fields, no
// journal entry, no binding; an accepted one comes back parsed.
func TestCtlVetRefusal(t *testing.T) {
	who := Who{Role: "queen", Peer: Peer{Transport: "tcp", Remote: "127.0.0.1:9"}}
	refuse := func(CtlCommand) error { return errs.New(errs.ErrInvalid, "invalid path") }
	for _, tt := range []struct{ line, want string }{
		{`{"bind":{"from":"/log","to":"/a//b"}}`, "bind outcome=deny reason=invalid-path from=/log to=/a//b"},
		{`{"mount":{"service":"","at":"/x"}}`, "mount outcome=deny reason=invalid-path service= at=/x"},
	} {
		s := newGovState(t, func(c *Config) { c.Gov.AuditEnable = true })
		total, journal := s.logTotal, s.gov.audit.journal.End()
		r := s.Apply(CtlWrite{Who: who, Line: []byte(tt.line), Vet: refuse}, 2000)
		if errs.Message(r.Err) != "invalid path" || r.Bind != nil || r.Ctl != nil {
			t.Errorf("Apply(%s) = %+v; want the vet's refusal only", tt.line, r)
		}
		if got := logSince(s, total); len(got) != 1 || got[0] != tt.want {
			t.Errorf("log after %s = %q; want [%q]", tt.line, got, tt.want)
		}
		if s.gov.audit.journal.End() != journal {
			t.Errorf("journal grew after a vetted refusal of %s", tt.line)
		}
	}
	s := newGovState(t, nil)
	var vetted CtlCommand
	r := s.Apply(CtlWrite{Who: who, Line: []byte(`{"bind":{"from":"/log","to":"/x"}}`), Vet: func(c CtlCommand) error { vetted = c; return nil }}, 2000)
	if r.Err != nil || r.Ctl == nil || r.Ctl.Bind == nil || *r.Ctl.Bind != *vetted.Bind {
		t.Errorf("accepted bind = %+v, vetted %+v; want the parsed command both times", r, vetted)
	}
}
