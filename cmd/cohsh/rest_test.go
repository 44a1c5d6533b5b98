package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/gatewayapi"
	"github.com/cohesix/cohesix/internal/nineclient"
	"github.com/cohesix/cohesix/internal/ticket"
	"github.com/google/go-cmp/cmp"
)

// fakeGateway serves the gateway's wire from a small in-memory tree and
// records the auth and ticket headers of every request.
type fakeGateway struct {
	mu      sync.Mutex
	files   map[string][]string // path → lines
	dirs    map[string][]string // path → entries
	refuse  map[string]bool     // tickets the hive refuses
	auth    []string            // Authorization of each request
	tickets []string            // X-Cohesix-Ticket of each request
	echoes  []gatewayapi.EchoRequest
}

func newFakeGateway(t *testing.T) (*fakeGateway, *httptest.Server) {
	g := &fakeGateway{
		files: map[string][]string{
			"/proc/boot":     {"manifest.sha256=" + generated.ManifestSHA256},
			"/log/queen.log": {"boot ok", "queen up"},
		},
		dirs:   map[string][]string{"/": {"log", "proc", "queen"}, "/proc": {"boot"}},
		refuse: map[string]bool{},
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return g, srv
}

func (g *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.auth = append(g.auth, r.Header.Get("Authorization"))
	g.tickets = append(g.tickets, r.Header.Get(gatewayapi.HeaderTicket))
	p := r.URL.Query().Get("path")
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	switch r.URL.Path {
	case gatewayapi.PathStatus:
		enc.Encode(map[string]any{"ready": true})
	case gatewayapi.PathStat:
		if g.refuse[r.Header.Get(gatewayapi.HeaderTicket)] {
			enc.Encode(gatewayapi.Response{Status: "ERR", Verb: "LS", Path: p, Ack: "ERR LS reason=policy detail=denied path=/ error=EPERM", Lines: []string{}})
			return
		}
		enc.Encode(gatewayapi.Stat{Path: p, Kind: gatewayapi.KindDir})
	case gatewayapi.PathLs:
		enc.Encode(g.answer("LS", p, g.dirs[p], "entries"))
	case gatewayapi.PathCat:
		enc.Encode(g.answer("CAT", p, g.files[p], "data"))
	case gatewayapi.PathTail:
		enc.Encode(g.answer("TAIL", p, g.files[p], ""))
	case gatewayapi.PathEcho:
		var e gatewayapi.EchoRequest
		json.NewDecoder(r.Body).Decode(&e)
		g.echoes = append(g.echoes, e)
		if e.Line == "refuse-me" {
			enc.Encode(gatewayapi.Response{Status: "ERR", Verb: "ECHO", Path: e.Path, Lines: []string{}, Ack: "ERR ECHO reason=policy detail=invalid-payload path=" + e.Path + " error=invalid payload"})
			return
		}
		g.files[e.Path] = append(g.files[e.Path], e.Line)
		enc.Encode(gatewayapi.Response{Status: "OK", Verb: "ECHO", Path: e.Path, End: true, Lines: []string{}, Ack: "OK ECHO path=" + e.Path + " bytes=" + itoa(len(e.Line))})
	default:
		w.WriteHeader(http.StatusNotFound)
		enc.Encode(gatewayapi.Problem{Code: gatewayapi.CodeNotFound, Error: "no route"})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func (g *fakeGateway) answer(verb, p string, lines []string, key string) gatewayapi.Response {
	if lines == nil {
		return gatewayapi.Response{Status: "ERR", Verb: verb, Path: p, Lines: []string{}, Ack: "ERR " + verb + " reason=policy detail=invalid-path path=" + p + " error=invalid path"}
	}
	ack := "OK " + verb + " path=" + p
	switch key {
	case "entries":
		ack += " entries=" + itoa(len(lines))
	case "data":
		ack += " data=" + lines[0]
	}
	return gatewayapi.Response{Status: "OK", Verb: verb, Path: p, End: true, Lines: lines, Ack: ack}
}

func TestRestTransportTranscript(t *testing.T) {
	g, srv := newFakeGateway(t)
	script := strings.Join([]string{
		"ls /proc",
		"attach queen",
		"ls /proc",
		"cat /proc/boot",
		"cat /nope",
		"cat /log/queen.log",
		"echo hello > /log/queen.log",
		"echo refuse-me > /queen/ctl",
		"log",
		"LOG",
		"SPAWN {\"spawn\":\"heartbeat\",\"ticks\":5}",
		"KILL worker-1",
		"spawn heartbeat ticks=3",
		"frobnicate now",
		"TAIL",
		"BI",
		"PING",
		"quit",
	}, "\n")
	out, errw, code := runCohsh(t, script, "--transport", "rest", "--rest-url", srv.URL)
	want := strings.Join([]string{
		"coh> ERR LS reason=policy detail=unauthenticated",
		"coh> OK ATTACH role=queen",
		"coh> OK LS path=/proc entries=1", "boot", "END",
		"coh> OK CAT path=/proc/boot data=manifest.sha256=" + generated.ManifestSHA256, "manifest.sha256=" + generated.ManifestSHA256, "END",
		"coh> ERR CAT reason=policy detail=invalid-path path=/nope error=invalid path",
		"coh> OK CAT path=/log/queen.log data=boot ok", "END",
		"coh> OK ECHO path=/log/queen.log bytes=5",
		"coh> ERR ECHO reason=policy detail=invalid-payload path=/queen/ctl error=invalid payload",
		"coh> OK TAIL path=/log/queen.log", "boot ok", "queen up", "hello", "END",
		"coh> OK LOG", "boot ok", "queen up", "hello", "END",
		`coh> OK SPAWN payload={"spawn":"heartbeat","ticks":5}`,
		"coh> OK KILL id=worker-1",
		"coh> OK ECHO path=/queen/ctl bytes=" + itoa(len(`{"spawn":"heartbeat","ticks":3}`)),
		"coh> ERR PARSE reason=policy detail=unsupported console command",
		"coh> ERR PARSE reason=policy detail=missing required argument: path",
		"coh> ERR BOOTINFO reason=policy detail=unavailable",
		"coh> PONG", "OK PING reply=pong",
		"coh> OK QUIT", "closing session", "",
	}, "\n")
	// The interactive banner comes first.
	out = out[strings.Index(out, "coh> "):]
	if d := cmp.Diff(want, out); d != "" || code != exitOK {
		t.Fatalf("code %d stderr %q transcript (-want +got):\n%s", code, errw, d)
	}
	if got := g.echoes[len(g.echoes)-1]; got.Path != "/queen/ctl" || got.Line != `{"spawn":"heartbeat","ticks":3}` {
		t.Fatalf("spawn went to %+v", got)
	}
}

// TestRestAttachTicket: the attach ticket rides on every later request;
// a ticket the hive refuses and an expired one get the console's words.
func TestRestAttachTicket(t *testing.T) {
	g, srv := newFakeGateway(t)
	now := time.Now()
	good, err := nineclient.Mint(ticket.RoleWorkerHeartbeat, "worker-1", now)
	if err != nil {
		t.Fatal(err)
	}
	g.refuse["cohesix-ticket-bad"] = true
	ttl := uint64(1)
	expired, err := ticket.Mint(ticket.Claims{Role: ticket.RoleWorkerHeartbeat, Subject: "worker-1", TTLs: &ttl}, "not-the-secret")
	if err != nil {
		t.Fatal(err)
	}
	g.refuse[expired] = true
	out, _, _ := runCohsh(t, "attach worker "+expired+"\nattach worker "+good+"\ncat /proc/boot\nATTACH worker-gpu "+good+"\n", "--transport", "rest", "--rest-url", srv.URL)
	for _, w := range []string{"coh> ERR ATTACH reason=quota detail=expired", "coh> OK ATTACH role=worker-heartbeat", "OK CAT path=/proc/boot"} {
		if !strings.Contains(out, w) {
			t.Fatalf("missing %q in\n%s", w, out)
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if last := g.tickets[len(g.tickets)-1]; last != good {
		t.Fatalf("ticket header after attach = %q", last)
	}
}

// TestRestTokenPrecedence is milestone 25d's check for cohsh: the token
// from the flag, then from each variable of gatewayapi.TokenEnv in turn,
// reaches the gateway as the request-auth header.
func TestRestTokenPrecedence(t *testing.T) {
	for _, k := range append(gatewayapi.TokenEnv, gatewayapi.URLEnv...) {
		t.Setenv(k, "")
	}
	g, srv := newFakeGateway(t)
	cases := []struct{ name, flag, env string }{{name: "flag", flag: "tok-flag"}}
	for _, k := range gatewayapi.TokenEnv {
		cases = append(cases, struct{ name, flag, env string }{name: k, env: k})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"--transport", "rest", "PING"}
			want := "tok-flag"
			if c.flag != "" {
				args = append([]string{"--rest-auth-token", c.flag, "--rest-url", srv.URL}, args...)
			} else {
				want = "tok-" + c.env
				t.Setenv(c.env, want)
				t.Setenv(gatewayapi.URLEnv[0], srv.URL) // the URL from the environment too
			}
			g.mu.Lock()
			g.auth = nil
			g.mu.Unlock()
			out, errw, code := runCohsh(t, "", args...)
			if code != exitOK || !strings.Contains(out, "OK PING") {
				t.Fatalf("code %d out %q err %q", code, out, errw)
			}
			g.mu.Lock()
			defer g.mu.Unlock()
			if len(g.auth) != 1 || g.auth[0] != "Bearer "+want {
				t.Fatalf("auth headers %q, want one %q", g.auth, "Bearer "+want)
			}
		})
	}
}

func TestRestTransportNeedsURL(t *testing.T) {
	for _, k := range gatewayapi.URLEnv {
		t.Setenv(k, "")
	}
	_, errw, code := runCohsh(t, "", "--transport", "rest", "PING")
	if code != exitUnreachable || !strings.Contains(errw, "--rest-url") {
		t.Fatalf("code %d stderr %q", code, errw)
	}
	_, errw, code = runCohsh(t, "", "--rest-url", "http://127.0.0.1:1", "PING")
	if code != exitUsage || !strings.Contains(errw, "--transport rest") {
		t.Fatalf("code %d stderr %q", code, errw)
	}
}
