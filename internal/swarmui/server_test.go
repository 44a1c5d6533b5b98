package swarmui

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hugelgupf/p9/linux"

	"github.com/cohesix/cohesix/internal/nineclient"
	"github.com/cohesix/cohesix/internal/ticket"
)

// fakeHive is an upstream whose /proc/ui lists the workers it is given.
type fakeHive struct {
	mu      sync.Mutex
	workers []string // ids, spawn order
	files   map[string]string
	closed  bool
}

func (h *fakeHive) set(ids ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.workers = ids
}

func (h *fakeHive) Read(path string, _ int) ([]byte, error) { return h.ReadFrom(path, 0, 0) }

func (h *fakeHive) ReadFrom(path string, off int64, _ int) ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var s string
	switch {
	case path == PathUIGen:
		s = fmt.Sprintf("gen=1 now_ms=1 workers=%d pages=1 lifecycle=ONLINE reachable=yes\n", len(h.workers))
	case path == PathUIPages+"0":
		for _, id := range h.workers {
			s += id + " role=worker-heartbeat state=running ticks=5 ops=0 budget_ticks=10 budget_ops=- telemetry_end=100\n"
		}
	default:
		f, ok := h.files[path]
		if !ok {
			return nil, linux.ENOENT
		}
		s = f
	}
	return []byte(s)[min(int(off), len(s)):], nil
}

func (h *fakeHive) List(string) ([]string, error) { return nil, linux.ENOTDIR }

func (h *fakeHive) Stat(path string) (nineclient.Stat, error) {
	b, err := h.Read(path, 0)
	return nineclient.Stat{Size: uint64(len(b))}, err
}

func (h *fakeHive) Close() error { h.closed = true; return nil }

func mint(t *testing.T, role ticket.Role, subject string) string {
	t.Helper()
	tok, err := nineclient.Mint(role, subject, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type fixture struct {
	srv  *Server
	ts   *httptest.Server
	hive *fakeHive
}

func newFixture(t *testing.T, mod func(*Config)) *fixture {
	t.Helper()
	h := &fakeHive{files: map[string]string{
		"/worker/worker-1/telemetry": "{\"tick\":1}\n{\"tick\":2}\n",
		"/proc/schedule/queue":       "id=worker-1 role=worker-heartbeat priority=0 ticks=5 budget_ms=0 seq=1\n",
	}}
	cfg := Config{Push: 10 * time.Millisecond, Dial: func(tok string) (Hive, error) {
		if strings.Contains(tok, "refused") {
			return nil, errors.New("9p attach: permission denied")
		}
		return h, nil
	}}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(func() { ts.Close(); s.Close() })
	return &fixture{srv: s, ts: ts, hive: h}
}

func (f *fixture) do(t *testing.T, method, path, body string, cookie *http.Cookie) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, f.ts.URL+path, strings.NewReader(body))
	req.Header.Set(CSRFHeader, "1")
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func (f *fixture) login(t *testing.T, tok string) *http.Cookie {
	t.Helper()
	resp := f.do(t, "POST", "/api/login", `{"ticket":"`+tok+`"}`, nil)
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("login: %d %s", resp.StatusCode, b)
	}
	for _, c := range resp.Cookies() {
		if c.Name == CookieName {
			return c
		}
	}
	t.Fatal("no session cookie")
	return nil
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

func TestLoginCookieAndHeaders(t *testing.T) {
	f := newFixture(t, nil)
	resp := f.do(t, "POST", "/api/login", `{"ticket":"`+mint(t, ticket.RoleQueen, "")+`"}`, nil)
	b := body(t, resp)
	if resp.StatusCode != 200 || b != `{"role":"queen","subject":""}`+"\n" {
		t.Fatalf("login = %d %q", resp.StatusCode, b)
	}
	sc := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %s", sc, want)
		}
	}
	if strings.Contains(sc, "cohesix-ticket") {
		t.Error("the cookie carries the ticket")
	}
	if resp.Header.Get("Content-Security-Policy") != CSP || resp.Header.Get("X-Content-Type-Options") != "nosniff" ||
		resp.Header.Get("Referrer-Policy") != "no-referrer" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("security headers: %v", resp.Header)
	}
	c := resp.Cookies()[0]
	if r := f.do(t, "GET", "/api/whoami", "", c); r.StatusCode != 200 || body(t, r) != `{"role":"queen","subject":""}`+"\n" {
		t.Error("whoami with the cookie")
	}
	if r := f.do(t, "GET", "/api/whoami", "", nil); r.StatusCode != 401 {
		t.Errorf("whoami without a cookie = %d", r.StatusCode)
	}
	if r := f.do(t, "POST", "/api/logout", "", c); r.StatusCode != 204 {
		t.Errorf("logout = %d", r.StatusCode)
	}
	if r := f.do(t, "GET", "/api/whoami", "", c); r.StatusCode != 401 {
		t.Errorf("whoami after logout = %d", r.StatusCode)
	}
	if !f.hive.closed {
		t.Error("logout left the upstream session open")
	}
}

