package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/cohesix/cohesix/internal/gatewayapi"
	"github.com/cohesix/cohesix/internal/gpu"
)

// fakeGateway serves /v1/fs/ls, /v1/fs/read and /v1/fs/echo from a map
// and records each request's auth and ticket headers.
type fakeGateway struct {
	mu      sync.Mutex
	files   map[string]string
	auth    []string
	tickets []string
	echoes  []gatewayapi.EchoRequest
}

func newFakeGateway(t *testing.T) (*fakeGateway, string) {
	info := gpu.RenderInfo(gpu.Info{ID: "GPU-0", Name: "Fake GPU", MemoryMB: 1024, SMCount: 8, DriverVersion: "1.0", RuntimeVersion: "2.0"})
	g := &fakeGateway{files: map[string]string{"/gpu/GPU-0/info": string(info)}}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return g, srv.URL
}

func (g *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.auth = append(g.auth, r.Header.Get("Authorization"))
	g.tickets = append(g.tickets, r.Header.Get(gatewayapi.HeaderTicket))
	p := r.URL.Query().Get("path")
	refusal := gatewayapi.Response{Status: "ERR", Path: p, Lines: []string{}, Ack: "ERR CAT reason=policy detail=invalid-path path=" + p + " error=invalid path"}
	switch r.URL.Path {
	case gatewayapi.PathLs:
		if p != "/gpu" {
			json.NewEncoder(w).Encode(refusal)
			return
		}
		json.NewEncoder(w).Encode(gatewayapi.Response{Status: "OK", Verb: "LS", Path: p, End: true, Lines: []string{"GPU-0", "models", "telemetry"}, Ack: "OK LS path=/gpu entries=3"})
	case gatewayapi.PathRead:
		body, ok := g.files[p]
		if !ok {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(refusal)
			return
		}
		off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set(gatewayapi.HeaderSize, strconv.Itoa(len(body)))
		w.Write([]byte(body[min(off, len(body)):]))
	case gatewayapi.PathEcho:
		var e gatewayapi.EchoRequest
		json.NewDecoder(r.Body).Decode(&e)
		g.echoes = append(g.echoes, e)
		json.NewEncoder(w).Encode(gatewayapi.Response{Status: "ERR", Verb: "ECHO", Path: e.Path, Lines: []string{}, Ack: "ERR ECHO reason=policy detail=denied path=" + e.Path + " error=EPERM"})
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func runCoh(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errw bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errw)
	return out.String(), errw.String(), code
}

func clearRestEnv(t *testing.T) {
	for _, list := range [][]string{gatewayapi.TokenEnv, gatewayapi.URLEnv, gatewayapi.TicketEnv, {"COH_TICKET"}} {
		for _, k := range list {
			t.Setenv(k, "")
		}
	}
}

// TestRestGPUList: coh gpu list over --rest-url prints what it prints over
// Secure9P for the same namespace, and a hive refusal gives the 9P errno's
// words and exit 1.
func TestRestGPUList(t *testing.T) {
	clearRestEnv(t)
	g, url := newFakeGateway(t)
	out, errw, code := runCoh(t, "--rest-url", url, "gpu", "list")
	want := `GPU-0 name="Fake GPU" memory_mb=1024 sm_count=8 driver=1.0 runtime=2.0` + "\n"
	if code != exitOK || out != want {
		t.Fatalf("code %d out %q stderr %q", code, out, errw)
	}
	_, errw, code = runCoh(t, "--rest-url", url, "gpu", "status", "--gpu", "GPU-9")
	if code != exitFailed || errw != "ERR CAT path=/gpu/GPU-9/info error=no such file or directory\n" {
		t.Fatalf("code %d stderr %q", code, errw)
	}
	_, errw, code = runCoh(t, "--rest-url", url, "--ticket", "cohesix-ticket-x", "gpu", "lease", "--gpu", "GPU-0", "--mem-mb", "1", "--streams", "1", "--ttl-s", "1")
	if code != exitFailed || errw != "ERR ECHO path=/queen/ctl error=operation not permitted\n" {
		t.Fatalf("code %d stderr %q", code, errw)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if e := g.echoes[0]; e.Path != "/queen/ctl" || strings.HasSuffix(e.Line, "\n") || !strings.Contains(e.Line, `"spawn":"gpu"`) {
		t.Fatalf("lease echo %+v", e)
	}
	if last := g.tickets[len(g.tickets)-1]; last != "cohesix-ticket-x" {
		t.Fatalf("ticket header %q", last)
	}
}

// TestRestTokenPrecedence is milestone 25d's check for coh: the token by
// flag, then by each variable of gatewayapi.TokenEnv in turn, reaches the
// gateway on every request; the ticket from gatewayapi.TicketEnv too.
func TestRestTokenPrecedence(t *testing.T) {
	clearRestEnv(t)
	g, url := newFakeGateway(t)
	type tc struct{ name, flag, env string }
	cases := []tc{{name: "flag", flag: "tok-flag"}}
	for _, k := range gatewayapi.TokenEnv {
		cases = append(cases, tc{name: k, env: k})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"gpu", "list"}
			want := c.flag
			if c.flag != "" {
				args = append([]string{"--rest-url", url, "--rest-auth-token", c.flag}, args...)
			} else {
				want = "tok-" + c.env
				t.Setenv(c.env, want)
				t.Setenv(gatewayapi.URLEnv[len(gatewayapi.URLEnv)-1], url)
				t.Setenv(gatewayapi.TicketEnv[0], "cohesix-ticket-env")
			}
			g.mu.Lock()
			g.auth, g.tickets = nil, nil
			g.mu.Unlock()
			if _, errw, code := runCoh(t, args...); code != exitOK {
				t.Fatalf("code %d stderr %q", code, errw)
			}
			g.mu.Lock()
			defer g.mu.Unlock()
			if len(g.auth) < 2 {
				t.Fatalf("only %d requests", len(g.auth))
			}
			for i, a := range g.auth {
				if a != "Bearer "+want {
					t.Fatalf("request %d auth %q, want %q", i, a, "Bearer "+want)
				}
				if c.env != "" && g.tickets[i] != "cohesix-ticket-env" {
					t.Fatalf("request %d ticket %q", i, g.tickets[i])
				}
			}
		})
	}
}

// TestMountLock: a REST mount of one URL is exclusive on this host until
// its holder releases it; another URL has its own lock.
func TestMountLock(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	release, err := lockMount("http://127.0.0.1:8080")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockMount("http://127.0.0.1:8080"); !errors.Is(err, errMountLocked) {
		t.Fatalf("second lock of the same URL: %v", err)
	}
	other, err := lockMount("http://127.0.0.1:8081")
	if err != nil {
		t.Fatalf("another URL: %v", err)
	}
	other()
	release()
	again, err := lockMount("http://127.0.0.1:8080")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	again()
}
