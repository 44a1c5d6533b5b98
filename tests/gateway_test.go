package tests

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/gateway"
	"github.com/cohesix/cohesix/internal/gatewayapi"
	"github.com/cohesix/cohesix/internal/ticket"
)

func jsonBody(t *testing.T, r reply, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("HTTP %d body %q: %v", r.Status, r.Body, err)
	}
}

func q(path string, kv ...string) string {
	v := url.Values{"path": {path}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return "?" + v.Encode()
}

const gwToken = "gw-test-token-5d1c9a7e3b"

var authJSON = map[string]string{"Authorization": "Bearer " + gwToken, "Content-Type": "application/json"}

// The hive's answers come back in the console's words: an OK with the
// console's ACK, and a refusal as HTTP 200 with status ERR and exactly the
// ERR line cohsh prints over TCP.
func TestGatewayAnswersInConsoleWords(t *testing.T) {
	rt := startRootTask(t, binaries(t, "roottask"), false)
	g := startGateway(t, gateway.Config{Hive9P: rt.NinePAddr, Token: gwToken})
	cases := []struct {
		method, path, body string
		ack                string
	}{
		{"GET", gatewayapi.PathCat + q("/proc/nonexistent"), "", "ERR CAT reason=policy detail=invalid-path path=/proc/nonexistent error=invalid path"},
		{"GET", gatewayapi.PathLs + q("/proc/nonexistent"), "", "ERR LS reason=policy detail=invalid-path path=/proc/nonexistent error=invalid path"},
		{"GET", gatewayapi.PathTail + q("/proc/boot"), "", "ERR TAIL reason=policy detail=invalid-path path=/proc/boot"},
		{"POST", gatewayapi.PathEcho, `{"path":"/proc/boot","line":"x"}`, "ERR ECHO reason=policy detail=denied path=/proc/boot error=EPERM"},
		{"POST", gatewayapi.PathEcho, `{"path":"/queen/ctl","line":"not json"}`, "ERR ECHO reason=policy detail=invalid-payload path=/queen/ctl error=invalid payload"},
		{"GET", gatewayapi.PathCat + q("/proc/lifecycle/state"), "", "OK CAT path=/proc/lifecycle/state data=state=ONLINE"},
		{"POST", gatewayapi.PathEcho, `{"path":"/log/queen.log","line":"gateway was here"}`, "OK ECHO path=/log/queen.log bytes=16"},
		{"GET", gatewayapi.PathTail + q("/log/queen.log"), "", "OK TAIL path=/log/queen.log"},
	}
	for _, c := range cases {
		r := g.do(t, c.method, c.path, authJSON, c.body)
		var resp gatewayapi.Response
		jsonBody(t, r, &resp)
		if r.Status != http.StatusOK || resp.Ack != c.ack {
			t.Errorf("%s %s: HTTP %d ack %q; want 200 %q", c.method, c.path, r.Status, resp.Ack, c.ack)
		}
		if strings.HasPrefix(c.ack, "ERR") && (resp.Status != "ERR" || !strings.HasSuffix(c.ack, " "+resp.Error)) {
			t.Errorf("%s: status %q error %q", c.path, resp.Status, resp.Error)
		}
	}
	r := g.do(t, "GET", gatewayapi.PathTail+q("/log/queen.log", "lines", "1"), nil, "")
	var resp gatewayapi.Response
	jsonBody(t, r, &resp)
	if len(resp.Lines) != 1 || !strings.Contains(resp.Lines[0], "gateway was here") {
		t.Errorf("tail lines=1 after the echo: %q", resp.Lines)
	}
	r = g.do(t, "GET", gatewayapi.PathLs+q("/proc"), nil, "")
	jsonBody(t, r, &resp)
	if resp.Ack != fmt.Sprintf("OK LS path=/proc entries=%d", len(resp.Lines)) || len(resp.Lines) == 0 {
		t.Errorf("ls /proc: %+v", resp)
	}
	r = g.do(t, "GET", gatewayapi.PathRead+q("/proc/boot", "offset", "2", "max_bytes", "5"), nil, "")
	if r.Status != http.StatusOK || len(r.Body) != 5 || r.Header.Get(gatewayapi.HeaderOffset) != "2" || r.Header.Get(gatewayapi.HeaderSize) == "" {
		t.Errorf("read: HTTP %d %q headers %v", r.Status, r.Body, r.Header)
	}
	var st gatewayapi.Stat
	jsonBody(t, g.do(t, "GET", gatewayapi.PathStat+q("/proc"), nil, ""), &st)
	if st.Kind != gatewayapi.KindDir {
		t.Errorf("stat /proc: %+v", st)
	}
	for _, p := range []string{gatewayapi.PathHealthz, gatewayapi.PathReadyz, gatewayapi.PathMetrics, gatewayapi.PathOpenAPI, gatewayapi.PathDocs, gatewayapi.PathBounds, gatewayapi.PathStatus} {
		if r := g.do(t, "GET", p, nil, ""); r.Status != http.StatusOK {
			t.Errorf("GET %s: HTTP %d %s", p, r.Status, r.Body)
		}
	}
	if csp := g.do(t, "GET", gatewayapi.PathDocs, nil, "").Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("/docs CSP %q", csp)
	}
}

