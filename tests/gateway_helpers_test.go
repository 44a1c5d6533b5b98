package tests

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cohesix/cohesix/internal/gateway"
)

// lockedBuffer is a log sink the gateway writes from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// countingProxy forwards TCP to a target and counts the bytes the
// gateway sends upstream: a request refused as bad input moves none.
type countingProxy struct {
	ln     net.Listener
	target string
	sent   atomic.Int64
}

func startCountingProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *countingProxy) serve(c net.Conn) {
	defer c.Close()
	u, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer u.Close()
	go func() { _, _ = io.Copy(c, u); c.Close() }()
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			p.sent.Add(int64(n))
			if _, werr := u.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// gw is a gateway under test, in process, on a loopback port.
type gw struct {
	URL      string
	Log      *lockedBuffer
	srv      *gateway.Server
	contract *gateway.Contract
}

var (
	contractOnce sync.Once
	contract     *gateway.Contract
	contractErr  error
)

func startGateway(t *testing.T, cfg gateway.Config) *gw {
	t.Helper()
	contractOnce.Do(func() { contract, contractErr = gateway.LoadContract() })
	if contractErr != nil {
		t.Fatal(contractErr)
	}
	logs := &lockedBuffer{}
	cfg.Log = logs
	if cfg.TailPoll == 0 {
		cfg.TailPoll = 50 * time.Millisecond
	}
	s, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		s.Close()
		if t.Failed() {
			t.Logf("gateway log:\n%s", logs.String())
		}
	})
	return &gw{URL: "http://" + ln.Addr().String(), Log: logs, srv: s, contract: contract}
}

// reply is one answer of the gateway.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends one request and validates the answer against the OpenAPI
// document: every response a test receives is checked.
func (g *gw) do(t *testing.T, method, path string, header map[string]string, body string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, g.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	g.validate(t, req, resp.StatusCode, resp.Header, b)
	return reply{resp.StatusCode, resp.Header, b}
}

// validate checks one response against the contract.
func (g *gw) validate(t *testing.T, req *http.Request, status int, h http.Header, body []byte) {
	t.Helper()
	vreq := req.Clone(context.Background())
	vreq.Body = http.NoBody
	if err := g.contract.ValidateResponse(context.Background(), vreq, status, h, body); err != nil {
		t.Errorf("%s %s → %d does not match the OpenAPI document: %v\nbody: %s", req.Method, req.URL.RequestURI(), status, err, body)
	}
}

// stopRootTask ends a root task (SIGINT) and waits for it.
func stopRootTask(t *testing.T, rt *rootTask) {
	t.Helper()
	_ = rt.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _, _ = rt.cmd.Process.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = rt.cmd.Process.Kill()
		<-done
	}
}
