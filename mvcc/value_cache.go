package mvcc

import (
	"container/list"
	"sync"
)

// valueCache is a least-recently-used cache of values by revision, bounded
// in bytes. A revision's value never changes, so entries never go stale;
// compaction removes the ones it deletes. It is safe for concurrent use.
type valueCache struct {
	mu      sync.Mutex
	max     int64      // bytes
	size    int64      // bytes held, entries' overhead included
	order   *list.List // of *cacheEntry, most recently used first
	entries map[revision]*list.Element
}

// cacheEntryOverhead is what an entry costs beside its value: the entry,
// its list element and its share of the map.
const cacheEntryOverhead = 160

type cacheEntry struct {
	rev   revision
	value []byte
}

// newValueCache returns a cache of at most max bytes; max <= 0 disables it.
func newValueCache(max int64) *valueCache {
	return &valueCache{max: max, order: list.New(), entries: make(map[revision]*list.Element)}
}

// get returns the value of rev.
func (c *valueCache) get(rev revision) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[rev]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*cacheEntry).value, true
}

// add stores the value of rev, evicting the least recently used entries
// beyond the limit.
func (c *valueCache) add(rev revision, value []byte) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.addLocked(rev, value)
}

// addAll stores several values under one lock.
func (c *valueCache) addAll(values map[revision][]byte) {
	if c.max <= 0 || len(values) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for rev, v := range values {
		c.addLocked(rev, v)
	}
}

func (c *valueCache) addLocked(rev revision, value []byte) {
	if e, ok := c.entries[rev]; ok {
		c.order.MoveToFront(e)
		return
	}
	cost := entryCost(value)
	if cost > c.max {
		return
	}
	c.entries[rev] = c.order.PushFront(&cacheEntry{rev: rev, value: value})
	c.size += cost
	for c.size > c.max {
		c.removeLocked(c.order.Back())
	}
}

func entryCost(value []byte) int64 { return int64(cap(value)) + cacheEntryOverhead }

func (c *valueCache) removeLocked(e *list.Element) {
	ce := c.order.Remove(e).(*cacheEntry)
	delete(c.entries, ce.rev)
	c.size -= entryCost(ce.value)
}

// remove drops the given revisions.
func (c *valueCache) remove(revs []revision) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rev := range revs {
		if e, ok := c.entries[rev]; ok {
			c.removeLocked(e)
		}
	}
}

// len returns the number of cached values.
func (c *valueCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
