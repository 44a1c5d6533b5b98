package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/internal/nineclient"
	"github.com/cohesix/cohesix/internal/ticket"
)

// swarmUI is a running swarmui against a root task.
type swarmUI struct {
	URL string
}

var servingLine = regexp.MustCompile(`serving (https?://\S+) `)

func startSwarmUI(t *testing.T, bin string, rt *rootTask) *swarmUI {
	t.Helper()
	return startSwarmUIArgs(t, bin, "--hive-9p", rt.NinePAddr, "--console", rt.ConsoleAddr)
}

// startSwarmUIArgs runs bin/swarmui on a loopback port with args.
func startSwarmUIArgs(t *testing.T, bin string, args ...string) *swarmUI {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "swarmui"), append([]string{"--bind", "127.0.0.1:0"}, args...)...)
	errp, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() })
	sc := bufio.NewScanner(errp)
	for sc.Scan() {
		if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
			go func() { _, _ = io.Copy(io.Discard, errp) }()
			return &swarmUI{URL: m[1]}
		}
	}
	t.Fatal("swarmui did not report its address")
	return nil
}

// uiClient is one browser: a cookie jar.
type uiClient struct {
	t   *testing.T
	url string
	c   *http.Client
}

func (u *swarmUI) client(t *testing.T) *uiClient {
	jar, _ := cookiejar.New(nil)
	return &uiClient{t: t, url: u.URL, c: &http.Client{Jar: jar}}
}

func (c *uiClient) do(method, path string, body []byte) (int, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.url+path, bytes.NewReader(body))
	req.Header.Set("X-Cohesix-UI", "1")
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// login logs in with tok; the test's end logs out (a ticket holds at
// most swarmui.sessions_per_subject sessions).
func (c *uiClient) login(tok string) (int, string) {
	code, b := c.do("POST", "/api/login", []byte(`{"ticket":"`+tok+`"}`))
	if code == 200 {
		c.t.Cleanup(func() { c.do("POST", "/api/logout", nil) })
	}
	return code, string(b)
}

func (c *uiClient) console(line string) []string {
	c.t.Helper()
	js, _ := json.Marshal(map[string]string{"line": line})
	code, b := c.do("POST", "/api/console", js)
	var r struct{ Lines []string }
	if err := json.Unmarshal(b, &r); err != nil || code != 200 {
		c.t.Fatalf("console %q = %d %s", line, code, b)
	}
	return r.Lines
}

// events reads the stream's events onto a channel.
func (c *uiClient) events(ctx context.Context) <-chan [2]string {
	c.t.Helper()
	return c.sse(ctx, "/api/stream")
}

