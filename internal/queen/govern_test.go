package queen

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cohesix/cohesix/internal/errs"
)

func newGovState(t *testing.T, tweak func(*Config)) *State {
	t.Helper()
	cfg := Default()
	if tweak != nil {
		tweak(&cfg)
	}
	s := NewState(cfg, 1000)
	s.Apply(BootComplete{}, 1000)
	return s
}

// TestLifecycleTable applies every command in every state (roadmap 21d
// acceptance 1): the result is the table's target or a deterministic
// refusal with its audit line.
func TestLifecycleTable(t *testing.T) {
	states := []string{"BOOTING", "DEGRADED", "ONLINE", "DRAINING", "QUIESCED", "OFFLINE"}
	for _, from := range states {
		for _, cmd := range []string{"cordon", "drain", "resume", "quiesce", "reset"} {
			for _, leases := range []int{0, 1} {
				t.Run(fmt.Sprintf("%s/%s/leases=%d", from, cmd, leases), func(t *testing.T) {
					s := newGovState(t, nil)
					if leases > 0 {
						if r := s.Apply(CtlWrite{Who: queenWho, Line: []byte(`{"spawn":"heartbeat","ticks":100}`)}, 1000); r.Err != nil {
							t.Fatal(r.Err)
						}
					}
					s.lifecycle.State = from
					r := s.Apply(LifecycleCtl{Who: queenWho, Line: []byte(cmd)}, 2000)
					rule := LifecycleRules[cmd]
					last := s.log[len(s.log)-1]
					switch {
					case !LifecycleAllowed(cmd, from):
						if !errors.Is(r.Err, errs.ErrInvalid) || errs.Message(r.Err) != "invalid lifecycle transition" {
							t.Fatalf("err = %v; want invalid lifecycle transition", r.Err)
						}
						if want := fmt.Sprintf("lifecycle denied action=%s state=%s reason=invalid-transition", cmd, from); last != want {
							t.Fatalf("audit %q; want %q", last, want)
						}
					case rule.Leases && leases > 0:
						var le *LeasesError
						if !errors.As(r.Err, &le) || !errors.Is(r.Err, errs.ErrBusy) {
							t.Fatalf("err = %v; want LeasesError (Busy)", r.Err)
						}
						if want := fmt.Sprintf("lifecycle denied action=%s state=%s reason=outstanding-leases leases=1", cmd, from); last != want {
							t.Fatalf("audit %q; want %q", last, want)
						}
					default:
						if r.Err != nil || s.lifecycle.State != rule.Target || s.lifecycle.Reason != cmd || s.lifecycle.SinceMs != 2000 {
							t.Fatalf("Apply = %v, lifecycle %+v; want %s reason=%s", r.Err, s.lifecycle, rule.Target, cmd)
						}
						if want := fmt.Sprintf("lifecycle transition old=%s new=%s reason=%s", from, rule.Target, cmd); last != want {
							t.Fatalf("audit %q; want %q", last, want)
						}
					}
				})
			}
		}
	}
}

func TestLifecycleInvalidCommand(t *testing.T) {
	for _, line := range []string{"", "cordon drain", "reboot", "cordon\x00", strings.Repeat("x", 300)} {
		s := newGovState(t, nil)
		r := s.Apply(LifecycleCtl{Who: queenWho, Line: []byte(line)}, 2000)
		if errs.Message(r.Err) != "invalid lifecycle command" {
			t.Errorf("ctl %q = %v; want invalid lifecycle command", line, r.Err)
		}
		if last := s.log[len(s.log)-1]; !strings.HasSuffix(last, "state=ONLINE reason=invalid-command") || len(last) > 120 {
			t.Errorf("ctl %q audit %q", line, last)
		}
	}
}

// TestCutReasonPriority injects combinations of conditions (roadmap 21e
// acceptance 1): reachable=yes always has cut_reason=none.
func TestCutReasonPriority(t *testing.T) {
	for _, c := range []struct {
		name                       string
		offline, lost, revoke, bad bool
		want                       string
	}{
		{"boot", false, false, false, false, "none"},
		{"offline", true, false, false, false, CutOffline},
		{"offline beats revoked", true, true, true, true, CutOffline},
		{"revoked beats policy", false, true, true, true, CutRevoked},
		{"policy beats network", false, true, false, true, CutPolicy},
		{"network", false, true, false, false, CutNetwork},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newGovState(t, nil)
			s.Apply(SessionOpen{ID: 1, Role: "queen", Transport: "tcp"}, 1100)
			if c.lost {
				reason := "eof"
				if c.revoke {
					reason = "revoked"
				}
				s.Apply(SessionClose{ID: 1, Reason: reason}, 1200)
			}
			if c.bad {
				s.Apply(Attach{Role: "queen", Verdict: &Refusal{Reason: "policy", Detail: "denied"}}, 1300)
			}
			if c.offline {
				s.lifecycle.State = "OFFLINE"
			}
			r := s.Root()
			if r.CutReason != c.want || r.Reachable != (c.want == "none") {
				t.Fatalf("Root() = %+v; want cut_reason=%s", r, c.want)
			}
			if c.lost && !c.offline {
				w := Who{Role: "worker-heartbeat", Subject: "worker-1"}
				s.Apply(CtlWrite{Who: queenWho, Line: []byte(`{"spawn":"heartbeat","ticks":1}`)}, 1400)
				if res := s.Apply(TelemetryAppend{Who: w, Worker: "worker-1", Data: []byte("x")}, 1500); !errors.Is(res.Err, errs.ErrCut) {
					t.Fatalf("worker append while cut = %v; want ErrCut", res.Err)
				}
			}
		})
	}
}