func TestLoginRefused(t *testing.T) {
	f := newFixture(t, nil)
	for _, tc := range []struct{ body, words string }{
		{`{"ticket":"nonsense"}`, "ticket refused"},
		{`{"ticket":"cohesix-ticket-refused.x"}`, "ticket refused"},
		{`not json`, "not the JSON"},
	} {
		r := f.do(t, "POST", "/api/login", tc.body, nil)
		b := body(t, r)
		if r.StatusCode/100 != 4 || !strings.Contains(b, tc.words) {
			t.Errorf("login %s = %d %s", tc.body, r.StatusCode, b)
		}
	}
	// A well-formed ticket the hive refuses: 401 with the hive's words.
	f2 := newFixture(t, func(c *Config) {
		c.Dial = func(string) (Hive, error) { return nil, errors.New("9p attach: permission denied") }
	})
	r := f2.do(t, "POST", "/api/login", `{"ticket":"`+mint(t, ticket.RoleQueen, "")+`"}`, nil)
	if b := body(t, r); r.StatusCode != 401 || !strings.Contains(b, "permission denied") {
		t.Errorf("hive refusal = %d %s", r.StatusCode, b)
	}
	if f2.srv.sess.len() != 0 {
		t.Error("a refused login left a session")
	}
}

func TestCSRFAndRate(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.RatePerS = 3; c.Now = func() time.Time { return time.Unix(1000, 0) } })
	c := f.login(t, mint(t, ticket.RoleQueen, ""))
	req, _ := http.NewRequest("POST", f.ts.URL+"/api/logout", nil)
	req.AddCookie(c)
	resp, _ := http.DefaultClient.Do(req)
	if resp.StatusCode != 403 {
		t.Errorf("POST without %s = %d", CSRFHeader, resp.StatusCode)
	}
	var last *http.Response
	for range 4 {
		last = f.do(t, "GET", "/api/whoami", "", c)
	}
	if last.StatusCode != 429 || last.Header.Get("Retry-After") == "" {
		t.Errorf("over the rate = %d Retry-After %q", last.StatusCode, last.Header.Get("Retry-After"))
	}
}

func TestStaticNotBuilt(t *testing.T) {
	f := newFixture(t, nil)
	r := f.do(t, "GET", "/", "", nil)
	if b := body(t, r); r.StatusCode != 503 || b != notBuilt+"\n" {
		t.Errorf("/ = %d %q", r.StatusCode, b)
	}
	f2 := newFixture(t, func(c *Config) { c.Assets = fstest.MapFS{"index.html": {Data: []byte("<html>hi</html>")}} })
	r = f2.do(t, "GET", "/", "", nil)
	if b := body(t, r); r.StatusCode != 200 || b != "<html>hi</html>" || r.Header.Get("Content-Security-Policy") != CSP {
		t.Errorf("/ = %d %q", r.StatusCode, b)
	}
}

