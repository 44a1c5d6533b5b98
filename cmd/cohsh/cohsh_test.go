package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/internal/cas"
	"github.com/cohesix/cohesix/internal/cohverb"

	"github.com/cohesix/cohesix/internal/hive"
	"github.com/cohesix/cohesix/internal/ticket"
	"github.com/google/go-cmp/cmp"
)

// testEnv runs cohsh with no environment and a hive whose heartbeats never
// tick, so transcripts are deterministic.
func testEnv() env {
	return env{
		getenv: func(string) string { return "" },
		now:    func() time.Time { return time.UnixMilli(1_700_000_000_000) },
		hive:   hive.Options{Ticks: make(chan time.Time)},
	}
}

func runCohsh(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runCohshEnv(t, testEnv(), stdin, args...)
}

func runCohshEnv(t *testing.T, e env, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errw bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code = e.run(ctx, args, strings.NewReader(stdin), &out, &errw)
	return out.String(), errw.String(), code
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLexScript(t *testing.T) {
	many := func(n int) string { return strings.Repeat("ping\n", n) }
	rows := []struct {
		name, src string
		want      []string // statement texts
		wantErr   string
	}{
		{"comments and blanks", "# head\n\nping # trailing\n   \nEXPECT OK\n", []string{"ping", "EXPECT OK"}, ""},
		{"hash truncates commands", "echo a#b > /x\n", []string{"echo a"}, ""},
		{"expect selectors", "ping\nEXPECT OK\nEXPECT ERR\nEXPECT SUBSTR a b\nEXPECT NOT c\n", []string{"ping", "EXPECT OK", "EXPECT ERR", "EXPECT SUBSTR a b", "EXPECT NOT c"}, ""},
		{"unknown selector", "ping\nEXPECT MAYBE\n", nil, "script error at line 2: unknown EXPECT selector 'MAYBE'"},
		{"substr needs text", "ping\nEXPECT SUBSTR\n", nil, "script error at line 2: EXPECT SUBSTR requires text"},
		{"ok takes no text", "ping\nEXPECT OK yes\n", nil, "script error at line 2: EXPECT OK takes no text"},
		{"expect first", "# c\nEXPECT OK\nping\n", nil, "script error at line 2: EXPECT requires a prior command response"},
		{"wait before expect still needs a command", "WAIT 5\nEXPECT OK\n", nil, "script error at line 2: EXPECT requires a prior command response"},
		{"wait max", "WAIT 2000\n", []string{"WAIT 2000"}, ""},
		{"wait over max", "WAIT 2001\n", nil, "script error at line 1: WAIT exceeds max of 2000 ms"},
		{"wait two values", "WAIT 1 2\n", nil, "script error at line 1: WAIT requires a single integer of milliseconds"},
		{"wait not a number", "WAIT soon\n", nil, "script error at line 1: WAIT requires a single integer of milliseconds"},
		{"256 statements", many(256), nil, ""},
		{"257 statements", "# x\n" + many(257), nil, "script error at line 258: script exceeds max of 256 lines"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			stmts, err := lexScript(r.src)
			if r.wantErr != "" {
				if err == nil || err.Error() != r.wantErr {
					t.Fatalf("lexScript() = %v; want %q", err, r.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("lexScript() = %v", err)
			}
			if r.want == nil {
				return
			}
			var got []string
			for _, s := range stmts {
				got = append(got, s.text)
			}
			if diff := cmp.Diff(r.want, got); diff != "" {
				t.Errorf("lexScript() statements (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSpawnJSON(t *testing.T) {
	rows := []struct {
		name    string
		args    string
		want    string
		wantErr string
	}{
		{"heartbeat", "heartbeat ticks=5", `{"spawn":"heartbeat","ticks":5}`, ""},
		{"heartbeat budget", "worker ticks=5 ttl_s=60 ops=9", `{"spawn":"heartbeat","ticks":5,"budget":{"ttl_s":60,"ops":9}}`, ""},
		{"heartbeat ops only", "worker-heartbeat TICKS=5 OPS=9", `{"spawn":"heartbeat","ticks":5,"budget":{"ops":9}}`, ""},
		{"gpu", "gpu gpu_id=GPU-0 mem_mb=1024 streams=2 ttl_s=60", `{"spawn":"gpu","lease":{"gpu_id":"GPU-0","mem_mb":1024,"streams":2,"ttl_s":60}}`, ""},
		{"gpu full", "worker-gpu gpu_id=g mem_mb=1 streams=1 ttl_s=1 priority=3 budget_ttl_s=5 budget_ops=6",
			`{"spawn":"gpu","lease":{"gpu_id":"g","mem_mb":1,"streams":1,"ttl_s":1,"priority":3},"budget":{"ttl_s":5,"ops":6}}`, ""},
		{"no role", "", "", "spawn requires a role: heartbeat or gpu"},
		{"unknown role", "bus", "", "unknown spawn role 'bus'"},
		{"missing ticks", "heartbeat", "", "spawn heartbeat requires option 'ticks'"},
		{"unknown keys", "heartbeat ticks=1 colour=red size=2", "", "unknown spawn options: colour, size"},
		{"duplicate key", "heartbeat ticks=1 TICKS=2", "", "duplicate spawn option 'ticks'"},
		{"streams is u8", "gpu gpu_id=g mem_mb=1 streams=256 ttl_s=1", "", "invalid value for spawn option 'streams': 256"},
		{"gpu id quote", `gpu gpu_id=a"b mem_mb=1 streams=1 ttl_s=1`, "", "gpu_id must be non-empty and contain no quotes, backslashes or control characters"},
		{"not key value", "heartbeat ticks", "", "spawn option 'ticks' must be key=value"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			got, err := cohverb.SpawnJSON(strings.Fields(r.args))
			if r.wantErr != "" {
				if err == nil || err.Error() != r.wantErr {
					t.Fatalf("cohverb.SpawnJSON(%q) = %q, %v; want error %q", r.args, got, err, r.wantErr)
				}
				return
			}
			if err != nil || got != r.want {
				t.Errorf("cohverb.SpawnJSON(%q) = %q, %v; want %q", r.args, got, err, r.want)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("cohverb.SpawnJSON(%q) is not valid JSON", r.args)
			}
		})
	}
}

func TestEchoLineAndPaths(t *testing.T) {
	rows := []struct {
		name, rest, want, wantErr string
	}{
		{"plain", "hello world > /log/queen.log", "echo /log/queen.log hello world", ""},
		{"double quotes", `"hi there" > /bus/a`, "echo /bus/a hi there", ""},
		{"single quotes", `'x' >/bus/a`, "echo /bus/a x", ""},
		{"split on first >", "a > /b > c", "", "path '/b > c' must not contain whitespace"},
		{"no redirect", "hello", "", "echo requires '<text> > <path>'"},
		{"no path", "hello >", "", "echo requires a path after '>'"},
		{"relative", "x > log", "", "path 'log' must start with '/'"},
		{"dotdot", "x > /proc/../queen/ctl", "", "path component '..' is not allowed"},
		{"dot", "x > /proc/./boot", "", "path component '.' is not allowed"},
		{"nine components", "x > /a/b/c/d/e/f/g/h/i", "", "path '/a/b/c/d/e/f/g/h/i' has more than 8 components"},
		{"empty components skipped", "x > //a//b/c/d/e/f/g/h", "echo //a//b/c/d/e/f/g/h x", ""},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			got, err := cohverb.EchoLine(r.rest)
			if r.wantErr != "" {
				if err == nil || err.Error() != r.wantErr {
					t.Fatalf("cohverb.EchoLine(%q) = %q, %v; want %q", r.rest, got, err, r.wantErr)
				}
				return
			}
			if err != nil || got != r.want {
				t.Errorf("cohverb.EchoLine(%q) = %q, %v; want %q", r.rest, got, err, r.want)
			}
		})
	}
	if n := len(cohverb.OverflowSpawn()); n != 8192+64 {
		t.Errorf("len(cohverb.OverflowSpawn()) = %d; want msize+64", n)
	}
}

func TestLocalErrors(t *testing.T) {
	// Local checks of the shell grammar (console.md §7); nothing is sent.
	rows := []struct {
		name, in, want string
	}{
		{"attach no role", "attach", "error: attach requires a role"},
		{"attach too many", "attach queen t x", "error: attach takes at most two arguments: role and optional ticket"},
		{"attach unknown role", "attach king", "error: unknown role 'king'"},
		{"worker needs ticket", "attach worker", "error: role worker-heartbeat requires a non-empty ticket payload"},
		{"ticket too long", "attach queen " + strings.Repeat("t", 225), "error: ticket payload exceeds 224 bytes"},
		{"ticket undecodable", "attach worker nonsense", "error: ticket is not a valid claims token: "},
		{"already attached", "attach queen\nattach queen", "error: already attached; run 'quit' to close the current session"},
		{"ping detached", "ping", "error: ping requires an attached session; run 'attach <role>' first"},
		{"spawn detached", "spawn heartbeat ticks=1", "error: spawn requires an attached queen session"},
		{"cat relative", "cat proc", "error: path 'proc' must start with '/'"},
		{"tail arity", "tail", "error: tail takes exactly one path"},
		{"kill quote", `kill a"b`, "error: worker id must be non-empty and contain no quotes, backslashes or control characters"},
		{"bind arity", "bind /a", "error: bind takes two paths: <src> <dst>"},
		{"lifecycle bad", "lifecycle explode", "error: lifecycle takes one of: cordon, drain, resume, quiesce, reset"},
		{"unsupported", "pool bench", "error: pool is not supported by this cohsh"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			out, errOut, _ := runCohsh(t, r.in+"\nquit\n", "--transport", "mock")
			if !strings.Contains(errOut, r.want) {
				t.Errorf("cohsh stderr for %q lacks %q:\n%s", r.in, r.want, errOut)
			}
			if strings.Contains(out, "error:") {
				t.Errorf("local error on stdout:\n%s", out)
			}
		})
	}
}

func TestExitCodes(t *testing.T) {
	closed := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Skip(err)
		}
		defer l.Close()
		return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	}()
	script := writeFile(t, "s.coh", "PING\n")
	rows := []struct {
		name string
		args []string
		want int
	}{
		{"one-shot ok", []string{"--transport", "mock", "--role", "queen", "cat", "/proc/boot"}, 0},
		{"one-shot refused", []string{"--transport", "mock", "ls", "/"}, 1},
		{"one-shot local usage", []string{"--transport", "mock", "cat"}, 2},
		{"unknown flag", []string{"--frobnicate"}, 2},
		{"flag twice", []string{"--role", "queen", "--role", "queen"}, 2},
		{"script and check", []string{"--script", "a", "--check", "b"}, 2},
		{"transport qemu", []string{"--transport", "qemu"}, 2},
		{"unreachable", []string{"--tcp-port", closed, "--role", "queen"}, 3},
		{"unreachable script", []string{"--tcp-port", closed, "--script", script}, 3},
		{"bad auth token", []string{"--transport", "mock", "--auth-token", "nope", "PING"}, 3},
		{"role refused", []string{"--transport", "mock", "--role", "queen", "--ticket", "cohesix-ticket-00.00"}, 1},
		{"help flag", []string{"--help"}, 0},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			out, errOut, code := runCohsh(t, "", r.args...)
			if code != r.want {
				t.Errorf("cohsh %q = exit %d; want %d\nstdout:\n%s\nstderr:\n%s", r.args, code, r.want, out, errOut)
			}
		})
	}
}

