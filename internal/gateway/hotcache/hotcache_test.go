package hotcache

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// clock is a hand-advanced clock: expiry in these tests never depends on
// how fast they run.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestCache(ttl time.Duration, maxEntries int) (*Cache, *clock) {
	clk := &clock{t: time.Unix(1_000_000, 0)}
	return New(ttl, maxEntries, clk.now), clk
}

func TestHitWithinTTLThenExpiry(t *testing.T) {
	const ttl = 250 * time.Millisecond
	c, clk := newTestCache(ttl, 4)
	key := Key("/proc/lifecycle/state", "ticket-hash", 1024)
	if _, ok := c.Get(key); ok {
		t.Fatal("Get on an empty cache hit")
	}
	c.Put(key, "state=ONLINE\n")
	clk.advance(ttl - time.Nanosecond)
	if v, ok := c.Get(key); !ok || v != "state=ONLINE\n" {
		t.Fatalf("Get just within the TTL = %v, %v; want the value, true", v, ok)
	}
	clk.advance(time.Nanosecond)
	if v, ok := c.Get(key); ok {
		t.Fatalf("Get at the TTL = %v, true; want a miss", v)
	}
	s := c.Stats()
	want := Stats{Hits: 1, Misses: 2, Expirations: 1, Entries: 0, MaxEntries: 4}
	if s != want {
		t.Fatalf("Stats() = %+v; want %+v", s, want)
	}
}

func TestPutRefreshesTTL(t *testing.T) {
	c, clk := newTestCache(time.Second, 4)
	c.Put("k", 1)
	clk.advance(time.Second / 2)
	c.Put("k", 2)
	clk.advance(time.Second * 3 / 4)
	if v, ok := c.Get("k"); !ok || v != 2 {
		t.Fatalf("Get after a refreshing Put = %v, %v; want 2, true", v, ok)
	}
}

func TestKeySeparatesTicketsAndSizes(t *testing.T) {
	c, _ := newTestCache(time.Second, 8)
	c.Put(Key("/proc/peers", "queen", 100), "queen's view")
	for _, k := range []string{Key("/proc/peers", "worker", 100), Key("/proc/peers", "queen", 200)} {
		if v, ok := c.Get(k); ok {
			t.Fatalf("Get(%q) = %v; another ticket's or size's value answered", k, v)
		}
	}
}

func TestInvalidate(t *testing.T) {
	c, _ := newTestCache(time.Second, 8)
	c.Put(Key("/proc/lease/summary", "a", 1), 1)
	c.Put(Key("/proc/lease/summary", "b", 1), 2)
	c.Put(Key("/proc/lease/active", "a", 1), 3)
	c.Put(Key("/proc/pressure/busy", "a", 1), 4)
	c.InvalidatePrefix("/proc/lease/summary\x00")
	if _, ok := c.Get(Key("/proc/lease/summary", "b", 1)); ok {
		t.Fatal("InvalidatePrefix(path) kept a copy of the path")
	}
	if _, ok := c.Get(Key("/proc/lease/active", "a", 1)); !ok {
		t.Fatal("InvalidatePrefix(path) dropped a sibling path")
	}
	c.InvalidatePrefix("/proc/lease/")
	if _, ok := c.Get(Key("/proc/lease/active", "a", 1)); ok {
		t.Fatal("InvalidatePrefix(subtree) kept an entry of the subtree")
	}
	c.InvalidateAll()
	if _, ok := c.Get(Key("/proc/pressure/busy", "a", 1)); ok {
		t.Fatal("InvalidateAll kept an entry")
	}
	if s := c.Stats(); s.Invalidations != 4 || s.Entries != 0 {
		t.Fatalf("Stats() = %+v; want 4 invalidations, 0 entries", s)
	}
}

func TestLRUBound(t *testing.T) {
	c, _ := newTestCache(time.Hour, 2)
	c.Put("a", 1)
	c.Put("b", 2)
	c.Get("a") // a is now the most recently used
	c.Put("c", 3)
	if _, ok := c.Get("b"); ok {
		t.Fatal("the least recently used entry b survived a Put into a full cache")
	}
	for _, k := range []string{"a", "c"} {
		if _, ok := c.Get(k); !ok {
			t.Fatalf("Get(%q) missed; only b should have been evicted", k)
		}
	}
	for i := range 100 {
		c.Put(string(rune('d'+i)), i)
		if n := c.Stats().Entries; n > 2 {
			t.Fatalf("entries = %d after Put; want ≤ 2", n)
		}
	}
	if s := c.Stats(); s.Evictions != 101 {
		t.Fatalf("Stats() = %+v; want 101 evictions", s)
	}
}

func TestDefaultsFromManifest(t *testing.T) {
	c := NewDefault()
	if c.ttl <= 0 || c.maxEntries <= 0 || c.Stats().MaxEntries != c.maxEntries {
		t.Fatalf("NewDefault() ttl %v, max %d; want the manifest's positive values", c.ttl, c.maxEntries)
	}
}

