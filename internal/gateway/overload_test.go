package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/gateway/broker"
	"github.com/cohesix/cohesix/internal/gatewayapi"
	"github.com/cohesix/cohesix/internal/nineclient"
)

// When the control class is full the gateway answers 429 with
// Retry-After at once instead of queueing without bound; the calls it
// admitted still finish (here with 503: the stub hive never answers).
func TestOverflowIs429WithRetryAfter(t *testing.T) {
	release := make(chan struct{})
	// Dials are counted, not waited on with a WaitGroup: calls queued
	// behind the workers may dial too once released.
	var dials atomic.Int64
	stuck := func(string, string, string, time.Duration) (*nineclient.Client, error) {
		dials.Add(1)
		<-release
		return nil, errors.New("stub hive: refused")
	}
	// The deadline must not expire queued calls while a loaded machine
	// is still sending the rest.
	s, err := New(Config{Hive9P: "127.0.0.1:1", Dial: stuck, Broker: broker.Config{Deadline: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	// Close waits for the calls still running: a failing test must let
	// the stub answer first, or it hangs instead of failing.
	var once sync.Once
	unstick := func() { once.Do(func() { close(release) }) }
	defer func() { unstick(); ts.Close(); s.Close() }()

	// Fill every worker (each blocks in the stub's dial), then the queue.
	workers := s.broker.Config().Workers
	admitted := workers + generated.GatewayBrokerControlQueue
	codes := make(chan int, admitted+1)
	var wg sync.WaitGroup
	get := func() {
		defer wg.Done()
		resp, err := http.Get(ts.URL + gatewayapi.PathLs + "?path=/proc")
		if err != nil {
			t.Error(err)
			codes <- 0
			return
		}
		resp.Body.Close()
		codes <- resp.StatusCode
	}
	for range admitted {
		wg.Add(1)
		go get()
	}
	deadline := time.Now().Add(30 * time.Second)
	for dials.Load() < int64(workers) { // every worker busy; the queue fills behind them
		if time.Now().After(deadline) {
			t.Fatalf("%d workers dialling, want %d", dials.Load(), workers)
		}
		time.Sleep(time.Millisecond)
	}
	for s.broker.Stats().Control.Depth < generated.GatewayBrokerControlQueue {
		if time.Now().After(deadline) {
			t.Fatalf("queue depth %d, want %d", s.broker.Stats().Control.Depth, generated.GatewayBrokerControlQueue)
		}
		time.Sleep(time.Millisecond)
	}
	resp, err := http.Get(ts.URL + gatewayapi.PathLs + "?path=/proc")
	if err != nil {
		t.Fatal(err)
	}
	var p gatewayapi.Problem
	_ = json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || p.Code != gatewayapi.CodeOverloaded {
		t.Errorf("one past the queue: HTTP %d Retry-After %q %+v; want 429 overloaded with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), p)
	}
	unstick()
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusServiceUnavailable {
			t.Errorf("an admitted call answered %d; want 503 from the stub hive", c)
		}
	}
}

// A call the hive does not answer within the broker's deadline is 504,
// not a hung request.
func TestDeadlineIs504(t *testing.T) {
	release := make(chan struct{})
	stuck := func(string, string, string, time.Duration) (*nineclient.Client, error) {
		<-release
		return nil, errors.New("stub hive: refused")
	}
	s, err := New(Config{Hive9P: "127.0.0.1:1", Dial: stuck, Broker: broker.Config{Deadline: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	// Close waits for the calls still running: let the stub answer first.
	defer func() { close(release); ts.Close(); s.Close() }()
	resp, err := http.Get(ts.URL + gatewayapi.PathLs + "?path=/proc")
	if err != nil {
		t.Fatal(err)
	}
	var p gatewayapi.Problem
	_ = json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	if resp.StatusCode != http.StatusGatewayTimeout || p.Code != gatewayapi.CodeDeadline {
		t.Fatalf("GET ls with a stuck hive = %d %+v; want 504 deadline", resp.StatusCode, p)
	}
}

// A push refused with 429 and sent again on the same connection before
// its Retry-After has passed gets its next 429 only once it has: a client
// that ignores Retry-After is answered once per Retry-After, not once per
// round trip. Other connections, and the same one once Retry-After has
// passed, are answered at once.
func TestPushRetriedEarlyWaitsForRetryAfter(t *testing.T) {
	s, err := New(Config{Hive9P: "127.0.0.1:1", Dial: func(string, string, string, time.Duration) (*nineclient.Client, error) {
		return nil, errors.New("stub hive: refused")
	}})
	if err != nil {
		t.Fatal(err)
	}
	// Every push slot streaming and the waiting room full: the next push
	// is refused at once.
	for range cap(s.pushSlots) {
		s.pushSlots <- struct{}{}
	}
	s.pushWaiting.Store(generated.GatewayBrokerTelemetryQueue)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	defer func() { cancel(); <-served }()

	oneConn := func() *http.Client {
		return &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}}
	}
	url := "http://" + ln.Addr().String() + gatewayapi.PathTelemetry + "/gpu0"
	push := func(c *http.Client) (time.Duration, time.Time) {
		t.Helper()
		resp, err := c.Post(url, "application/x-ndjson", strings.NewReader(`{"seq":1}`+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if resp.StatusCode != http.StatusTooManyRequests || err != nil || secs < 1 {
			t.Fatalf("push: HTTP %d Retry-After %q; want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		return time.Duration(secs) * time.Second, time.Now()
	}
	held := func() int { return int(testutil.ToFloat64(s.metrics.retryEarly)) }

	a := oneConn()
	wait, told := push(a)
	if _, answered := push(a); answered.Sub(told) < wait || held() != 1 {
		t.Errorf("a push retried at once on the same connection was answered %s after Retry-After %s was given (held %d); want no sooner, held 1",
			answered.Sub(told), wait, held())
	}
	push(oneConn())
	if held() != 1 {
		t.Errorf("a push on another connection was held (held %d); want only the early retry held", held())
	}
	wait, _ = push(a) // the held retry's 429 set a new Retry-After
	time.Sleep(wait)
	push(a)
	if held() != 2 {
		t.Errorf("held %d; want 2: the retry right after a 429 (held), none after waiting Retry-After", held())
	}
}