func TestOneShotJSON(t *testing.T) {
	out, _, code := runCohsh(t, "", "--transport", "mock", "--role", "queen", "--json", "ls", "/proc")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var got struct {
		OK    bool     `json:"ok"`
		Ack   string   `json:"ack"`
		Lines []string `json:"lines"`
	}
	if code != 0 || json.Unmarshal([]byte(lines[len(lines)-1]), &got) != nil {
		t.Fatalf("cohsh --json ls /proc = %d:\n%s", code, out)
	}
	if !got.OK || !strings.HasPrefix(got.Ack, "OK LS path=/proc") || len(got.Lines) == 0 {
		t.Errorf("cohsh --json ls /proc = %+v", got)
	}
}

func TestCheck(t *testing.T) {
	good := writeFile(t, "good.coh", "ping\nEXPECT OK\nWAIT 10\nquit\n")
	bad := writeFile(t, "bad.coh", "EXPECT OK\n")
	out, _, code := runCohsh(t, "", "--check", good)
	if code != 0 || !strings.Contains(out, "ok (4 statements)") {
		t.Errorf("cohsh --check good = %d, %q", code, out)
	}
	_, errOut, code := runCohsh(t, "", "--check", bad)
	if code != 1 || !strings.Contains(errOut, "script error at line 1: EXPECT requires a prior command response") {
		t.Errorf("cohsh --check bad = %d, %q", code, errOut)
	}
}

