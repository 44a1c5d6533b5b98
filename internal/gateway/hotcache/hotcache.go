// Package hotcache is hive-gateway's bounded read-through cache of hot /proc
// reads (milestone 25b; DECISIONS P47). Dashboards poll the same few /proc
// files many times a second; answering repeats from memory for a short TTL
// keeps them off the hive's one wire. Entries live at most the TTL (read
// from an injected clock, so expiry is deterministic in tests), the least
// recently used entry goes when the cache is full, and the gateway
// invalidates on every write it forwards. Which paths may be cached at all
// is Cacheable's rule.
package hotcache

import (
	"container/list"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cohesix/cohesix/generated"
)

// Cache is an LRU of values with a TTL. Its methods are safe for
// concurrent use.
type Cache struct {
	ttl        time.Duration
	maxEntries int
	now        func() time.Time

	mu      sync.Mutex
	entries map[string]*list.Element // guarded by mu; values are *entry
	lru     *list.List               // guarded by mu; most recently used at the front
	gen     uint64                   // guarded by mu; bumped by every invalidation (Load)
	flights map[string]*flight       // guarded by mu; loads in progress (Load)
	stats   Stats                    // guarded by mu
}

type entry struct {
	key     string
	value   any
	expires time.Time
}

// New returns an empty cache whose entries live ttl by now's clock, at most
// maxEntries of them. A nil now is time.Now; a ttl or maxEntries ≤ 0 takes
// the manifest's value (gateway.cache).
func New(ttl time.Duration, maxEntries int, now func() time.Time) *Cache {
	if ttl <= 0 {
		ttl = time.Duration(generated.GatewayCacheTtlMs) * time.Millisecond
	}
	if maxEntries <= 0 {
		maxEntries = generated.GatewayCacheMaxEntries
	}
	if now == nil {
		now = time.Now
	}
	return &Cache{
		ttl:        ttl,
		maxEntries: maxEntries,
		now:        now,
		entries:    make(map[string]*list.Element),
		lru:        list.New(),
		flights:    make(map[string]*flight),
		stats:      Stats{MaxEntries: maxEntries},
	}
}

// NewDefault is the manifest's cache on the wall clock.
func NewDefault() *Cache { return New(0, 0, nil) }

// Key is the cache key of a read: the path first, so InvalidatePrefix(path)
// drops every ticket's and size's copy of it; the ticket hash, because a
// value read under one ticket must never answer another (the hive judges
// each ticket's access); and the byte cap, because it shapes the value.
// NUL separates the parts: no path or hash contains one.
func Key(path, ticketHash string, maxBytes int) string {
	return path + "\x00" + ticketHash + "\x00" + strconv.Itoa(maxBytes)
}

// Get returns key's value when it is cached and younger than the TTL.
func (c *Cache) Get(key string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.getLocked(key)
}

func (c *Cache) getLocked(key string) (any, bool) {
	el, ok := c.entries[key]
	if !ok {
		c.stats.Misses++
		return nil, false
	}
	e := el.Value.(*entry)
	if !c.now().Before(e.expires) {
		c.removeLocked(el)
		c.stats.Expirations++
		c.stats.Misses++
		return nil, false
	}
	c.lru.MoveToFront(el)
	c.stats.Hits++
	return e.value, true
}

// Put caches v under key for the TTL from now, evicting the least recently
// used entry when the cache is full.
func (c *Cache) Put(key string, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(key, v)
}

func (c *Cache) putLocked(key string, v any) {
	expires := c.now().Add(c.ttl)
	if el, ok := c.entries[key]; ok {
		e := el.Value.(*entry)
		e.value, e.expires = v, expires
		c.lru.MoveToFront(el)
		return
	}
	for c.lru.Len() >= c.maxEntries {
		c.removeLocked(c.lru.Back())
		c.stats.Evictions++
	}
	c.entries[key] = c.lru.PushFront(&entry{key: key, value: v, expires: expires})
}

func (c *Cache) removeLocked(el *list.Element) {
	delete(c.entries, el.Value.(*entry).key)
	c.lru.Remove(el)
}

// InvalidateAll drops every entry: the gateway calls it after any write it
// forwards, because one write (a ctl line, an echo) can change many /proc
// files and the gateway cannot know which.
func (c *Cache) InvalidateAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.Invalidations += uint64(c.lru.Len())
	c.lru.Init()
	clear(c.entries)
	c.forgetFlightsLocked()
}

// InvalidatePrefix drops every entry whose key starts with p (with Key's
// layout, every copy of a path or of a subtree).
func (c *Cache) InvalidatePrefix(p string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, el := range c.entries {
		if strings.HasPrefix(key, p) {
			c.removeLocked(el)
			c.stats.Invalidations++
		}
	}
	c.forgetFlightsLocked()
}

// Stats are the cache's counters since New.
type Stats struct {
	Hits          uint64 `json:"hits"`          // Gets answered from the cache
	Misses        uint64 `json:"misses"`        // Gets not answered (absent or expired)
	Evictions     uint64 `json:"evictions"`     // entries dropped to stay within MaxEntries
	Expirations   uint64 `json:"expirations"`   // entries dropped because their TTL passed
	Invalidations uint64 `json:"invalidations"` // entries dropped by InvalidateAll/InvalidatePrefix
	Coalesced     uint64 `json:"coalesced"`     // misses that waited for another caller's Load
	Entries       int    `json:"entries"`       // entries held now
	MaxEntries    int    `json:"max_entries"`   // the bound
}

// Stats returns the counters as one snapshot.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Entries = c.lru.Len()
	return s
}