func TestLoadReadsThrough(t *testing.T) {
	c, clk := newTestCache(time.Second, 4)
	loads := 0
	load := func(context.Context) (any, error) { loads++; return loads, nil }
	for i, want := range []struct {
		v   int
		hit bool
	}{{1, false}, {1, true}} {
		v, hit, err := c.Load(context.Background(), "k", load)
		if err != nil || v != want.v || hit != want.hit {
			t.Fatalf("Load #%d = %v, %v, %v; want %v, %v, nil", i, v, hit, err, want.v, want.hit)
		}
	}
	clk.advance(time.Second)
	if v, hit, _ := c.Load(context.Background(), "k", load); v != 2 || hit {
		t.Fatalf("Load after the TTL = %v, %v; want a fresh load 2, false", v, hit)
	}
	failed := errors.New("upstream")
	c.InvalidateAll()
	if _, _, err := c.Load(context.Background(), "k", func(context.Context) (any, error) { return nil, failed }); !errors.Is(err, failed) {
		t.Fatalf("Load = %v; want the load's error", err)
	}
	if _, ok := c.Get("k"); ok {
		t.Fatal("a failed load was cached")
	}
}

// Concurrent misses of one key share one upstream read.
func TestLoadCoalesces(t *testing.T) {
	c, _ := newTestCache(time.Second, 4)
	gate := make(chan struct{})
	loads := 0
	load := func(context.Context) (any, error) { loads++; <-gate; return "v", nil }
	var wg sync.WaitGroup
	const callers = 5
	for range callers {
		wg.Go(func() {
			if v, _, err := c.Load(context.Background(), "k", load); v != "v" || err != nil {
				t.Errorf("Load = %v, %v; want v, nil", v, err)
			}
		})
	}
	for c.Stats().Coalesced != callers-1 {
		time.Sleep(time.Millisecond)
	}
	close(gate)
	wg.Wait()
	if loads != 1 {
		t.Fatalf("loads = %d; want 1 for %d concurrent misses", loads, callers)
	}
}

// A value read while a write was forwarded may predate the write: it is
// returned to its caller but not cached, and later callers do not share it.
func TestLoadAcrossInvalidationIsNotCached(t *testing.T) {
	c, _ := newTestCache(time.Second, 4)
	started, gate := make(chan struct{}), make(chan struct{})
	done := make(chan any)
	go func() {
		v, _, _ := c.Load(context.Background(), "k", func(context.Context) (any, error) {
			close(started)
			<-gate
			return "before-write", nil
		})
		done <- v
	}()
	<-started
	c.InvalidateAll() // the gateway forwarded an echo meanwhile
	if v, hit, _ := c.Load(context.Background(), "k", func(context.Context) (any, error) { return "after-write", nil }); v != "after-write" || hit {
		t.Fatalf("Load after the write = %v, %v; want after-write, false", v, hit)
	}
	close(gate)
	if v := <-done; v != "before-write" {
		t.Fatalf("first Load = %v; want before-write", v)
	}
	if v, ok := c.Get("k"); !ok || v != "after-write" {
		t.Fatalf("Get = %v, %v; want after-write, true (the stale load must not overwrite it)", v, ok)
	}
}

func TestCollector(t *testing.T) {
	c, _ := newTestCache(time.Second, 3)
	c.Put("a", 1)
	c.Get("a")
	c.Get("b")
	const want = `
# HELP cohesix_gateway_cache_hits_total Hot /proc reads answered from the cache.
# TYPE cohesix_gateway_cache_hits_total counter
cohesix_gateway_cache_hits_total 1
# HELP cohesix_gateway_cache_misses_total Hot /proc reads the cache could not answer.
# TYPE cohesix_gateway_cache_misses_total counter
cohesix_gateway_cache_misses_total 1
# HELP cohesix_gateway_cache_entries Entries held now.
# TYPE cohesix_gateway_cache_entries gauge
cohesix_gateway_cache_entries 1
# HELP cohesix_gateway_cache_max_entries The cache's bound (manifest gateway.cache.max_entries).
# TYPE cohesix_gateway_cache_max_entries gauge
cohesix_gateway_cache_max_entries 3
`
	if err := testutil.CollectAndCompare(c.Collector(), strings.NewReader(want),
		"cohesix_gateway_cache_hits_total", "cohesix_gateway_cache_misses_total",
		"cohesix_gateway_cache_entries", "cohesix_gateway_cache_max_entries"); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.CollectAndLint(c.Collector()); err != nil || len(n) != 0 {
		t.Fatalf("CollectAndLint = %v, %v; want no problems", n, err)
	}
}

func BenchmarkGetHit(b *testing.B) {
	c := NewDefault()
	key := Key("/proc/lifecycle/state", "ticket", 1024)
	c.Put(key, "state=ONLINE\n")
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Get(key)
		}
	})
}