// TestCleanQuitIsNotACut: a queen that detaches with quit leaves the root
// reachable (DECISIONS P10).
func TestCleanQuitIsNotACut(t *testing.T) {
	s := newGovState(t, nil)
	s.Apply(SessionOpen{ID: 1, Role: "queen", Transport: "tcp"}, 1100)
	s.Apply(SessionClose{ID: 1, Reason: "quit"}, 1200)
	if r := s.Root(); !r.Reachable || r.LastSeenMs != 1100 {
		t.Fatalf("Root() = %+v; want reachable, last seen 1100", r)
	}
}

func TestSessionStates(t *testing.T) {
	s := newGovState(t, func(c *Config) { c.Gov.MaxSessions = 3 })
	s.Apply(SessionOpen{ID: 1, Role: "worker-heartbeat", Subject: "worker-1", Transport: "9p"}, 1100)
	s.Apply(LifecycleCtl{Who: queenWho, Line: []byte("cordon")}, 1200)
	s.Apply(SessionOpen{ID: 2, Role: "queen", Transport: "tcp"}, 1300)
	sn := s.snapshot(1, 1300)
	if got := sn.Gov.Sessions; got[0].State != SessionDraining || got[0].SinceMs != 1200 || got[0].Owner != "worker-heartbeat:worker-1" || got[1].State != SessionActive {
		t.Fatalf("sessions %+v", got)
	}
	s.Apply(LifecycleCtl{Who: queenWho, Line: []byte("resume")}, 1400)
	s.Apply(SessionClose{ID: 1, Reason: "eof"}, 1500)
	s.Apply(SessionOpen{ID: 3, Role: "queen", Transport: "9p"}, 1600)
	s.Apply(SessionOpen{ID: 4, Role: "queen", Transport: "9p"}, 1700)
	sn = s.snapshot(2, 1700)
	if len(sn.Gov.Sessions) != 3 || sn.Gov.Sessions[0].ID != 2 {
		t.Fatalf("sessions %+v; want the closed one evicted first", sn.Gov.Sessions)
	}
}

func TestJournalTruncation(t *testing.T) {
	s := newGovState(t, func(c *Config) { c.Gov.AuditEnable, c.Gov.JournalMaxBytes = true, 400 })
	for range 5 {
		s.Apply(CtlWrite{Who: queenWho, Line: []byte(`{"kill":"worker-9"}`)}, 2000)
	}
	j := s.gov.audit.journal
	if len(j.Data) > 400 || j.Base == 0 || !bytes.HasPrefix(j.Data, []byte(`{"seq":`)) {
		t.Fatalf("journal base=%d %q", j.Base, j.Data)
	}
	if !strings.HasPrefix(s.log[len(s.log)-1], "audit journal truncation dropped_bytes=") {
		t.Fatalf("last audit %q", s.log[len(s.log)-1])
	}
	if _, _, _, err := Replay(j, 0, 64); err == nil {
		t.Fatal("replay below the base succeeded")
	}
	n, _, match, err := Replay(j, j.Base, 64)
	if err != nil || n == 0 || !match {
		t.Fatalf("Replay(base) = %d, %v, %v", n, match, err)
	}
	if _, _, _, err := Replay(j, j.Base, 1); err == nil {
		t.Fatal("replay over replay_max_entries succeeded")
	}
}

func TestActionQueueBounds(t *testing.T) {
	s := newGovState(t, func(c *Config) { c.Gov.PolicyEnable, c.Gov.QueueMaxEntries = true, 2 })
	add := func(id string) error {
		return s.Apply(ActionAppend{Who: queenWho, Line: []byte(`{"id":"` + id + `","target":"/queen/ctl","decision":"approve"}`)}, 2000).Err
	}
	if add("a") != nil || add("b") != nil {
		t.Fatal("first two actions refused")
	}
	if err := add("c"); !errors.Is(err, errs.ErrQuota) {
		t.Fatalf("third queued action = %v; want quota", err)
	}
	s.cfg.Gov.PolicyRules = []PolicyRule{{ID: "q", Target: "/queen/*"}}
	if err := s.policyGate(queenWho, "/queen/ctl"); err != nil {
		t.Fatal(err)
	}
	if err := add("c"); err != nil {
		t.Fatalf("after consuming one, add = %v; want room", err)
	}
	if err := add("c"); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("duplicate queued id = %v; want invalid", err)
	}
}