// Bad input is refused with 400 and a Problem in precise words, and
// nothing reaches the hive: a counting proxy between the gateway and the
// hive sees no byte while the bad requests are answered.
func TestGatewayBadInputNeverReachesTheHive(t *testing.T) {
	rt := startRootTask(t, binaries(t, "roottask"), false)
	proxy := startCountingProxy(t, rt.NinePAddr)
	g := startGateway(t, gateway.Config{Hive9P: proxy.ln.Addr().String(), Token: gwToken})
	// One good request first: the session is open, so a bad request that
	// slipped through would show as bytes, not as a dial.
	if r := g.do(t, "GET", gatewayapi.PathCat+q("/proc/lifecycle/state"), nil, ""); r.Status != http.StatusOK {
		t.Fatalf("warm-up: HTTP %d %s", r.Status, r.Body)
	}
	before := proxy.sent.Load()
	big := strings.Repeat("x", generated.GatewayMaxBodyBytes)
	cases := []struct {
		name, method, path string
		header             map[string]string
		body, code, words  string
	}{
		{"max_bytes over the cap", "GET", gatewayapi.PathCat + q("/proc/boot", "max_bytes", fmt.Sprint(generated.GatewayMaxReadBytes+1)), nil, "", gatewayapi.CodeTooLarge, "max_bytes is over the gateway's cap"},
		{"lines over the cap", "GET", gatewayapi.PathTail + q("/log/queen.log", "lines", fmt.Sprint(generated.GatewayTailMaxLines+1)), nil, "", gatewayapi.CodeTooLarge, "lines is over the gateway's cap"},
		{"max_bytes not a number", "GET", gatewayapi.PathCat + q("/proc/boot", "max_bytes", "ten"), nil, "", gatewayapi.CodeBadRequest, "not an integer"},
		{"dot-dot in path", "GET", gatewayapi.PathCat + q("/proc/../queen/ctl"), nil, "", gatewayapi.CodeBadRequest, `has a ".." component`},
		{"control byte in path", "GET", gatewayapi.PathLs + q("/proc\x00x"), nil, "", gatewayapi.CodeBadRequest, "control byte"},
		{"newline in path", "GET", gatewayapi.PathCat + q("/proc/boot\nattach queen"), nil, "", gatewayapi.CodeBadRequest, "control byte"},
		{"relative path", "GET", gatewayapi.PathCat + q("proc/boot"), nil, "", gatewayapi.CodeBadRequest, "not absolute"},
		{"path too long", "GET", gatewayapi.PathCat + q("/"+strings.Repeat("a", generated.ConsolePathMax)), nil, "", gatewayapi.CodeTooLarge, "the most is"},
		{"no path", "GET", gatewayapi.PathLs, nil, "", gatewayapi.CodeBadRequest, "path is missing"},
		{"malformed JSON", "POST", gatewayapi.PathEcho, authJSON, `{"path":"/log/queen.log",`, gatewayapi.CodeBadRequest, "malformed JSON"},
		{"unknown JSON field", "POST", gatewayapi.PathEcho, authJSON, `{"path":"/log/queen.log","line":"x","as":"queen"}`, gatewayapi.CodeBadRequest, "malformed JSON"},
		{"wrong content type", "POST", gatewayapi.PathEcho, map[string]string{"Authorization": "Bearer " + gwToken, "Content-Type": "text/plain"}, `{"path":"/log/queen.log","line":"x"}`, gatewayapi.CodeBadRequest, "Content-Type"},
		{"oversized body", "POST", gatewayapi.PathEcho, authJSON, `{"path":"/log/queen.log","line":"` + big + `"}`, gatewayapi.CodeTooLarge, "the body is over"},
		{"dot-dot in echo path", "POST", gatewayapi.PathEcho, authJSON, `{"path":"/log/../queen/ctl","line":"x"}`, gatewayapi.CodeBadRequest, `".." component`},
		{"empty echo line", "POST", gatewayapi.PathEcho, authJSON, `{"path":"/log/queen.log","line":""}`, gatewayapi.CodeBadRequest, "line is empty"},
		{"control byte in echo line", "POST", gatewayapi.PathEcho, authJSON, `{"path":"/log/queen.log","line":"a\u001b[2Kb"}`, gatewayapi.CodeBadRequest, "control byte"},
		{"echo line over the console's cap", "POST", gatewayapi.PathEcho, authJSON, `{"path":"/log/queen.log","line":"` + strings.Repeat("y", generated.ConsoleEchoMax+1) + `"}`, gatewayapi.CodeTooLarge, "line is"},
	}
	for _, c := range cases {
		r := g.do(t, c.method, c.path, c.header, c.body)
		var p gatewayapi.Problem
		jsonBody(t, r, &p)
		if r.Status != http.StatusBadRequest || p.Code != c.code || !strings.Contains(p.Error, c.words) {
			t.Errorf("%s: HTTP %d %+v; want 400 %s %q", c.name, r.Status, p, c.code, c.words)
		}
	}
	if after := proxy.sent.Load(); after != before {
		t.Errorf("bad input sent %d bytes to the hive; want none", after-before)
	}
	if n := strings.Count(g.Log.String(), "bad input "); n < len(cases) {
		t.Errorf("%d bad-input log lines for %d refusals", n, len(cases))
	}
}

