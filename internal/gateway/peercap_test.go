package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
)

// serving starts a gateway built from cfg on a loopback port, closed
// with the test, and returns it with its address.
func serving(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(context.Background(), ln) }()
	return s, ln.Addr().String()
}

// clientFrom is an HTTP client whose connections come from the loopback
// address ip.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

// TestPeerConnectionCap: one address holding gateway.max_conns_per_peer
// idle connections cannot open another (it is closed at once, counted in
// /metrics), an operator at another address is served meanwhile, and the
// address gets its place back when it lets a connection go.
func TestPeerConnectionCap(t *testing.T) {
	s, addr := serving(t, Config{Hive9P: "127.0.0.1:1"})
	flooder := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.1")}}
	held := make([]net.Conn, 0, generated.GatewayMaxConnsPerPeer)
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range generated.GatewayMaxConnsPerPeer {
		c, err := flooder.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	// The gateway counts a connection when it accepts it; wait until it
	// has taken all of them before the one over the cap.
	deadline := time.Now().Add(10 * time.Second)
	for s.conns.Open.Load() < int64(len(held)) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d connections accepted", s.conns.Open.Load(), len(held))
		}
		time.Sleep(time.Millisecond)
	}
	over, err := flooder.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	over.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := over.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
		t.Errorf("a connection over the cap: read = %v; want it closed by the gateway", err)
	}
	over.Close()

	operator := clientFrom("127.0.0.2")
	resp, err := operator.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("operator at another address: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "cohesix_gateway_connections_refused_peer_cap_total 1") {
		t.Errorf("/metrics %d: no refused connection counted:\n%s", resp.StatusCode, grepLines(string(body), "cohesix_gateway_connections"))
	}

	held[0].Close()
	held = held[1:]
	again := clientFrom("127.0.0.1")
	for {
		resp, err := again.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("/healthz after a place came back: %d", resp.StatusCode)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the address never got its place back: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