func TestBindRule(t *testing.T) {
	for _, tc := range []struct {
		bind  string
		allow bool
		ok    bool
	}{{"127.0.0.1:8090", false, true}, {"localhost:1", false, true}, {"[::1]:1", false, true},
		{"0.0.0.0:8090", false, false}, {"0.0.0.0:8090", true, true}, {"nonsense", true, false}} {
		err := Config{Bind: tc.bind, AllowNonLoopback: tc.allow}.Check()
		if (err == nil) != tc.ok {
			t.Errorf("Check(%s, allow=%v) = %v", tc.bind, tc.allow, err)
		}
	}
	if err := (Config{TLSCert: "x"}).Check(); err == nil {
		t.Error("half a TLS pair passed")
	}
}

// sse reads events from a stream until n have arrived.
func sse(t *testing.T, r *bufio.Reader, n int) []struct{ name, data string } {
	t.Helper()
	var out []struct{ name, data string }
	var name string
	for len(out) < n {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "event: "):
			name = line[7:]
		case strings.HasPrefix(line, "data: "):
			out = append(out, struct{ name, data string }{name, line[6:]})
		}
	}
	return out
}

func TestStreamHiveThenDiffs(t *testing.T) {
	f := newFixture(t, nil)
	f.hive.set("worker-1")
	c := f.login(t, mint(t, ticket.RoleQueen, ""))
	resp := f.do(t, "GET", "/api/stream", "", c)
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	r := bufio.NewReader(resp.Body)
	ev := sse(t, r, 1)[0]
	var hv Frame
	if err := json.Unmarshal([]byte(ev.data), &hv); err != nil || ev.name != "hive" {
		t.Fatalf("first event %s %s", ev.name, ev.data)
	}
	if len(hv.Workers) != 1 || hv.Workers[0].ID != "worker-1" || hv.Workers[0].State != "ACTIVE" || hv.Workers[0].Pressure != 0.5 || hv.Queen.Lifecycle != "ONLINE" {
		t.Fatalf("hive event %+v", hv)
	}
	f.hive.set("worker-1", "worker-2")
	ev = sse(t, r, 1)[0]
	if ev.name != "diff" || !strings.Contains(ev.data, `"id":"worker-2"`) {
		t.Fatalf("spawn diff %s %s", ev.name, ev.data)
	}
	f.hive.set("worker-2")
	ev = sse(t, r, 1)[0]
	if ev.name != "diff" || !strings.Contains(ev.data, `"remove":["worker-1"]`) {
		t.Fatalf("kill diff %s %s", ev.name, ev.data)
	}
}

func TestWorkerScopeAndPanels(t *testing.T) {
	f := newFixture(t, nil)
	wc := f.login(t, mint(t, ticket.RoleWorkerHeartbeat, "worker-1"))
	if r := f.do(t, "GET", "/api/worker?id=worker-2", "", wc); r.StatusCode != 403 {
		t.Errorf("a worker ticket read another worker: %d", r.StatusCode)
	}
	r := f.do(t, "GET", "/api/worker?id=worker-1", "", wc)
	if b := body(t, r); r.StatusCode != 200 || !strings.Contains(b, `"telemetry":["{\"tick\":1}","{\"tick\":2}"]`) {
		t.Errorf("own worker = %d %s", r.StatusCode, b)
	}
	// The worker ticket's stream holds only its own worker.
	f.hive.set("worker-1", "worker-2", "worker-3")
	resp := f.do(t, "GET", "/api/stream", "", wc)
	ev := sse(t, bufio.NewReader(resp.Body), 1)[0]
	resp.Body.Close()
	var hv Frame
	json.Unmarshal([]byte(ev.data), &hv)
	if len(hv.Workers) != 1 || hv.Workers[0].ID != "worker-1" {
		t.Errorf("worker stream holds %+v", hv.Workers)
	}
	qc := f.login(t, mint(t, ticket.RoleQueen, ""))
	r = f.do(t, "GET", "/api/panel?name=scheduler", "", qc)
	if b := body(t, r); r.StatusCode != 200 || !strings.Contains(b, `"path":"/proc/schedule/queue","lines":["id=worker-1`) {
		t.Errorf("scheduler panel = %d %s", r.StatusCode, b)
	}
	if r := f.do(t, "GET", "/api/panel?name=nope", "", qc); r.StatusCode != 400 {
		t.Errorf("unknown panel = %d", r.StatusCode)
	}
	if r := f.do(t, "GET", "/api/panel?name=gpu", "", qc); r.StatusCode != 404 {
		t.Errorf("absent gpu file = %d", r.StatusCode)
	}
	if r := f.do(t, "GET", "/api/worker?id=../x", "", qc); r.StatusCode != 400 {
		t.Errorf("bad id = %d", r.StatusCode)
	}
}

