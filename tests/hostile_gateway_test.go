package tests

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/gateway"
	"github.com/cohesix/cohesix/internal/gatewayapi"
	"github.com/cohesix/cohesix/internal/ticket"
)

// A telemetry flood that ignores Retry-After (floodWorkers clients each
// pushing again floodPause after a 429, over more connections than the
// gateway has push slots and waiting room) does not shut an operator
// out: while it runs, ls /proc answers OK and a device pull brings back,
// byte for byte, what the hive holds. The flood's early retries are held
// until their Retry-After (P112) and counted in /metrics; no flood
// request gets anything but 200 or 429; and once the flood's clients
// leave, the connections its held answers kept are let go.
func TestHostilePushFloodLeavesOperatorServed(t *testing.T) {
	rt := startRootTask(t, binaries(t, "roottask"), false)
	g := startGateway(t, gateway.Config{Hive9P: rt.NinePAddr, Token: gwToken})
	op, flood := pooledClient(t, g.URL, gwToken, 1), pooledClient(t, g.URL, gwToken, floodWorkers)
	// A gateway that stops answering fails the test, not hangs it.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	body := newTelemetryRound(t).deviceFull()
	pushed, err := op.TelemetryPush(ctx, "operator", "application/x-ndjson", bytes.NewReader(body))
	if err != nil || len(pushed.Segments) == 0 {
		t.Fatalf("operator push before the flood: %+v, %v", pushed, err)
	}

	// The operator's device and flood-0... stay within max_devices.
	f := startPushFlood(t, flood, generated.ClientPoliciesCohTelemetryMaxDevices-1)
	ended := false
	endFlood := func() {
		if !ended {
			ended = true
			if err := f.end(); err != nil {
				t.Errorf("a flood push got neither 200 nor 429: %v", err)
			}
		}
	}
	defer endFlood()
	// The flood is over capacity once some of its retries are held.
	deadline := time.Now().Add(time.Minute)
	for f.overflow.Load() == 0 || gatewayMetric(t, g, "cohesix_gateway_retry_early_total") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after a minute of flood: %d 429s, %d early retries held; want both", f.overflow.Load(), gatewayMetric(t, g, "cohesix_gateway_retry_early_total"))
		}
		time.Sleep(20 * time.Millisecond)
	}

	for i := range 20 {
		r, err := op.Ls(ctx, "/proc")
		if err != nil || r.Status != gatewayapi.StatusOK {
			t.Fatalf("operator ls /proc %d under the flood: %+v, %v", i, r, err)
		}
	}
	spans, data, err := op.TelemetryReadDevice(ctx, "operator", pushed.Segments[0], 0, generated.ClientPoliciesCohTelemetryMaxTotalBytesPerDevice)
	if err != nil || len(spans) != len(pushed.Segments) {
		t.Fatalf("operator device pull under the flood: %d spans for %d segments, %v", len(spans), len(pushed.Segments), err)
	}
	pl, err := rt.nine(t, ticket.RoleQueen, "").Pipeline()
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	for i, sp := range spans {
		want, _, err := pl.ReadFile(generated.ClientPoliciesCohTelemetryRoot+"/operator/seg/"+sp.Seg, 0, generated.ClientPoliciesCohTelemetryMaxBytesPerSegment)
		if err != nil || sp.Seg != pushed.Segments[i] || !bytes.Equal(data[:sp.Len], want) {
			t.Fatalf("segment %s pulled under the flood (%d bytes) is not what the hive holds (%d bytes, %v)", sp.Seg, sp.Len, len(want), err)
		}
		data = data[sp.Len:]
	}

	// The flood's clients go away, most of them while their 429 is held:
	// the gateway lets every one of their connections go (no descriptor
	// is kept by a held answer), and only the operator's and this test's
	// own stay.
	endFlood()
	flood.CloseIdleConnections()
	for open := gatewayMetric(t, g, "cohesix_gateway_connections"); open > 3; open = gatewayMetric(t, g, "cohesix_gateway_connections") {
		if time.Now().After(deadline) {
			t.Fatalf("%d gateway connections open after the flood's clients left; want at most 3 (the operator's and this test's)", open)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// gatewayMetric reads the value of a metric without labels from the
// gateway's /metrics.
func gatewayMetric(t *testing.T, g *gw, name string) int {
	t.Helper()
	r := g.do(t, http.MethodGet, gatewayapi.PathMetrics, nil, "")
	sc := bufio.NewScanner(bytes.NewReader(r.Body))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metrics line %q: %v", sc.Text(), err)
			}
			return int(n)
		}
	}
	t.Fatalf("no %s in /metrics (HTTP %d)", name, r.Status)
	return 0
}