// Mutating routes need the request-auth token: 401 without it or with a
// wrong one, 200 with the right one in either header. No log line ever
// holds 8 bytes of the token, after failed attempts included.
func TestGatewayRequestAuth(t *testing.T) {
	rt := startRootTask(t, binaries(t, "roottask"), false)
	g := startGateway(t, gateway.Config{Hive9P: rt.NinePAddr, Token: gwToken})
	body := `{"path":"/log/queen.log","line":"auth check"}`
	wrong := gwToken[:len(gwToken)-1] + "X"
	for _, h := range []map[string]string{
		{"Content-Type": "application/json"},
		{"Content-Type": "application/json", "Authorization": "Bearer " + wrong},
		{"Content-Type": "application/json", gatewayapi.HeaderAuth: wrong},
		{"Content-Type": "application/json", "Authorization": "Basic " + gwToken},
		{"Content-Type": "application/json", "Authorization": "Bearer " + gwToken[:8]},
	} {
		r := g.do(t, "POST", gatewayapi.PathEcho, h, body)
		var p gatewayapi.Problem
		jsonBody(t, r, &p)
		if r.Status != http.StatusUnauthorized || p.Code != gatewayapi.CodeUnauthorized {
			t.Errorf("headers %v: HTTP %d %+v; want 401", h, r.Status, p)
		}
	}
	for _, h := range []map[string]string{
		authJSON,
		{"Content-Type": "application/json", gatewayapi.HeaderAuth: gwToken},
	} {
		r := g.do(t, "POST", gatewayapi.PathEcho, h, body)
		var resp gatewayapi.Response
		jsonBody(t, r, &resp)
		if r.Status != http.StatusOK || resp.Ack != "OK ECHO path=/log/queen.log bytes=10" {
			t.Errorf("right token: HTTP %d %+v", r.Status, resp)
		}
	}
	logs := g.Log.String()
	if !strings.Contains(logs, "auth refused") {
		t.Fatalf("no auth refusal logged:\n%s", logs)
	}
	for i := 0; i+8 <= len(gwToken); i++ {
		if strings.Contains(logs, gwToken[i:i+8]) {
			t.Fatalf("the log holds %q, 8 bytes of the token:\n%s", gwToken[i:i+8], logs)
		}
	}
}

