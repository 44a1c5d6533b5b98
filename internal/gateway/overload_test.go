package gateway

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/gatewayapi"
	"github.com/cohesix/cohesix/internal/nineclient"
)

// When the control class is full the gateway answers 429 with
// Retry-After at once instead of queueing without bound; the calls it
// admitted still finish (here with 503: the stub hive never answers).
func TestOverflowIs429WithRetryAfter(t *testing.T) {
	release := make(chan struct{})
	var dials sync.WaitGroup
	stuck := func(string, string, string, time.Duration) (*nineclient.Client, error) {
		dials.Done()
		<-release
		return nil, errors.New("stub hive: refused")
	}
	s, err := New(Config{Hive9P: "127.0.0.1:1", Dial: stuck})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	// Fill every worker (each blocks in the stub's dial), then the queue.
	workers := s.broker.Config().Workers
	dials.Add(workers)
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
	dials.Wait() // every worker is busy; the queue fills behind them
	deadline := time.Now().Add(30 * time.Second)
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
	close(release)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusServiceUnavailable {
			t.Errorf("an admitted call answered %d; want 503 from the stub hive", c)
		}
	}
}
