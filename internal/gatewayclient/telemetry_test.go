package gatewayclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/gateway/teleio"
	"github.com/cohesix/cohesix/internal/gatewayapi"
	"github.com/cohesix/cohesix/internal/hive"
	"github.com/cohesix/cohesix/internal/nineclient"
	"github.com/cohesix/cohesix/internal/transport/secure9p"
)

const testToken = "telemetry-test-token"

// teleGateway serves the telemetry routes the way hive-gateway does,
// with teleio on an in-process hive, so the client is tested against the
// real work on the far side of the wire.
func teleGateway(t *testing.T) *httptest.Server {
	t.Helper()
	h, err := hive.New(hive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- secure9p.NewServerOn(h.Door(), secure9p.DefaultConfig()).Serve(ctx, l) }()
	t.Cleanup(func() { cancel(); <-done; h.Close() })
	tok, err := nineclient.MintQueen(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cl, err := nineclient.Dial(l.Addr().String(), tok, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := cl.Pipeline()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pl.Close(); cl.Close() })
	root := generated.ClientPoliciesCohTelemetryRoot
	mux := http.NewServeMux()
	problem := func(w http.ResponseWriter, code int, err error) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(gatewayapi.Problem{Code: gatewayapi.CodeBadRequest, Error: err.Error()})
	}
	mux.HandleFunc("POST /v1/telemetry/{device}", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			problem(w, http.StatusUnauthorized, errors.New("no token"))
			return
		}
		mime, err := teleio.Mime(r.Header.Get("Content-Type"))
		if err != nil {
			problem(w, http.StatusBadRequest, err)
			return
		}
		res, err := teleio.Push(pl, root, r.PathValue("device"), mime, r.Body)
		if err != nil {
			problem(w, http.StatusBadRequest, err)
			return
		}
		json.NewEncoder(w).Encode(res)
	})
	mux.HandleFunc("GET /v1/telemetry", func(w http.ResponseWriter, r *http.Request) {
		s, err := teleio.List(cl, root)
		if err != nil {
			problem(w, http.StatusInternalServerError, err)
			return
		}
		json.NewEncoder(w).Encode(s)
	})
	mux.HandleFunc("GET /v1/telemetry/{device}/{seg}", func(w http.ResponseWriter, r *http.Request) {
		off, _ := strconv.ParseInt(r.URL.Query().Get("offset"), 10, 64)
		b, size, err := teleio.ReadSegment(pl, root, r.PathValue("device"), r.PathValue("seg"), off)
		if errors.Is(err, teleio.ErrNotFound) {
			problem(w, http.StatusNotFound, err)
			return
		}
		if err != nil {
			problem(w, http.StatusBadRequest, err)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set(gatewayapi.HeaderSize, strconv.FormatInt(size, 10))
		w.Header().Set(gatewayapi.HeaderOffset, strconv.FormatInt(off, 10))
		w.Write(b)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestTelemetryPushListRead: a body pushed through the client comes back,
// segment by segment, from the listing and reads from a cursor.
func TestTelemetryPushListRead(t *testing.T) {
	srv := teleGateway(t)
	c, err := New(srv.URL, Options{Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var body strings.Builder
	for i := 0; body.Len() < 70000; i++ {
		body.WriteString(`{"gpu":0,"tokens":` + strconv.Itoa(i) + "}\n")
	}
	res, err := c.TelemetryPush(ctx, "edge-1", "application/x-ndjson", strings.NewReader(body.String()))
	if err != nil || len(res.Segments) < 3 || res.Device != "edge-1" {
		t.Fatalf("TelemetryPush = %+v, %v; want three or more segments", res, err)
	}
	segs, err := c.TelemetrySegments(ctx)
	if err != nil || len(segs.Segments) != len(res.Segments) {
		t.Fatalf("TelemetrySegments = %+v, %v", segs, err)
	}
	var total int64
	for i, s := range segs.Segments {
		if s.Device != "edge-1" || s.Seg != res.Segments[i] {
			t.Fatalf("segment %d = %+v; want %s", i, s, res.Segments[i])
		}
		var whole, rest bytes.Buffer
		size, n, err := c.TelemetryRead(ctx, s.Device, s.Seg, 0, &whole)
		if err != nil || size != s.Size || n != size {
			t.Fatalf("TelemetryRead %s = %d, %d, %v; want %d bytes", s.Seg, size, n, err, s.Size)
		}
		half := size / 2
		if _, n, err := c.TelemetryRead(ctx, s.Device, s.Seg, half, &rest); err != nil || n != size-half || !bytes.Equal(rest.Bytes(), whole.Bytes()[half:]) {
			t.Fatalf("TelemetryRead %s from %d = %d, %v; want the rest", s.Seg, half, n, err)
		}
		total += size
	}
	if total != res.Bytes {
		t.Fatalf("segments hold %d bytes; push said %d", total, res.Bytes)
	}
}

// TestTelemetryErrors: the gateway's refusals come back as ProblemErrors
// with their HTTP status; a name that is not one path segment is refused
// before a request is made.
func TestTelemetryErrors(t *testing.T) {
	srv := teleGateway(t)
	ctx := context.Background()
	anon, _ := New(srv.URL, Options{})
	if _, err := anon.TelemetryPush(ctx, "edge-1", "text/plain", strings.NewReader("x\n")); !IsStatus(err, http.StatusUnauthorized) {
		t.Errorf("push without a token = %v; want 401", err)
	}
	c, _ := New(srv.URL, Options{Token: testToken})
	if _, err := c.TelemetryPush(ctx, "edge-1", "image/png", strings.NewReader("x\n")); !IsStatus(err, http.StatusBadRequest) {
		t.Errorf("push of image/png = %v; want 400", err)
	}
	if _, _, err := c.TelemetryRead(ctx, "edge-1", "seg-424242", 0, io.Discard); !IsStatus(err, http.StatusNotFound) {
		t.Errorf("read of an unknown segment = %v; want 404", err)
	}
	for _, name := range []string{"", "..", "a/b"} {
		if _, err := c.TelemetryPush(ctx, name, "text/plain", strings.NewReader("x\n")); err == nil || errors.As(err, new(*ProblemError)) {
			t.Errorf("push to device %q = %v; want a local refusal", name, err)
		}
	}
}