// Delegated identity: a worker's ticket in X-Cohesix-Ticket runs under
// the worker's role, so it cannot read /queen/ctl, and the hive's audit
// line names the worker and the HTTP client, not the gateway.
func TestGatewayDelegatedIdentity(t *testing.T) {
	rt := startRootTask(t, binaries(t, "roottask"), false)
	g := startGateway(t, gateway.Config{Hive9P: rt.NinePAddr, Token: gwToken})
	r := g.do(t, "POST", gatewayapi.PathEcho, authJSON, `{"path":"/queen/ctl","line":"{\"spawn\":\"heartbeat\",\"ticks\":1000}"}`)
	var resp gatewayapi.Response
	jsonBody(t, r, &resp)
	if resp.Status != "OK" {
		t.Fatalf("spawn through the gateway's queen ticket: %+v", resp)
	}
	wtok := mintTicket(t, ticket.Claims{Role: ticket.RoleWorkerHeartbeat, Subject: "worker-1", IssuedAtMs: uint64(time.Now().UnixMilli())})
	r = g.do(t, "GET", gatewayapi.PathCat+q(generated.ClientPathsQueenCtl), map[string]string{gatewayapi.HeaderTicket: wtok}, "")
	jsonBody(t, r, &resp)
	if r.Status != http.StatusOK || resp.Status != "ERR" || !strings.Contains(resp.Ack, "ERR CAT reason=policy") {
		t.Fatalf("worker cat /queen/ctl: HTTP %d %+v; want a refusal", r.Status, resp)
	}
	// The queen (the gateway's own ticket) may read it.
	r = g.do(t, "GET", gatewayapi.PathCat+q(generated.ClientPathsQueenCtl), nil, "")
	jsonBody(t, r, &resp)
	if resp.Status != "OK" {
		t.Fatalf("queen cat /queen/ctl: %+v", resp)
	}
	r = g.do(t, "GET", gatewayapi.PathTail+q(generated.ClientPathsLog), nil, "")
	jsonBody(t, r, &resp)
	found := false
	for _, l := range resp.Lines {
		if strings.Contains(l, "subject=worker-1") && strings.Contains(l, "role=worker-heartbeat") && strings.Contains(l, "via=127.0.0.1:") {
			found = true
		}
	}
	if !found {
		t.Errorf("no audit line names worker-1 and the HTTP client (via=):\n%s", strings.Join(resp.Lines, "\n"))
	}
	if strings.Contains(g.Log.String(), wtok[len(wtok)-12:]) {
		t.Error("the gateway logged the delegated ticket")
	}
}

