package mvcc

import (
	"sync"
	"sync/atomic"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// valueCache is a cache of values by revision, bounded in bytes, that
// evicts by the clock algorithm: a read marks its entry used, and to make
// room a hand sweeps the entries in the order they came in, clearing the
// marks it finds and evicting the first entry it finds unmarked, so what
// was read since the hand last passed stays. Reads share the lock: with a
// least-recently-used list, every read moved its entry to the front under
// an exclusive lock, and concurrent ranges of many keys queued on it, key
// after key. A revision's value never changes, so entries never go stale;
// compaction removes the ones it deletes. It is safe for concurrent use.
type valueCache struct {
	mu      sync.RWMutex
	max     int64 // bytes
	size    int64 // bytes held, entries' overhead included
	entries map[revision]*cacheEntry
	// ring holds the entries in the order they came in, nil where one was
	// removed (holes, compacted away once they are half the ring); hand is
	// where the sweep goes on from.
	ring []*cacheEntry
	hand int
}

// cacheEntryOverhead is what an entry costs beside its value: the entry,
// its place in the ring and its share of the map.
const cacheEntryOverhead = 160

type cacheEntry struct {
	rev   revision
	value []byte
	slot  int         // in ring
	used  atomic.Bool // read since the hand last passed
}

// newValueCache returns a cache of at most max bytes; max <= 0 disables it.
func newValueCache(max int64) *valueCache {
	return &valueCache{max: max, entries: make(map[revision]*cacheEntry)}
}

// fill sets kvs[i].Value, for each i of idx, to the cached value of
// metas[i]'s revision, and returns missing with the indexes it holds no
// value for appended.
func (c *valueCache) fill(metas []keyMeta, kvs []*mvccpb.KeyValue, idx, missing []int) []int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, i := range idx {
		e, ok := c.entries[metas[i].mod]
		if !ok {
			missing = append(missing, i)
			continue
		}
		if !e.used.Load() { // a store only when it changes the mark
			e.used.Store(true)
		}
		kvs[i].Value = e.value
	}
	return missing
}

// addFilled stores the values fill missed at the indexes missing, once
// read from the engine, under one hold of the lock.
func (c *valueCache) addFilled(metas []keyMeta, kvs []*mvccpb.KeyValue, missing []int) {
	if c.max <= 0 || len(missing) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, i := range missing {
		c.addLocked(metas[i].mod, kvs[i].Value)
	}
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
		e.used.Store(true)
		return
	}
	cost := entryCost(value)
	if cost > c.max {
		return
	}
	e := &cacheEntry{rev: rev, value: value, slot: len(c.ring)}
	c.ring = append(c.ring, e)
	c.entries[rev] = e
	c.size += cost
	for c.size > c.max {
		c.evictLocked()
	}
}

// evictLocked sweeps the hand on to the first entry not used since it
// last passed, clearing the marks of those it passes, and removes it.
// Some entry is held whenever it is called, and a second turn of the ring
// finds every mark cleared, so the sweep ends.
func (c *valueCache) evictLocked() {
	for {
		if c.hand >= len(c.ring) {
			c.hand = 0
		}
		e := c.ring[c.hand]
		c.hand++
		switch {
		case e == nil:
		case e.used.Load():
			e.used.Store(false)
		default:
			c.removeLocked(e)
			return
		}
	}
}

func entryCost(value []byte) int64 { return int64(cap(value)) + cacheEntryOverhead }

func (c *valueCache) removeLocked(e *cacheEntry) {
	c.ring[e.slot] = nil
	delete(c.entries, e.rev)
	c.size -= entryCost(e.value)
	if holes := len(c.ring) - len(c.entries); holes > 64 && holes > len(c.ring)/2 {
		c.compactRingLocked()
	}
}

// compactRingLocked drops the ring's holes, keeping the entries' order
// and the hand on the entry it was to look at next.
func (c *valueCache) compactRingLocked() {
	kept, hand := 0, 0
	for i, e := range c.ring {
		if i == c.hand {
			hand = kept
		}
		if e != nil {
			e.slot = kept
			c.ring[kept] = e
			kept++
		}
	}
	if c.hand >= len(c.ring) {
		hand = kept
	}
	clear(c.ring[kept:])
	c.ring, c.hand = c.ring[:kept], hand
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

// clear drops every cached value.
func (c *valueCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
	c.ring, c.hand, c.size = nil, 0, 0
}

// len returns the number of cached values.
func (c *valueCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