func TestReplayRoute(t *testing.T) {
	f := newFixture(t, nil)
	c := f.login(t, mint(t, ticket.RoleQueen, ""))
	good, _ := EncodeSnapshot(FixtureFrames(3, 2), time.Now())
	tampered := bytes.Clone(good)
	tampered[len(tampered)/2] ^= 1
	expired, _ := EncodeSnapshotUntil(FixtureFrames(3, 1), time.Unix(0, 0), time.Unix(1, 0))
	tr, _ := FixtureTrace()
	for _, tc := range []struct {
		name  string
		in    []byte
		code  int
		words string
	}{
		{"snapshot", good, 200, `"kind":"snapshot"`},
		{"trace", tr, 200, `"kind":"trace"`},
		{"garbage", []byte("hello"), 400, "not a SwarmUI snapshot"},
		{"truncated snapshot", good[:len(good)-9], 400, "malformed or truncated"},
		{"tampered snapshot", tampered, 400, ""},
		{"expired snapshot", expired, 400, "expired"},
		{"truncated trace", tr[:len(tr)-3], 400, "trace"},
	} {
		r := f.do(t, "POST", "/api/replay", string(tc.in), c)
		b := body(t, r)
		if r.StatusCode != tc.code || !strings.Contains(b, tc.words) {
			t.Errorf("%s: %d %s", tc.name, r.StatusCode, b[:min(len(b), 200)])
		}
	}
	// The trace's frames follow its spawns and its kill.
	_, frames, _ := DecodeReplay(tr, time.Now())
	last := frames[len(frames)-1]
	if len(last.Workers) != 2 || last.Workers[0].ID != "worker-2" || last.Workers[1].ID != "worker-3" {
		t.Errorf("trace replay ends with %+v", last.Workers)
	}
	// /api/snapshot answers a snapshot that replays.
	f.hive.set("worker-1", "worker-2")
	r := f.do(t, "GET", "/api/snapshot", "", c)
	snap, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.Header.Get("Content-Type") != "application/cbor" {
		t.Fatalf("snapshot content type %q", r.Header.Get("Content-Type"))
	}
	fr, err := DecodeSnapshot(snap, time.Now())
	if err != nil || len(fr) != 1 || len(fr[0].Workers) != 2 {
		t.Errorf("snapshot round trip: %v %+v", err, fr)
	}
}

func TestSessionTableBound(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.SessionsMax = 2 })
	tok := mint(t, ticket.RoleQueen, "")
	first := f.login(t, tok)
	f.login(t, tok)
	f.login(t, tok)
	if n := f.srv.sess.len(); n != 2 {
		t.Errorf("table holds %d sessions, bound 2", n)
	}
	if r := f.do(t, "GET", "/api/whoami", "", first); r.StatusCode != 401 {
		t.Errorf("the least recently used session survived: %d", r.StatusCode)
	}
}

func TestSessionIdleEviction(t *testing.T) {
	now := time.Unix(1000, 0)
	f := newFixture(t, func(c *Config) { c.SessionIdle = time.Minute; c.Now = func() time.Time { return now } })
	c := f.login(t, mint(t, ticket.RoleQueen, ""))
	now = now.Add(2 * time.Minute)
	if r := f.do(t, "GET", "/api/whoami", "", c); r.StatusCode != 401 {
		t.Errorf("an idle session answered %d", r.StatusCode)
	}
}