// A hive restart is survived: while the hive is down the gateway answers
// 503 with Retry-After (and /readyz says so); once it is back, requests
// succeed again without restarting the gateway.
func TestGatewaySurvivesHiveRestart(t *testing.T) {
	bin := binaries(t, "roottask")
	rt := startRootTask(t, bin, false)
	addr := rt.NinePAddr
	g := startGateway(t, gateway.Config{Hive9P: addr, Token: gwToken})
	// ls, not a /proc cat: a cat may be answered from the read-through
	// cache within its TTL.
	if r := g.do(t, "GET", gatewayapi.PathLs+q("/proc"), nil, ""); r.Status != http.StatusOK {
		t.Fatalf("before: HTTP %d", r.Status)
	}
	stopRootTask(t, rt)
	for _, p := range []string{gatewayapi.PathLs + q("/proc"), gatewayapi.PathTail + q(generated.ClientPathsLog), gatewayapi.PathReadyz} {
		r := g.do(t, "GET", p, nil, "")
		var pr gatewayapi.Problem
		jsonBody(t, r, &pr)
		if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" || pr.Code != gatewayapi.CodeUnavailable {
			t.Errorf("hive down, GET %s: HTTP %d Retry-After %q %+v; want 503 with Retry-After", p, r.Status, r.Header.Get("Retry-After"), pr)
		}
	}
	startRootTaskArgs(t, bin, false, []string{"--secure9p-listen", addr})
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := g.do(t, "GET", gatewayapi.PathLs+q("/proc"), nil, "")
		if r.Status == http.StatusOK {
			break
		}
		if r.Status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("after the restart: HTTP %d %s", r.Status, r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := g.do(t, "GET", gatewayapi.PathReadyz, nil, ""); r.Status != http.StatusOK {
		t.Errorf("/readyz after the restart: HTTP %d", r.Status)
	}
}

// tail -f over server-sent events: a line appended after the stream
// starts arrives as a data event with its offset as id, and a stream
// resumed with Last-Event-ID starts after it.
func TestGatewayTailFollowSSE(t *testing.T) {
	rt := startRootTask(t, binaries(t, "roottask"), false)
	g := startGateway(t, gateway.Config{Hive9P: rt.NinePAddr, Token: gwToken})
	req, _ := http.NewRequest("GET", g.URL+gatewayapi.PathTail+q(generated.ClientPathsLog, "lines", "1"), nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("HTTP %d %q", resp.StatusCode, ct)
	}
	g.validate(t, req, resp.StatusCode, resp.Header, nil)
	events := sseEvents(resp.Body)
	<-events // the last line before the stream
	for _, line := range []string{"sse one", "sse two"} {
		if r := g.do(t, "POST", gatewayapi.PathEcho, authJSON, `{"path":"/log/queen.log","line":"`+line+`"}`); r.Status != http.StatusOK {
			t.Fatalf("echo: HTTP %d", r.Status)
		}
	}
	got, lastID := collectSSE(t, events, "sse ", 2)
	if got[0] != "sse one" || got[1] != "sse two" {
		t.Errorf("streamed %q", got)
	}
	// Resume after "sse one": the first event is "sse two" (or later).
	req2, _ := http.NewRequest("GET", g.URL+gatewayapi.PathTail+q(generated.ClientPathsLog, "follow", "true"), nil)
	req2.Header.Set("Last-Event-ID", lastID)
	resp2, err := http.DefaultClient.Do(req2)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	sc := bufio.NewScanner(resp2.Body)
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, "data: ") {
			if l != "data: sse two" {
				t.Errorf("resumed after id %s: first event %q; want sse two", lastID, l)
			}
			break
		}
	}
}

// sseEvents parses a server-sent event stream into (id, data) pairs.
func sseEvents(body io.Reader) <-chan [2]string {
	events := make(chan [2]string, 64)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(body)
		var id string
		for sc.Scan() {
			l := sc.Text()
			switch {
			case strings.HasPrefix(l, "id: "):
				id = l[4:]
			case strings.HasPrefix(l, "data: "):
				events <- [2]string{id, l[6:]}
			}
		}
	}()
	return events
}

// collectSSE waits for n events whose data starts with prefix and
// returns their data and the id of the first.
func collectSSE(t *testing.T, events <-chan [2]string, prefix string, n int) ([]string, string) {
	t.Helper()
	var got []string
	var firstID string
	timeout := time.After(30 * time.Second)
	for len(got) < n {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("stream ended; got %q", got)
			}
			if !strings.HasPrefix(ev[1], prefix) {
				continue
			}
			if ev[0] == "" {
				t.Errorf("event %q has no id", ev[1])
			}
			if len(got) == 0 {
				firstID = ev[0]
			}
			got = append(got, ev[1])
		case <-timeout:
			t.Fatalf("appended lines not streamed; got %q", got)
		}
	}
	return got, firstID
}

