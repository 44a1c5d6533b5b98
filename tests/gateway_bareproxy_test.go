package tests

import (
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/gateway/teleio"
	"github.com/cohesix/cohesix/internal/gatewayapi"
	"github.com/cohesix/cohesix/internal/nineclient"
)

// bareProxyEnv makes the test binary serve bareProxy in front of the hive
// at its value (a Secure9P address) instead of running tests.
const bareProxyEnv = "COHESIX_BARE_PULL_PROXY"

// bareProxy is P7's proxy ceiling: GET /v1/telemetry/{device}?from=&offset=
// answered as hive-gateway answers a device pull (teleio.ReadDevice on one
// Secure9P Pipeline, the spans in a header, the bytes with a
// Content-Length) and nothing else: no token, no OpenAPI check, no broker,
// no session pool, no log line, no metrics. Run in its own process, it is
// what any HTTP proxy in front of the hive pays for a pull on this host.
func bareProxy(hive string) (net.Listener, error) {
	// The gateway's collector settings (P111), so the two differ only in
	// what the gateway does per request.
	debug.SetGCPercent(generated.GatewayGcPercent)
	debug.SetMemoryLimit(generated.GatewayMemoryLimitBytes)
	tok, err := nineclient.MintQueen(time.Now())
	if err != nil {
		return nil, err
	}
	c, err := nineclient.Dial(hive, tok, 5*time.Second)
	if err != nil {
		return nil, err
	}
	pl, err := c.Pipeline()
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex // one Pipeline, one pull at a time
	buf := make([]byte, generated.TelemetryIngestMaxTotalBytesPerDevice)
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+gatewayapi.PathTelemetry+"/{device}", func(w http.ResponseWriter, r *http.Request) {
		off, _ := strconv.ParseInt(r.URL.Query().Get("offset"), 10, 64)
		mu.Lock()
		defer mu.Unlock()
		spans, data, err := teleio.ReadDevice(pl, generated.ClientPoliciesCohTelemetryRoot, r.PathValue("device"), r.URL.Query().Get("from"), off, buf)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set(gatewayapi.HeaderSpans, gatewayapi.EncodeSpans(spans))
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		_, _ = w.Write(data)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() { _ = http.Serve(l, mux) }()
	return l, nil
}
