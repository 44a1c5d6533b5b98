package tests

import (
	"bufio"
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/client"
	"github.com/cohesix/cohesix/internal/hive"
	"github.com/cohesix/cohesix/internal/queen"
)

// governedHive starts an in-process hive with PolicyFS, AuditFS and
// ReplayFS on, as the production profile has them (DECISIONS D10; the dev
// manifest keeps them off), and serves its TCP console on loopback.
func governedHive(t *testing.T, tweak func(*queen.GovConfig)) (*hive.Hive, string) {
	t.Helper()
	cfg := queen.Governed() // the manifest rules: queen-ctl, systemd-restart
	if tweak != nil {
		tweak(&cfg.Gov)
	}
	h, err := hive.New(hive.Options{Queen: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(); h.Close() })
	go h.ServeConsoles(l)
	return h, l.Addr().String()
}

func dialConsole(t *testing.T, addr string) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, addr, generated.ConsoleAuthToken)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// policyScript is the policy gate regression: denied → approved →
// consumed → denied again, an explicit deny, bad actions, then audit and
// replay (spec namespace §7-§8, roadmap M12/M13). Each entry is a console
// line and its expected ACK.
var policyScript = [][]string{
	{"attach queen", "OK ATTACH role=queen"},
	{"ls /", "OK LS path=/ entries=%d"},
	{`spawn {"spawn":"heartbeat","ticks":5}`, "ERR SPAWN reason=policy detail=denied path=/queen/ctl error=EPERM"},
	{`echo /actions/queue {"id":"a1","target":"/queen/ctl","decision":"approve"}`, "OK ECHO path=/actions/queue bytes=%d"},
	{"cat /actions/a1/status", `OK CAT path=/actions/a1/status data={"id":"a1","decision":"approve","state":"queued"}`},
	{`spawn {"spawn":"heartbeat","ticks":5}`, `OK SPAWN payload={"spawn":"heartbeat","ticks":5}`},
	{"cat /actions/a1/status", `OK CAT path=/actions/a1/status data={"id":"a1","decision":"approve","state":"consumed"}`},
	{`spawn {"spawn":"heartbeat","ticks":5}`, "ERR SPAWN reason=policy detail=denied path=/queen/ctl error=EPERM"},
	{`echo /actions/queue {"id":"a2","target":"/queen/ctl","decision":"deny"}`, "OK ECHO path=/actions/queue bytes=%d"},
	{"kill worker-1", "ERR KILL reason=policy detail=denied path=/queen/ctl error=EPERM"},
	{`echo /actions/queue {"id":"a3","target":"/queen/../ctl","decision":"approve"}`, "ERR ECHO reason=policy detail=invalid-payload path=/actions/queue error=invalid payload"},
	{`echo /actions/queue {"id":"a 4","target":"/queen/ctl","decision":"approve"}`, "ERR ECHO reason=policy detail=invalid-payload path=/actions/queue error=invalid payload"},
	{`echo /actions/queue {"id":"a5","target":"/queen/ctl","decision":"maybe"}`, "ERR ECHO reason=policy detail=invalid-payload path=/actions/queue error=invalid payload"},
	{`echo /actions/queue {"id":"a6","target":"/queen/ctl","decision":"approve","x":1}`, "ERR ECHO reason=policy detail=invalid-payload path=/actions/queue error=invalid payload"},
	{`echo /actions/queue {"id":"a7","target":"/queen/lifecycle/ctl","decision":"approve"}`, "OK ECHO path=/actions/queue bytes=%d"},
	{"echo /queen/lifecycle/ctl cordon", "OK ECHO path=/queen/lifecycle/ctl bytes=%d"},
	{"echo /queen/lifecycle/ctl resume", "OK ECHO path=/queen/lifecycle/ctl bytes=%d"},
	{`echo /audit/decisions {"x":1}`, "ERR ECHO reason=policy detail=denied path=/audit/decisions error=EPERM"},
	{`echo /audit/export {"x":1}`, "ERR ECHO reason=policy detail=denied path=/audit/export error=EPERM"},
	{`echo /replay/ctl {"from":0}`, "OK ECHO path=/replay/ctl bytes=%d"},
	{"cat /replay/status", "OK CAT path=/replay/status data=", "ok"},
	{`echo /replay/ctl {"from":99999}`, "ERR ECHO reason=policy detail=invalid-payload path=/replay/ctl error=invalid payload"},
	{"cat /replay/status", "OK CAT path=/replay/status data=", `{"state":"err","from":99999,"reason":"out-of-window","journal_base":0,"journal_next":%d}`},
	{`echo /replay/ctl {"from":"x"}`, "ERR ECHO reason=policy detail=invalid-payload path=/replay/ctl error=invalid payload"},
}