// A slow client that sends half a header is cut by ReadHeaderTimeout
// instead of holding a connection.
func TestGatewayCutsHalfHeaderClients(t *testing.T) {
	rt := startRootTask(t, binaries(t, "roottask"), false)
	g := startGateway(t, gateway.Config{Hive9P: rt.NinePAddr, Token: gwToken})
	c, err := net.Dial("tcp", strings.TrimPrefix(g.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")); err != nil {
		t.Fatal(err)
	}
	// Generous bound: the assertion is that the server closes, not when.
	_ = c.SetReadDeadline(time.Now().Add(time.Duration(generated.GatewayReadHeaderTimeoutMs)*time.Millisecond + 30*time.Second))
	buf := make([]byte, 512)
	for {
		_, err := c.Read(buf)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("the gateway kept a half-header connection open")
			}
			return // closed by the server (EOF or reset), after a 408 or not
		}
	}
}

// Telemetry through the gateway: a pushed body comes back as segments in
// the listing, and a pull from an offset (the resumable cursor) returns
// the rest of a segment with its size and offset.
func TestGatewayTelemetryPushListPull(t *testing.T) {
	rt := startRootTask(t, binaries(t, "roottask"), false)
	g := startGateway(t, gateway.Config{Hive9P: rt.NinePAddr, Token: gwToken})
	var body strings.Builder
	for i := range 500 {
		fmt.Fprintf(&body, "{\"n\":%d}\n", i)
	}
	push := map[string]string{"Authorization": "Bearer " + gwToken, "Content-Type": "application/x-ndjson"}
	if r := g.do(t, "POST", gatewayapi.PathTelemetry+"/gwdev", map[string]string{"Content-Type": "application/x-ndjson"}, body.String()); r.Status != http.StatusUnauthorized {
		t.Errorf("push without the token: HTTP %d", r.Status)
	}
	r := g.do(t, "POST", gatewayapi.PathTelemetry+"/gwdev", push, body.String())
	var res gatewayapi.PushResult
	jsonBody(t, r, &res)
	if r.Status != http.StatusOK || res.Device != "gwdev" || len(res.Segments) == 0 || res.Bytes < int64(body.Len()) {
		t.Fatalf("push: HTTP %d %+v", r.Status, res)
	}
	var segs gatewayapi.Segments
	jsonBody(t, g.do(t, "GET", gatewayapi.PathTelemetry, nil, ""), &segs)
	var size int64 = -1
	for _, s := range segs.Segments {
		if s.Device == "gwdev" && s.Seg == res.Segments[0] {
			size = s.Size
		}
	}
	if size <= 0 {
		t.Fatalf("segment %s of gwdev not listed: %+v", res.Segments[0], segs)
	}
	whole := g.do(t, "GET", gatewayapi.PathTelemetry+"/gwdev/"+res.Segments[0]+"?offset=0", nil, "")
	half := size / 2
	rest := g.do(t, "GET", fmt.Sprintf("%s/gwdev/%s?offset=%d", gatewayapi.PathTelemetry, res.Segments[0], half), nil, "")
	if whole.Status != http.StatusOK || int64(len(whole.Body)) != size || whole.Header.Get(gatewayapi.HeaderSize) != fmt.Sprint(size) {
		t.Fatalf("pull from 0: HTTP %d %d bytes, size header %q; want %d", whole.Status, len(whole.Body), whole.Header.Get(gatewayapi.HeaderSize), size)
	}
	if string(rest.Body) != string(whole.Body[half:]) || rest.Header.Get(gatewayapi.HeaderOffset) != fmt.Sprint(half) {
		t.Errorf("pull from %d is not the rest of the segment", half)
	}
	if !strings.Contains(string(whole.Body), `\"n\":0}`) {
		t.Errorf("segment does not hold the first record: %.80q", whole.Body)
	}
	for _, c := range []struct {
		path, ctype string
		want        int
	}{
		{gatewayapi.PathTelemetry + "/gwdev/seg-999999?offset=0", "", http.StatusNotFound},
		{gatewayapi.PathTelemetry + "/gwdev/" + res.Segments[0] + "?offset=-1", "", http.StatusBadRequest},
	} {
		if r := g.do(t, "GET", c.path, nil, ""); r.Status != c.want {
			t.Errorf("GET %s: HTTP %d; want %d", c.path, r.Status, c.want)
		}
	}
	push["Content-Type"] = "image/png"
	if r := g.do(t, "POST", gatewayapi.PathTelemetry+"/gwdev", push, "x\n"); r.Status != http.StatusBadRequest {
		t.Errorf("push as image/png: HTTP %d", r.Status)
	}
}