// sse reads the server-sent events of GET path onto a channel.
func (c *uiClient) sse(ctx context.Context, path string) <-chan [2]string {
	c.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", c.url+path, nil)
	resp, err := c.c.Do(req)
	if err != nil || resp.StatusCode != 200 {
		c.t.Fatalf("%s: %v", path, err)
	}
	ch := make(chan [2]string, 64)
	go func() {
		defer resp.Body.Close()
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<22)
		var name string
		for sc.Scan() {
			l := sc.Text()
			if n, ok := strings.CutPrefix(l, "event: "); ok {
				name = n
			} else if d, ok := strings.CutPrefix(l, "data: "); ok {
				select {
				case ch <- [2]string{name, d}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return ch
}

// await returns the first event match accepts; the test's own deadline
// bounds the wait.
func await(t *testing.T, ch <-chan [2]string, what string, match func(name, data string) bool) {
	t.Helper()
	for ev := range ch {
		if match(ev[0], ev[1]) {
			return
		}
	}
	t.Fatalf("the stream ended before %s", what)
}

// cohshLines runs one cohsh command attached as queen and returns its
// lines after the attach line.
func cohshLines(t *testing.T, bin string, rt *rootTask, words ...string) []string {
	t.Helper()
	// An ERR answer exits 1; its lines are still what cohsh printed.
	out, _ := cohsh(t, bin, append([]string{"--transport", "tcp", "--tcp-port", port(rt.ConsoleAddr), "--role", "queen"}, words...)...)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if lines[0] != "OK ATTACH role=queen" {
		t.Fatalf("cohsh %v did not attach first: %q", words, out)
	}
	return lines[1:]
}

func TestSwarmUIAPI(t *testing.T) {
	bin := binaries(t, "roottask", "cmd/cohsh", "cmd/swarmui")
	rt := startRootTask(t, bin, false)
	ui := startSwarmUI(t, bin, rt)
	queenTok, err := nineclient.MintQueen(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e := &uiEnv{bin: bin, rt: rt, ui: ui, queenTok: queenTok}
	t.Run("login", e.login)
	t.Run("stream follows spawn and kill", e.streamSpawnKill)
	t.Run("worker ticket sees only itself", e.workerScope)
	t.Run("console lines equal cohsh's", e.consoleLines)
	t.Run("panels and bad replay", e.panelsReplay)
	t.Run("bind rule", e.bindRule)
}

// uiEnv is what TestSwarmUIAPI's parts share: one root task, one swarmui.
type uiEnv struct {
	bin      string
	rt       *rootTask
	ui       *swarmUI
	queenTok string
}

func (e *uiEnv) login(t *testing.T) {
	c := e.ui.client(t)
	if code, b := c.login(e.queenTok); code != 200 || !strings.Contains(b, `"role":"queen"`) {
		t.Fatalf("queen login = %d %s", code, b)
	}
	forged, _ := ticket.Mint(ticket.Claims{Role: ticket.RoleQueen, IssuedAtMs: uint64(time.Now().UnixMilli())}, "not-the-hive-secret")
	if code, b := e.ui.client(t).login(forged); code != 401 || !strings.Contains(b, "the hive refused the ticket") {
		t.Fatalf("forged ticket login = %d %s", code, b)
	}
	if code, _ := e.ui.client(t).do("GET", "/api/whoami", nil); code != 401 {
		t.Fatalf("whoami without login = %d", code)
	}
}

func (e *uiEnv) streamSpawnKill(t *testing.T) {
	c := e.ui.client(t)
	c.login(e.queenTok)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ev := c.events(ctx)
	await(t, ev, "the hive event", func(n, _ string) bool { return n == "hive" })
	out := cohshLines(t, e.bin, e.rt, "spawn", "heartbeat", "ticks=100000")
	if !strings.HasPrefix(out[0], "OK ECHO path=/queen/ctl ") {
		t.Fatalf("spawn: %q", out)
	}
	ids := cohshLines(t, e.bin, e.rt, "ls", "/worker")
	id := ids[len(ids)-2] // the newest, before END
	await(t, ev, id+" appearing", func(n, d string) bool { return n == "diff" && strings.Contains(d, `"id":"`+id+`"`) })
	cohshLines(t, e.bin, e.rt, "kill", id)
	await(t, ev, id+" leaving", func(n, d string) bool { return n == "diff" && strings.Contains(d, `"remove":["`+id+`"]`) })
}

func (e *uiEnv) workerScope(t *testing.T) {
	cohshLines(t, e.bin, e.rt, "spawn", "heartbeat", "ticks=100000")
	cohshLines(t, e.bin, e.rt, "spawn", "heartbeat", "ticks=100000")
	ids := cohshLines(t, e.bin, e.rt, "ls", "/worker")
	me, other := ids[1], ids[2]
	wt, err := nineclient.Mint(ticket.RoleWorkerHeartbeat, me, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c := e.ui.client(t)
	if code, b := c.login(wt); code != 200 {
		t.Fatalf("worker login = %d %s", code, b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ev := c.events(ctx)
	await(t, ev, "the worker's hive event", func(n, d string) bool {
		if n != "hive" {
			return false
		}
		var f struct{ Workers []struct{ ID string } }
		json.Unmarshal([]byte(d), &f)
		if len(f.Workers) != 1 || f.Workers[0].ID != me {
			t.Fatalf("a worker ticket's stream holds %s", d)
		}
		return true
	})
	if code, b := c.do("GET", "/api/worker?id="+other, nil); code != 403 {
		t.Fatalf("worker reading %s = %d %s", other, code, b)
	}
	if code, b := c.do("GET", "/api/worker?id="+me, nil); code != 200 || !strings.Contains(string(b), `"telemetry":[`) {
		t.Fatalf("worker reading itself = %d %s", code, b)
	}
}

func (e *uiEnv) consoleLines(t *testing.T) {
	c := e.ui.client(t)
	c.login(e.queenTok)
	if got := c.console("attach queen"); len(got) != 1 || got[0] != "OK ATTACH role=queen" {
		t.Fatalf("attach = %q", got)
	}
	for _, line := range []string{"help", "cat /proc/lifecycle/state", "ls /proc", "spawn heartbeat ticks=5", "cat /nope", "quit"} {
		want := cohshLines(t, e.bin, e.rt, strings.Fields(line)...)
		if got := c.console(line); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%q:\n page  %q\n cohsh %q", line, got, want)
		}
	}
	// log (20e's flow): the page's tail is taken after cohsh's, so it
	// holds cohsh's lines and then the lines logged since (cohsh's
	// own connection closing).
	want := cohshLines(t, e.bin, e.rt, "log")
	got := c.console("log")
	if len(got) < len(want) || strings.Join(got[:len(want)-1], "\n") != strings.Join(want[:len(want)-1], "\n") || got[len(got)-1] != "END" {
		t.Errorf("log:\n page  %q\n cohsh %q", got, want)
	}
	// After quit the next command attaches again with the login's ticket.
	if got := c.console("cat /proc/lifecycle/state"); got[0] != "OK CAT path=/proc/lifecycle/state data=state=ONLINE" {
		t.Errorf("after quit: %q", got)
	}
	e.consoleLifecycle(t, c)
	e.consoleFollow(t, c)
}

// consoleLifecycle: lifecycle's lines equal cohsh's (cohverb's check and
// line). Each transition changes the state, so the page and cohsh take
// turns: the page's cordon is compared with cohsh's cordon from the same
// state, and likewise resume; the hive ends ONLINE.
func (e *uiEnv) consoleLifecycle(t *testing.T, c *uiClient) {
	same := func(what string, got, want []string) {
		t.Helper()
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s:\n page  %q\n cohsh %q", what, got, want)
		}
	}
	same("lifecycle drain from ONLINE", c.console("lifecycle drain"), cohshLines(t, e.bin, e.rt, "lifecycle", "drain"))
	pageCordon := c.console("lifecycle cordon")
	cohshResume := cohshLines(t, e.bin, e.rt, "lifecycle", "resume")
	same("lifecycle cordon", pageCordon, cohshLines(t, e.bin, e.rt, "lifecycle", "cordon"))
	same("lifecycle resume", c.console("lifecycle resume"), cohshResume)
	if got := c.console("cat /proc/lifecycle/state"); got[0] != "OK CAT path=/proc/lifecycle/state data=state=ONLINE" {
		t.Errorf("after cordon and resume: %q", got)
	}
	if code, b := c.do("POST", "/api/console", []byte(`{"line":"lifecycle bogus"}`)); code != 400 || !strings.Contains(string(b), "lifecycle takes one of") {
		t.Errorf("lifecycle bogus = %d %s", code, b)
	}
}

// consoleFollow: tail -f streams cohsh's follow lines (the ack, then each
// new line once) until the page closes it; a refused path ends the
// stream with cohsh's refusal lines; one stream per UI session.
func (e *uiEnv) consoleFollow(t *testing.T, c *uiClient) {
	ctx, cancel := context.WithCancel(context.Background())
	ev := c.sse(ctx, "/api/console/follow?path=/log/queen.log")
	await(t, ev, "the tail ack", func(n, d string) bool {
		if n != "line" || d != `{"line":"OK TAIL path=/log/queen.log"}` {
			t.Fatalf("first follow event %s %s", n, d)
		}
		return true
	})
	if code, b := c.do("GET", "/api/console/follow?path=/log/queen.log", nil); code != 409 {
		t.Errorf("a second follow = %d %s", code, b)
	}
	cohshLines(t, e.bin, e.rt, "cat", "/proc/follow-marker") // logs a refusal naming the path
	await(t, ev, "the new log line", func(n, d string) bool { return n == "line" && strings.Contains(d, "follow-marker") })
	cancel()
	want := cohshLines(t, e.bin, e.rt, "tail", "/nope")
	c2 := e.ui.client(t) // a session of its own: c's slot frees when its stream's handler notices the close
	c2.login(e.queenTok)
	ev = c2.sse(context.Background(), "/api/console/follow?path=/nope")
	await(t, ev, "the refusal", func(n, d string) bool {
		var end struct{ Lines []string }
		if n != "end" || json.Unmarshal([]byte(d), &end) != nil {
			return false
		}
		if strings.Join(end.Lines, "\n") != strings.Join(want, "\n") {
			t.Errorf("tail -f /nope:\n page  %q\n cohsh %q", end.Lines, want)
		}
		return true
	})
}

func (e *uiEnv) panelsReplay(t *testing.T) {
	c := e.ui.client(t)
	c.login(e.queenTok)
	for _, p := range []string{"scheduler", "lease"} {
		if code, b := c.do("GET", "/api/panel?name="+p, nil); code != 200 || !strings.Contains(string(b), `"lines":[`) {
			t.Errorf("panel %s = %d %s", p, code, b)
		}
	}
	for _, bad := range [][]byte{[]byte("garbage"), []byte("COHTRACE\x01"), nil} {
		code, b := c.do("POST", "/api/replay", bad)
		if code != 400 || !strings.Contains(string(b), `"error":`) {
			t.Errorf("replay %q = %d %s", bad, code, b)
		}
	}
	good, _ := os.ReadFile(filepath.Join(repoRoot(), "cmd/swarmui/testdata/snapshot_10.cbor"))
	if code, b := c.do("POST", "/api/replay", good); code != 200 || !strings.Contains(string(b), `"kind":"snapshot"`) {
		t.Errorf("replay fixture = %d", code)
	}
}

func (e *uiEnv) bindRule(t *testing.T) {
	_, errs, code := runCmd(t, exec.Command(filepath.Join(e.bin, "swarmui"), "--bind", "0.0.0.0:0"))
	if code != 2 || !strings.Contains(errs, "is not a loopback address") || !strings.Contains(errs, "--allow-non-loopback") {
		t.Errorf("non-loopback bind: exit %d %s", code, errs)
	}
}