func TestScriptFailureReport(t *testing.T) {
	s := writeFile(t, "f.coh", "attach queen\nEXPECT OK\ncat /proc/none\nEXPECT SUBSTR detail=denied\nping\n")
	out, errOut, code := runCohsh(t, "", "--transport", "mock", "--script", s)
	if code != 1 {
		t.Fatalf("exit = %d; want 1", code)
	}
	want := "script failure at line 4: EXPECT SUBSTR detail=denied\n" +
		"reason: expected SUBSTR detail=denied but last response was 'ERR CAT reason=policy detail=invalid-path path=/proc/none error=invalid path'\n" +
		"last command: cat /proc/none\n" +
		"last response: ERR CAT reason=policy detail=invalid-path path=/proc/none error=invalid path\n" +
		"last response source: server\n" +
		"history:\n" +
		"  line 1: attach queen -> OK ATTACH role=queen\n" +
		"  line 3: cat /proc/none -> ERR CAT reason=policy detail=invalid-path path=/proc/none error=invalid path\n"
	if errOut != want {
		t.Errorf("failure report:\n%s\nwant:\n%s", errOut, want)
	}
	if strings.Contains(out, "PONG") {
		t.Errorf("script kept running after a failure:\n%s", out)
	}

	// A failed command is fatal unless an EXPECT follows it.
	s = writeFile(t, "g.coh", "cat /proc/boot\nping\n")
	_, errOut, code = runCohsh(t, "", "--transport", "mock", "--script", s)
	if code != 1 || !strings.HasPrefix(errOut, "script failure at line 1: cat /proc/boot\nreason: command failed\n") {
		t.Errorf("fatal command: exit %d, stderr:\n%s", code, errOut)
	}
	// quit ends the script; later lines are ignored.
	s = writeFile(t, "h.coh", "quit\nEXPECT ERR\nbogus-never-run\n")
	if _, errOut, code = runCohsh(t, "", "--transport", "mock", "--script", s); code != 0 {
		t.Errorf("quit script: exit %d, stderr:\n%s", code, errOut)
	}
}