// A device pull through the gateway: one GET answers every segment of the
// device from a cursor, the spans header says which bytes are which
// segment, and each span equals the segment's own pull.
func TestGatewayTelemetryDevicePull(t *testing.T) {
	rt := startRootTask(t, binaries(t, "roottask"), false)
	g := startGateway(t, gateway.Config{Hive9P: rt.NinePAddr, Token: gwToken})
	var body strings.Builder
	for i := 0; body.Len() < 3*generated.TelemetryIngestMaxBytesPerSegment/2; i++ {
		fmt.Fprintf(&body, "{\"n\":%d}\n", i)
	}
	push := map[string]string{"Authorization": "Bearer " + gwToken, "Content-Type": "application/x-ndjson"}
	var res gatewayapi.PushResult
	jsonBody(t, g.do(t, "POST", gatewayapi.PathTelemetry+"/devpull", push, body.String()), &res)
	if len(res.Segments) < 2 {
		t.Fatalf("push made %d segments; the test needs two or more", len(res.Segments))
	}
	spansOf := func(r reply) []gatewayapi.Span {
		t.Helper()
		spans, err := gatewayapi.DecodeSpans(r.Header.Get(gatewayapi.HeaderSpans), int64(len(r.Body)))
		if r.Status != http.StatusOK || err != nil {
			t.Fatalf("device pull: HTTP %d, spans %q: %v", r.Status, r.Header.Get(gatewayapi.HeaderSpans), err)
		}
		return spans
	}
	all := g.do(t, "GET", gatewayapi.PathTelemetry+"/devpull", nil, "")
	spans := spansOf(all)
	if len(spans) != len(res.Segments) {
		t.Fatalf("device pull has %d spans; the push made %d segments", len(spans), len(res.Segments))
	}
	at := int64(0)
	for i, sp := range spans {
		one := g.do(t, "GET", gatewayapi.PathTelemetry+"/devpull/"+sp.Seg+"?offset=0", nil, "")
		if sp.Seg != res.Segments[i] || sp.Off != 0 || sp.Len != sp.Size || string(all.Body[at:at+sp.Len]) != string(one.Body) {
			t.Fatalf("span %d = %+v; want segment %s whole, equal to its own pull", i, sp, res.Segments[i])
		}
		at += sp.Len
	}
	half := spans[0].Size / 2
	rest := g.do(t, "GET", fmt.Sprintf("%s/devpull?from=%s&offset=%d", gatewayapi.PathTelemetry, spans[0].Seg, half), nil, "")
	rs := spansOf(rest)
	if len(rs) != len(spans) || rs[0].Off != half || string(rest.Body) != string(all.Body[half:]) {
		t.Errorf("device pull from %s at %d = %+v; want the rest of the device", spans[0].Seg, half, rs)
	}
	if r := g.do(t, "GET", gatewayapi.PathTelemetry+"/nosuchdevice", nil, ""); r.Status != http.StatusOK || len(r.Body) != 0 || r.Header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("device pull of a device with no segments: HTTP %d %q %q; want 200 and no bytes", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	for _, c := range []struct {
		path string
		want int
	}{
		{gatewayapi.PathTelemetry + "/devpull?from=seg-999999", http.StatusNotFound},
		{gatewayapi.PathTelemetry + "/devpull?offset=5", http.StatusBadRequest},
		{gatewayapi.PathTelemetry + "/devpull?from=" + spans[0].Seg + "&offset=-1", http.StatusBadRequest},
	} {
		if r := g.do(t, "GET", c.path, nil, ""); r.Status != c.want {
			t.Errorf("GET %s: HTTP %d; want %d", c.path, r.Status, c.want)
		}
	}
}

// The upstream pool keeps one session per ticket and client, at most
// gateway.upstream_sessions_max: one more ticket evicts the least
// recently used; sessions idle past the idle time are closed.
func TestGatewayUpstreamPoolBounds(t *testing.T) {
	rt := startRootTask(t, binaries(t, "roottask"), false)
	g := startGateway(t, gateway.Config{Hive9P: rt.NinePAddr, Token: gwToken, UpstreamIdle: time.Hour})
	issued := uint64(time.Now().UnixMilli())
	for i := range generated.GatewayUpstreamSessionsMax + 1 {
		tok := mintTicket(t, ticket.Claims{Role: ticket.RoleQueen, IssuedAtMs: issued + uint64(i)})
		if r := g.do(t, "GET", gatewayapi.PathLs+q("/proc"), map[string]string{gatewayapi.HeaderTicket: tok}, ""); r.Status != http.StatusOK {
			t.Fatalf("ticket %d: HTTP %d %s", i, r.Status, r.Body)
		}
	}
	var st gateway.StatusBody
	jsonBody(t, g.do(t, "GET", gatewayapi.PathStatus, nil, ""), &st)
	if st.UpstreamSessions != generated.GatewayUpstreamSessionsMax || st.Counters["cohesix_gateway_upstream_evictions_total"] < 1 {
		t.Errorf("after %d tickets: %d sessions, %v evictions; want %d and at least 1", generated.GatewayUpstreamSessionsMax+1, st.UpstreamSessions, st.Counters["cohesix_gateway_upstream_evictions_total"], generated.GatewayUpstreamSessionsMax)
	}

	idle := startGateway(t, gateway.Config{Hive9P: rt.NinePAddr, Token: gwToken, UpstreamIdle: 20 * time.Millisecond})
	if r := idle.do(t, "GET", gatewayapi.PathLs+q("/proc"), nil, ""); r.Status != http.StatusOK {
		t.Fatalf("ls: HTTP %d", r.Status)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		jsonBody(t, idle.do(t, "GET", gatewayapi.PathStatus, nil, ""), &st)
		if st.UpstreamSessions == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("an idle session was never closed: %d sessions", st.UpstreamSessions)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tail -f of the queen's log keeps every line once and in order after
// the log's ring is full and drops its oldest lines (offsets shift).
func TestGatewayTailFollowRing(t *testing.T) {
	rt := startRootTask(t, binaries(t, "roottask"), false)
	g := startGateway(t, gateway.Config{Hive9P: rt.NinePAddr, Token: gwToken})
	req, _ := http.NewRequest("GET", g.URL+gatewayapi.PathTail+q(generated.ClientPathsLog, "follow", "true"), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := sseEvents(resp.Body)
	n := generated.QueenLogRingLines + generated.QueenLogRingLines/4
	go func() { // not the test goroutine: no t.Fatal here
		for i := range n {
			body := fmt.Sprintf(`{"path":"/log/queen.log","line":"ring-%04d"}`, i)
			r, _ := http.NewRequest("POST", g.URL+gatewayapi.PathEcho, strings.NewReader(body))
			r.Header.Set("Authorization", "Bearer "+gwToken)
			r.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Errorf("echo %d: %v", i, err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("echo %d: HTTP %d", i, resp.StatusCode)
				return
			}
		}
	}()
	got, _ := collectSSE(t, events, "ring-", n)
	for i, l := range got {
		if want := fmt.Sprintf("ring-%04d", i); l != want {
			t.Fatalf("event %d is %q; want %q (lines lost or repeated across the ring's turn)", i, l, want)
		}
	}
}
