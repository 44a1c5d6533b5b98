package hotcache

import (
	"context"
	"errors"
)

// flight is one load in progress; callers that miss the same key meanwhile
// wait for it instead of each reading the hive (a dashboard burst of the
// same file costs one upstream read).
type flight struct {
	done chan struct{} // closed once v and err are set
	v    any
	err  error
}

// errLoadPanicked is what waiters see when the load they joined panicked.
var errLoadPanicked = errors.New("hotcache: load panicked")

// Load is the read-through: key's cached value when there is one (hit is
// true), else load's result, cached when load succeeds. Concurrent callers
// missing the same key share one load; a waiter whose shared load failed
// loads for itself, because the failure may be the first caller's own (its
// client went away). A value loaded across an invalidation is returned but
// not cached: it may predate the write that invalidated.
func (c *Cache) Load(ctx context.Context, key string, load func(context.Context) (any, error)) (v any, hit bool, err error) {
	c.mu.Lock()
	if v, ok := c.getLocked(key); ok {
		c.mu.Unlock()
		return v, true, nil
	}
	if f, ok := c.flights[key]; ok {
		c.stats.Coalesced++
		c.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
		if f.err == nil {
			return f.v, false, nil
		}
		v, err := load(ctx)
		return v, false, err
	}
	f := &flight{done: make(chan struct{}), err: errLoadPanicked}
	c.flights[key] = f
	gen := c.gen
	c.mu.Unlock()
	defer c.land(key, f, gen)
	f.v, f.err = load(ctx)
	return f.v, false, f.err
}

// land ends flight f: caches its value unless an invalidation came since it
// began, and releases its waiters (also when load panicked).
func (c *Cache) land(key string, f *flight, gen uint64) {
	c.mu.Lock()
	if c.flights[key] == f {
		delete(c.flights, key)
	}
	if f.err == nil && c.gen == gen {
		c.putLocked(key, f.v)
	}
	c.mu.Unlock()
	close(f.done)
}

// forgetFlightsLocked makes loads begun before an invalidation unable to
// cache their values or to answer callers that arrive after it.
func (c *Cache) forgetFlightsLocked() {
	c.gen++
	clear(c.flights)
}