func TestSelftest(t *testing.T) {
	out, _, code := runCohsh(t, "", "--transport", "mock", "--role", "queen", "test", "--mode", "full")
	if code != 0 || !strings.Contains(out, "selftest PASS mode=full") {
		t.Errorf("test --mode full = %d:\n%s", code, out)
	}
	out, _, code = runCohsh(t, "", "--transport", "mock", "test")
	if code != 1 || !strings.Contains(out, "FAIL - preflight/attach (ERR not attached)") {
		t.Errorf("test detached = %d:\n%s", code, out)
	}
	out, _, code = runCohsh(t, "", "--transport", "mock", "--role", "queen", "--json", "test", "--no-mutate")
	var rep selftestReport
	if err := json.Unmarshal([]byte(strings.Split(strings.TrimSpace(out), "\n")[1]), &rep); err != nil || code != 0 {
		t.Fatalf("test --json = %d, %v:\n%s", code, err, out)
	}
	if !rep.OK || rep.Mode != "quick" || rep.Version != "1" || len(rep.Checks) < 2 || rep.Checks[0].Name != "preflight/ping" {
		t.Errorf("test --json report = %+v", rep)
	}
	_, errOut, code := runCohsh(t, "", "--transport", "mock", "--role", "queen", "test", "--timeout", "121")
	if code != 2 || !strings.Contains(errOut, "test --timeout must be 1..=120 seconds") {
		t.Errorf("test --timeout 121 = %d, %q", code, errOut)
	}
	// Interactive cohsh re-attaches after the bundled script's quit.
	out, _, _ = runCohsh(t, "attach queen\ntest\nping\nquit\n", "--transport", "mock")
	if !strings.Contains(out, "selftest PASS") || !strings.Contains(out, "OK PING reply=pong") {
		t.Errorf("interactive test then ping:\n%s", out)
	}
}