// TestReplayMode: --replay serves the file's last frame as recorded, with
// no hive; the console says there is none.
func TestReplayMode(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Replay = "../../cmd/swarmui/testdata/snapshot_10.cbor"
		c.Dial = func(string) (Hive, error) { t.Error("replay mode dialled the hive"); return nil, errors.New("no") }
	})
	c := f.login(t, mint(t, ticket.RoleQueen, ""))
	resp := f.do(t, "GET", "/api/stream", "", c)
	ev := sse(t, bufio.NewReader(resp.Body), 1)[0]
	resp.Body.Close()
	want := FixtureFrames(10, 20)[19]
	var got Frame
	if err := json.Unmarshal([]byte(ev.data), &got); err != nil || ev.name != "hive" || len(got.Workers) != 10 || got.Workers[6].Cut != want.Workers[6].Cut || got.Workers[3].Pressure != want.Workers[3].Pressure {
		t.Fatalf("replay stream %s %s", ev.name, ev.data)
	}
	if r := f.do(t, "POST", "/api/console", `{"line":"ls /"}`, c); r.StatusCode != 503 {
		t.Errorf("console in replay mode = %d", r.StatusCode)
	}
}

// TestLoginFloodKeepsOperator: a flood of valid logins with one ticket
// fills that subject's share (swarmui.sessions_per_subject) and is then
// refused with 429 and an audit line, before any upstream dial; the
// honest operator's session survives, though the LRU rule alone would
// have evicted it. Another subject still logs in.
func TestLoginFloodKeepsOperator(t *testing.T) {
	var logs bytes.Buffer
	var dials int
	f := newFixture(t, func(c *Config) {
		c.SessionsMax, c.SessionsPerSubject, c.Log = 8, 3, &logs
		dial := c.Dial
		c.Dial = func(tok string) (Hive, error) { dials++; return dial(tok) }
	})
	honest := f.login(t, mint(t, ticket.RoleQueen, ""))
	flood := mint(t, ticket.RoleWorkerHeartbeat, "worker-7")
	refused := 0
	for range 50 {
		r := f.do(t, "POST", "/api/login", `{"ticket":"`+flood+`"}`, nil)
		b := body(t, r)
		switch r.StatusCode {
		case 200:
		case 429:
			refused++
			if !strings.Contains(b, "sessions_per_subject") || r.Header.Get("Retry-After") == "" {
				t.Fatalf("flood refusal = %s (Retry-After %q)", b, r.Header.Get("Retry-After"))
			}
		default:
			t.Fatalf("flood login = %d %s", r.StatusCode, b)
		}
	}
	if refused != 47 || dials != 4 {
		t.Errorf("flood: %d refused, %d upstream dials; want 47 refused, 4 dials (the operator's and 3)", refused, dials)
	}
	if r := f.do(t, "GET", "/api/whoami", "", honest); r.StatusCode != 200 {
		t.Errorf("the operator's session was pushed out by the flood: %d", r.StatusCode)
	}
	// A second worker ticket of the same subject shares its share.
	if r := f.do(t, "POST", "/api/login", `{"ticket":"`+mint(t, ticket.RoleWorkerHeartbeat, "worker-7")+`"}`, nil); r.StatusCode != 429 {
		t.Errorf("another ticket of the flooding subject = %d", r.StatusCode)
	}
	f.login(t, mint(t, ticket.RoleWorkerHeartbeat, "worker-8"))
	if !strings.Contains(logs.String(), `audit login refused reason=sessions-per-subject role=worker-heartbeat subject="worker-heartbeat/worker-7" limit=3`) {
		t.Errorf("no audit line for the flood:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), flood) {
		t.Error("the log holds the flooder's ticket")
	}
}
