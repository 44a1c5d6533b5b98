package queen

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzParseAction: /actions/queue lines never panic; an accepted action
// re-renders to a line that parses to the same action.
func FuzzParseAction(f *testing.F) {
	f.Fuzz(func(t *testing.T, line []byte) {
		a, err := ParseAction(line, 8)
		if err != nil {
			return
		}
		b, err := ParseAction([]byte(ActionLine(a)), 8)
		if err != nil || b != a {
			t.Fatalf("round trip %q: %+v, %v; want %+v", line, b, err, a)
		}
		if len(ActionStatus(a, 512)) > 512 {
			t.Fatal("status over its bound")
		}
	})
}

// FuzzParsePolicyCtl: /policy/ctl lines never panic; accepted ones
// re-encode and parse again.
func FuzzParsePolicyCtl(f *testing.F) {
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := ParsePolicyCtl(line)
		if err != nil {
			return
		}
		b, _ := json.Marshal(r)
		if _, err := ParsePolicyCtl(b); err != nil {
			t.Fatalf("re-encoded %s refused: %v", b, err)
		}
	})
}

// FuzzParseLifecycle: /queen/lifecycle/ctl lines never panic and an
// accepted line names one of the five commands; applying it keeps the
// state machine in a known state.
func FuzzParseLifecycle(f *testing.F) {
	f.Fuzz(func(t *testing.T, line []byte) {
		cmd, err := ParseLifecycle(line)
		if err == nil {
			if _, ok := LifecycleRules[cmd]; !ok {
				t.Fatalf("accepted unknown command %q", cmd)
			}
		}
		s := NewState(Default(), 0)
		s.Apply(BootComplete{}, 0)
		s.Apply(LifecycleCtl{Who: Who{Role: "queen"}, Line: line}, 1)
		switch s.lifecycle.State {
		case "BOOTING", "DEGRADED", "ONLINE", "DRAINING", "QUIESCED", "OFFLINE":
		default:
			t.Fatalf("state %q", s.lifecycle.State)
		}
	})
}

// FuzzParseReplay: /replay/ctl lines and arbitrary journals never panic;
// replay stays inside its window and bound.
func FuzzParseReplay(f *testing.F) {
	f.Fuzz(func(t *testing.T, line, journal []byte) {
		from, err := ParseReplay(line)
		if err != nil {
			return
		}
		j := Ring{Base: 10, Data: journal}
		n, seq, _, err := Replay(j, from, 4)
		if err != nil {
			return
		}
		if from < j.Base || from > j.End() || n > 4 || len(seq) != 16 {
			t.Fatalf("Replay(%d) = %d, %q outside its window", from, n, seq)
		}
	})
}

// FuzzJournalAppend: manual /audit/journal appends keep the journal whole
// JSON lines within its bound.
func FuzzJournalAppend(f *testing.F) {
	f.Fuzz(func(t *testing.T, line []byte) {
		cfg := Default()
		cfg.Gov.AuditEnable, cfg.Gov.JournalMaxBytes = true, 256
		s := NewState(cfg, 0)
		for range 3 {
			s.Apply(JournalAppend{Who: Who{Role: "queen"}, Line: line, Off: -1}, 1)
		}
		j := s.gov.audit.journal
		if len(j.Data) > 256 {
			t.Fatalf("journal %d bytes", len(j.Data))
		}
		for _, l := range bytes.Split(bytes.TrimSuffix(j.Data, []byte("\n")), []byte("\n")) {
			if len(l) > 0 && !json.Valid(l) {
				t.Fatalf("journal line %q is not JSON", l)
			}
		}
	})
}