func TestMintTicket(t *testing.T) {
	cfg := writeFile(t, "m.toml", "[[tickets]]\nrole = \"worker-gpu\"\nsecret = \"from-config\"\n")
	rows := []struct {
		name     string
		args     []string
		role     ticket.Role
		secret   string
		wantCode int
	}{
		{"queen", []string{"--mint-ticket", "--role", "queen"}, ticket.RoleQueen, "bootstrap", 0},
		{"worker alias", []string{"--mint-ticket", "--role", "worker", "--ticket-subject", "w1"}, ticket.RoleWorkerHeartbeat, "worker", 0},
		{"explicit secret", []string{"--mint-ticket", "--role", "worker-bus", "--ticket-subject", "b", "--ticket-secret", "s3"}, ticket.RoleWorkerBus, "s3", 0},
		{"config", []string{"--mint-ticket", "--role", "worker-gpu", "--ticket-subject", "g", "--ticket-config", cfg}, ticket.RoleWorkerGPU, "from-config", 0},
		{"worker needs subject", []string{"--mint-ticket", "--role", "worker-gpu"}, 0, "", 2},
		{"needs role", []string{"--mint-ticket"}, 0, "", 2},
		{"no secret in config", []string{"--mint-ticket", "--role", "queen", "--ticket-config", cfg}, 0, "", 1},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			out, errOut, code := runCohsh(t, "", r.args...)
			if code != r.wantCode {
				t.Fatalf("exit = %d; want %d (stderr %q)", code, r.wantCode, errOut)
			}
			if code != 0 {
				return
			}
			c, err := ticket.Verify(strings.TrimSpace(out), r.secret)
			if err != nil || c.Role != r.role || c.IssuedAtMs != 1_700_000_000_000 {
				t.Errorf("Verify(minted) = %+v, %v", c, err)
			}
			if err := ticket.ValidateForAttach(r.role, strings.TrimSpace(out), 0); err != nil {
				t.Errorf("ValidateForAttach(minted) = %v", err)
			}
		})
	}
}

// serveTCP runs a hive's console on a loopback listener, the way the
// hosted root task does.
func serveTCP(t *testing.T, o hive.Options) string {
	t.Helper()
	h, err := hive.New(o)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skip(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			h.ServeConsole(c) // one client at a time
		}
	}()
	t.Cleanup(func() { l.Close(); <-done; h.Close() })
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

var (
	delayRE = regexp.MustCompile(`delay_ms=\d+`)
	// Audit lines name their transport and remote address (issue 12),
	// which differ between the transports by design.
	transportRE = regexp.MustCompile(` transport=\S+( remote=\S+)?`)
)