// wantReplay is the replay status for the journal the script writes: the
// queen-ctl and lifecycle writes and their ACKs, in order.
func wantReplay(journalNext int) string {
	// spawn without approval, spawn approved by a1, spawn after a1 is
	// consumed, kill denied by a2, cordon and resume (no rule gates
	// /queen/lifecycle/ctl here, so a7 stays queued).
	h := fnv.New64a()
	for _, a := range []string{"ERR Permission EPERM", "OK", "ERR Permission EPERM", "ERR Permission EPERM", "OK", "OK"} {
		io.WriteString(h, a+"\n")
	}
	return fmt.Sprintf(`{"state":"ok","from":0,"to":%d,"entries":6,"match":true,"sequence_fnv1a":"%016x"}`, journalNext, h.Sum64())
}

func TestPolicyGateAuditReplay(t *testing.T) {
	h, addr := governedHive(t, nil)
	c := dialConsole(t, addr)
	var transcript []string
	journalNext := 0
	for i, step := range policyScript {
		want := step[1]
		switch {
		case strings.HasPrefix(want, "OK LS"):
			want = fmt.Sprintf(want, 14) // gpu kmesg log proc queen trace shard worker policy actions audit replay updates models
		case strings.HasPrefix(want, "OK ECHO"):
			_, payload, _ := strings.Cut(strings.TrimPrefix(step[0], "echo "), " ")
			want = fmt.Sprintf(want, len(payload))
		}
		r := do(t, c, step[0])
		transcript = append(transcript, r.Raw...)
		if got := r.AckLine(); got != want {
			t.Fatalf("step %d %s = %q; want %q", i, step[0], got, want)
		}
		if len(step) == 3 {
			content := step[2]
			journalNext = int(h.Queen().Snapshot().Gov.Journal.End())
			if content == "ok" {
				content = wantReplay(journalNext)
			} else {
				content = fmt.Sprintf(content, journalNext)
			}
			if !slices.Equal(r.Lines, []string{content}) {
				t.Fatalf("step %d %s content = %q; want %q", i, step[0], r.Lines, content)
			}
		}
	}
	names := rootNames(t, c)
	if !slices.Equal(names[len(names)-6:], []string{"policy", "actions", "audit", "replay", "updates", "models"}) {
		t.Errorf("ls / = %q; want it to end with policy actions audit replay updates models", names)
	}
	var log []string
	for _, l := range logLines(t, c) {
		log = append(log, withoutPeer(l))
	}
	for _, want := range []string{
		"policy-gate outcome=deny role=queen ticket=none reason=missing-approval path=/queen/ctl",
		"policy-action role=queen ticket=none id=a1 decision=approve target=/queen/ctl",
		"policy-gate outcome=allow role=queen ticket=none id=a1 target=/queen/ctl path=/queen/ctl",
		"policy-gate outcome=deny role=queen ticket=none id=a2 target=/queen/ctl path=/queen/ctl",
	} {
		if !slices.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	// One worker: the approval applied once.
	if n := len(h.Queen().Snapshot().Workers()); n != 1 {
		t.Errorf("workers = %d; want 1 (a consumed approval is not applied twice)", n)
	}
	journal := cat(t, c, "/audit/journal")
	if len(journal) != 6 || journal[0] != `{"seq":2,"kind":"queen-ctl","path":"/queen/ctl","payload":"{\"spawn\":\"heartbeat\",\"ticks\":5}","outcome":"err","error":{"code":"Permission","message":"EPERM"},"role":"queen","ticket":"none"}` {
		t.Errorf("journal = %q", journal)
	}
	decisions := cat(t, c, "/audit/decisions")
	if len(decisions) == 0 || decisions[0] != `{"seq":1,"kind":"policy-gate","outcome":"deny","path":"/queen/ctl","role":"queen","ticket":"none"}` {
		t.Errorf("decisions = %q", decisions)
	}
	export := catLine(t, c, "/audit/export")
	if !strings.HasPrefix(export, `{"journal_base":0,"journal_next":`) || !strings.HasSuffix(export, `"replay_enabled":true,"replay_max_entries":64}`) {
		t.Errorf("export = %q", export)
	}

	// The same lines over the serial console give the same transcript.
	h2, _ := governedHive(t, nil)
	serial := serialTranscript(t, h2, policyScript)
	tcp := ackOnly(transcript)
	if !slices.Equal(serial, tcp) {
		t.Errorf("serial ACKs differ from TCP:\nserial %q\ntcp    %q", serial, tcp)
	}
}

func rootNames(t *testing.T, c *client.Conn) []string {
	t.Helper()
	return do(t, c, "ls /").Lines
}

func ackOnly(lines []string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, "OK ") || strings.HasPrefix(l, "ERR ") {
			out = append(out, l)
		}
	}
	return out
}

// serialTranscript feeds the script's lines to the hive's serial console
// and returns the ACK lines it printed.
func serialTranscript(t *testing.T, h *hive.Hive, script [][]string) []string {
	t.Helper()
	var in strings.Builder
	for _, s := range script {
		in.WriteString(s[0] + "\n")
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- h.ServeSerial(strings.NewReader(in.String()), pw, false); pw.Close() }()
	var out []string
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return ackOnly(out)
}
