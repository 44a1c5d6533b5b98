package gateway

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cohesix/cohesix/generated"
)

// TODO(h-broker): replace caller and readCache with package broker and
// package hotcache once they are merged; the call sites keep these
// signatures (Do(ctx, class, key, fn), Get/Put/InvalidateAll).

// callClass is a broker priority class.
type callClass int

const (
	classControl callClass = iota
	classTelemetry
)

func (c callClass) String() string {
	if c == classTelemetry {
		return "telemetry"
	}
	return "control"
}

var (
	errOverflow = errors.New("broker: queue full")
	errDeadline = errors.New("broker: deadline passed")
)

// caller bounds upstream calls per class and gives each the broker's
// deadline.
type caller struct {
	m     *metrics
	slots map[callClass]chan struct{}
}

func newCaller(m *metrics) *caller {
	return &caller{m: m, slots: map[callClass]chan struct{}{
		classControl:   make(chan struct{}, generated.GatewayBrokerControlQueue+generated.GatewayBrokerWorkers),
		classTelemetry: make(chan struct{}, generated.GatewayBrokerTelemetryQueue+generated.GatewayBrokerWorkers),
	}}
}

// Do runs fn in class for key: errOverflow when the class is full,
// errDeadline when the broker's deadline passes first.
func (c *caller) Do(ctx context.Context, class callClass, key string, fn func(context.Context) error) error {
	_ = key
	select {
	case c.slots[class] <- struct{}{}:
	default:
		c.m.upstream.WithLabelValues(class.String(), "overflow").Inc()
		return errOverflow
	}
	defer func() { <-c.slots[class] }()
	ctx, cancel := context.WithTimeout(ctx, ms(generated.GatewayBrokerDeadlineMs))
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	select {
	case err := <-done:
		c.m.upstream.WithLabelValues(class.String(), outcome(err)).Inc()
		return err
	case <-ctx.Done():
		c.m.upstream.WithLabelValues(class.String(), "deadline").Inc()
		return errDeadline
	}
}

func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case isRefusal(err):
		return "refused"
	}
	return "error"
}

// readCache is a small read-through cache for hot /proc reads.
type readCache struct {
	ttl time.Duration
	max int
	mu  sync.Mutex
	m   map[string]cached
}

type cached struct {
	v  any
	at time.Time
}

func newReadCache(ttl time.Duration, max int) *readCache {
	return &readCache{ttl: ttl, max: max, m: map[string]cached{}}
}

func (c *readCache) Get(key string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || time.Since(e.at) > c.ttl {
		return nil, false
	}
	return e.v, true
}

func (c *readCache) Put(key string, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k := range c.m { // drop one: a bounded cache, not a precise LRU
			delete(c.m, k)
			break
		}
	}
	c.m[key] = cached{v: v, at: time.Now()}
}

func (c *readCache) InvalidateAll() {
	c.mu.Lock()
	c.m = map[string]cached{}
	c.mu.Unlock()
}