// normalize masks what differs between transports by design: throttle
// delays and the transport fields of audit lines.
func normalize(s string) string {
	return transportRE.ReplaceAllString(delayRE.ReplaceAllString(s, "delay_ms=N"), " transport=T")
}

// TestRegressionPack runs every scripts/cohsh/*.coh through the mock
// transport, over TCP and over the serial console against a fresh hive each,
// and requires the transcripts to match byte for byte (throttle delays and
// audit lines' transport fields aside).
// A script whose first line is "# profile: governed" runs against governed
// hives (PolicyFS, AuditFS, ReplayFS on; DECISIONS P26) on all three.
func TestRegressionPack(t *testing.T) {
	scripts, err := filepath.Glob("../../scripts/cohsh/*.coh")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no regression scripts: %v", err)
	}
	for _, s := range scripts {
		t.Run(filepath.Base(s), func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(s)
			if err != nil {
				t.Fatal(err)
			}
			profile, err := hive.ScriptProfile(src)
			if err != nil {
				t.Fatal(err)
			}
			e := testEnv()
			e.hive = e.hive.WithProfile(profile)
			if profile == hive.ProfileGoverned {
				e.hive.CASRootKey = fixtureRootKey(t)
			}
			mock, errOut, code := runCohshEnv(t, e, "", "--transport", "mock", "--script", s)
			if code != 0 {
				t.Fatalf("mock: exit %d\nstdout:\n%s\nstderr:\n%s", code, mock, errOut)
			}
			tcp, errOut, code := runCohshEnv(t, e, "", "--tcp-port", serveTCP(t, e.hive), "--script", s)
			if code != 0 {
				t.Fatalf("tcp: exit %d\nstdout:\n%s\nstderr:\n%s", code, tcp, errOut)
			}
			if diff := cmp.Diff(normalize(mock), normalize(tcp)); diff != "" {
				t.Errorf("mock and tcp transcripts differ (-mock +tcp):\n%s", diff)
			}
			serial, errOut, code := runCohshEnv(t, e, "", "--transport", "mock-serial", "--script", s)
			if code != 0 {
				t.Fatalf("serial: exit %d\nstdout:\n%s\nstderr:\n%s", code, serial, errOut)
			}
			// console.md §1 and §3 answer an over-long line per transport:
			// TCP refuses the frame, serial refuses the line. Nothing else may differ.
			serial = strings.ReplaceAll(serial, "ERR PARSE reason=policy detail=console line exceeded maximum length", "ERR FRAME reason=invalid-length")
			if diff := cmp.Diff(normalize(tcp), normalize(serial)); diff != "" {
				t.Errorf("tcp and serial transcripts differ (-tcp +serial):\n%s", diff)
			}
		})
	}
}

func TestInteractiveBanner(t *testing.T) {
	out, _, code := runCohsh(t, "", "--transport", "mock")
	want := "Welcome to Cohesix. Type 'help' for commands.\ndetached shell: run 'attach <role>' to connect\ncoh> \n"
	if code != 0 || out != want {
		t.Errorf("banner = %d, %q; want %q", code, out, want)
	}
}

func TestStderrMasksTickets(t *testing.T) {
	tok := "cohesix-ticket-0101080800776f726b65722d31000000000000000000000000.c9ffa6b5610e29ba7ed8ff595292a9946e294c0654e5cb85bf28299f2a52d79b"
	s := writeFile(t, "m.coh", "attach worker "+tok+"\n")
	_, errOut, code := runCohsh(t, "", "--transport", "mock", "--script", s)
	if code != 1 || !strings.Contains(errOut, "attach worker cohesix-ticket-…") || strings.Contains(errOut, "0101080800") {
		t.Errorf("stderr = %d:\n%s\nwant the ticket masked", code, errOut)
	}
}

