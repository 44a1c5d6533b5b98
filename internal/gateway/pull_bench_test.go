package gateway

import (
	"bytes"
	"context"
	"net"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/gatewayclient"
	"github.com/cohesix/cohesix/internal/hive"
	"github.com/cohesix/cohesix/internal/transport/secure9p"
)

// BenchmarkTelemetryPullInProcess pulls one 32 KiB segment (segment) or
// every segment of the device (device) per iteration through an in-process gateway in front of an in-process
// hive, so a CPU profile (-cpuprofile) shows where a pull's cost goes
// on both sides of the HTTP wire and in the 9P exchange.
func BenchmarkTelemetryPullInProcess(b *testing.B) {
	ctx := context.Background()
	c := inProcessGateway(b, gatewayclient.Options{Token: "bench-token"})
	var body strings.Builder
	for i := 0; body.Len() < 100000; i++ {
		body.WriteString(`{"gpu":0,"util":0.5,"tokens":` + strconv.Itoa(i) + "}\n")
	}
	res, err := c.TelemetryPush(ctx, "bench", "application/x-ndjson", strings.NewReader(body.String()))
	if err != nil || len(res.Segments) == 0 {
		b.Fatalf("push = %+v, %v", res, err)
	}
	seg := res.Segments[0]
	b.Run("segment", func(b *testing.B) {
		var buf bytes.Buffer
		b.ReportAllocs()
		for range b.N {
			buf.Reset()
			_, n, err := c.TelemetryRead(ctx, "bench", seg, 0, &buf)
			if err != nil || n == 0 {
				b.Fatalf("read = %d, %v", n, err)
			}
			b.SetBytes(n)
		}
	})
	// The device read coh telemetry pull --rest-url makes: every segment
	// of the device in one request.
	b.Run("device", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			_, data, err := c.TelemetryReadDevice(ctx, "bench", seg, 0, generated.ClientPoliciesCohTelemetryMaxTotalBytesPerDevice)
			if err != nil || len(data) == 0 {
				b.Fatalf("device read = %d bytes, %v", len(data), err)
			}
			b.SetBytes(int64(len(data)))
		}
	})
}

// BenchmarkCatInProcess is one GET /v1/fs/cat of /proc/lifecycle/state
// per iteration through an in-process gateway in front of an in-process
// hive (the cat figure's request), for a CPU or allocation profile of
// the gateway's per-request work.
func BenchmarkCatInProcess(b *testing.B) {
	ctx := context.Background()
	c := inProcessGateway(b, gatewayclient.Options{})
	b.ReportAllocs()
	for b.Loop() {
		r, err := c.Cat(ctx, "/proc/lifecycle/state", 0)
		if err != nil || r.Status != "OK" {
			b.Fatalf("cat = %+v, %v", r, err)
		}
	}
}

// inProcessGateway starts a hive, its Secure9P server on loopback and a
// gateway in front of it, all in this process, and returns a client of
// the gateway with o; b's cleanup stops them.
func inProcessGateway(b *testing.B, o gatewayclient.Options) *gatewayclient.Client {
	h, err := hive.New(hive.Options{})
	if err != nil {
		b.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- secure9p.NewServerOn(h.Door(), secure9p.DefaultConfig()).Serve(ctx, l) }()
	b.Cleanup(func() { cancel(); <-done; h.Close() })
	s, err := New(Config{Hive9P: l.Addr().String(), Token: "bench-token"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	ts := httptest.NewServer(s.Handler())
	b.Cleanup(ts.Close)
	c, err := gatewayclient.New(ts.URL, o)
	if err != nil {
		b.Fatal(err)
	}
	return c
}