func TestUsageMentionsTool(t *testing.T) {
	_, errOut, _ := runCohsh(t, "", "--help")
	if !strings.HasPrefix(errOut, "Usage: cohsh ") {
		t.Errorf("usage = %q; want it to start with \"Usage: cohsh \"", errOut)
	}
	var ue *usageError
	if !errors.As(usagef("x"), &ue) {
		t.Errorf("usagef does not make a usageError")
	}
}

// TestAuditReplayScript checks what scripts/cohsh/audit_replay.coh can only
// print: replaying the journal reproduces the window's ACK/ERR sequence
// (spec namespace §8), from the start and from the end of the first entry,
// and a window past the journal's end is refused.
func TestAuditReplayScript(t *testing.T) {
	const s = "../../scripts/cohsh/audit_replay.coh"
	e := testEnv()
	e.hive = e.hive.WithProfile(hive.ProfileGoverned)
	out, errOut, code := runCohshEnv(t, e, "", "--transport", "mock", "--script", s)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	// The journaled writes in order: spawn without approval, spawn
	// approved, an approved but invalid spawn, cordon, resume.
	acks := []string{"ERR Permission EPERM", "OK", "ERR Invalid invalid payload", "OK", "OK"}
	fnv := func(acks []string) string {
		h := uint64(0xcbf29ce484222325)
		for _, b := range []byte(strings.Join(acks, "\n") + "\n") {
			h = (h ^ uint64(b)) * 0x100000001b3
		}
		return fmt.Sprintf("%016x", h)
	}
	var journal []string
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if l == "OK CAT path=/audit/journal data=" {
			for _, j := range lines[i+1:] {
				if j == "END" {
					break
				}
				journal = append(journal, j)
			}
			break
		}
	}
	if len(journal) != len(acks) {
		t.Fatalf("journal = %q; want %d entries", journal, len(acks))
	}
	next := 0
	for _, j := range journal {
		next += len(j) + 1
	}
	first := len(journal[0]) + 1
	for _, want := range []string{
		fmt.Sprintf(`{"state":"ok","from":0,"to":%d,"entries":5,"match":true,"sequence_fnv1a":"%s"}`, next+len(`{"note":"operator"}`)+1, fnv(acks)),
		fmt.Sprintf(`{"state":"ok","from":%d,"to":%d,"entries":4,"match":true,"sequence_fnv1a":"%s"}`, first, next+len(`{"note":"operator"}`)+1, fnv(acks[1:])),
		fmt.Sprintf(`{"state":"err","from":99999,"reason":"out-of-window","journal_base":0,"journal_next":%d}`, next+len(`{"note":"operator"}`)+1),
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("transcript lacks replay status %s:\n%s", want, out)
		}
	}
}

// fixtureRootKey is the key the governed regression hives trust for
// /updates: the fixture the CAS scripts' manifests are signed with
// (scripts/cohsh/fixtures/gen_cas_scripts.go).
func fixtureRootKey(t *testing.T) []byte {
	t.Helper()
	pub, err := cas.ReadPublicKey("../../scripts/cohsh/fixtures/cas_root.key.pub")
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// --boot-wait bounds how long a --serial-cmd may take to show its first
// prompt: a console that is silent past it is given up on with the wait
// named; one that shows its prompt within it is used.
func TestSerialBootWait(t *testing.T) {
	script := writeFile(t, "wait.coh", "WAIT 10\n")
	_, errOut, code := runCohsh(t, "", "--transport", "serial", "--serial-cmd", "sleep 1", "--boot-wait", "300ms", "--script", script)
	if code == 0 || !strings.Contains(errOut, "no serial prompt within 300ms") {
		t.Fatalf("a console silent past --boot-wait 300ms: exit %d, %q", code, errOut)
	}
	slow := `sleep 1; printf 'booting\n` + hive.SerialPrompt + `'; sleep 1`
	if out, errOut, code := runCohsh(t, "", "--transport", "serial", "--serial-cmd", slow, "--boot-wait", "10s", "--script", script); code != 0 {
		t.Fatalf("a prompt after 1 s within --boot-wait 10s: exit %d, %q %q", code, out, errOut)
	}
}
