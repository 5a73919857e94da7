package mvcc

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

func TestValueCache(t *testing.T) {
	tests := []struct {
		name    string
		max     int64
		wantLen int
		want    map[int64]bool // main revision -> still cached
	}{
		{"evicts the least recently used", 3 * entryCost([]byte("1")), 3, map[int64]bool{1: true, 2: false, 3: true, 4: true}},
		{"disabled", -1, 0, map[int64]bool{1: false, 4: false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newValueCache(tt.max)
			c.add(revision{main: 1}, []byte("1"))
			c.addAll(map[revision][]byte{{main: 2}: []byte("2")})
			c.add(revision{main: 3}, []byte("3"))
			c.get(revision{main: 1}) // 2 is now the oldest
			c.add(revision{main: 4}, []byte("4"))
			assert.Equal(t, tt.wantLen, c.len())
			for main, cached := range tt.want {
				v, ok := c.get(revision{main: main})
				assert.Equal(t, cached, ok, "revision %d", main)
				if ok {
					assert.Equal(t, string(rune('0'+main)), string(v))
				}
			}
			c.remove([]revision{{main: 1}})
			_, ok := c.get(revision{main: 1})
			assert.False(t, ok)
		})
	}
}

func TestValueCacheBoundInBytes(t *testing.T) {
	small := make([]byte, 100)
	c := newValueCache(4 * entryCost(small))
	for i := range int64(10) {
		c.add(revision{main: i + 1}, small)
		assert.LessOrEqual(t, c.bytes(), 4*entryCost(small))
	}
	assert.Equal(t, 4, c.len(), "the four latest fit")
	_, ok := c.get(revision{main: 10})
	assert.True(t, ok)

	c.add(revision{main: 11}, make([]byte, 12*len(small)))
	_, ok = c.get(revision{main: 11})
	assert.False(t, ok, "a value larger than the whole cache is not cached")
	assert.Equal(t, 4, c.len(), "and evicts nothing")

	c.add(revision{main: 12}, make([]byte, 2*len(small)))
	assert.LessOrEqual(t, c.bytes(), 4*entryCost(small))
	assert.Equal(t, 3, c.len(), "a value twice the size takes the place of two")
	c.remove([]revision{{main: 12}, {main: 10}, {main: 9}})
	assert.Zero(t, c.bytes(), "removal gives the bytes back")
}

// bytes returns the bytes the cache holds, entries' overhead included.
func (c *valueCache) bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}

// TestValueCacheClear: a cleared cache holds nothing and fills up to its
// bound again; the bytes of what it dropped are not counted against it.
func TestValueCacheClear(t *testing.T) {
	small := make([]byte, 100)
	c := newValueCache(4 * entryCost(small))
	for i := range int64(4) {
		c.add(revision{main: i + 1}, small)
	}
	c.clear()
	assert.Zero(t, c.len())
	assert.Zero(t, c.bytes())
	for i := range int64(4) {
		c.add(revision{main: i + 10}, small)
	}
	assert.Equal(t, 4, c.len(), "four fit again")
	_, ok := c.get(revision{main: 10})
	assert.True(t, ok)
}

// TestValueCacheKeepsWhatIsRead: under a stream of new values, the values
// read between evictions stay, and the cache's ring stays within a bound
// of what it holds.
func TestValueCacheKeepsWhatIsRead(t *testing.T) {
	small := make([]byte, 100)
	c := newValueCache(100 * entryCost(small))
	hot := []revision{{main: 1}, {main: 2}, {main: 3}}
	for _, r := range hot {
		c.add(r, small)
	}
	for i := range int64(10_000) {
		c.add(revision{main: 100 + i}, small)
		for _, r := range hot {
			_, ok := c.get(r)
			require.True(t, ok, "revision %v after %d adds", r, i+1)
		}
		if i%7 == 0 {
			c.remove([]revision{{main: 100 + i}})
		}
	}
	require.LessOrEqual(t, c.bytes(), 100*entryCost(small))
	require.LessOrEqual(t, len(c.ring), 2*c.len()+65, "holes are compacted")
}

// add stores the value of rev, through addAll.
func (c *valueCache) add(rev revision, value []byte) {
	c.addAll(map[revision][]byte{rev: value})
}

// get returns the cached value of rev, through fill.
func (c *valueCache) get(rev revision) ([]byte, bool) {
	kv := &mvccpb.KeyValue{}
	missing := c.fill([]keyMeta{{mod: rev}}, []*mvccpb.KeyValue{kv}, []int{0}, nil)
	return kv.Value, len(missing) == 0
}

// TestValueCacheFill: fill sets the values of the indexes asked for, and
// only those, and lists the ones it misses after those already listed.
func TestValueCacheFill(t *testing.T) {
	c := newValueCache(1 << 20)
	c.add(revision{main: 2}, []byte("two"))
	c.add(revision{main: 4}, []byte("four"))
	metas := []keyMeta{{mod: revision{main: 1}}, {mod: revision{main: 2}}, {mod: revision{main: 3}}, {mod: revision{main: 4}}}
	kvs := []*mvccpb.KeyValue{{}, {}, {}, {}}
	missing := c.fill(metas, kvs, []int{0, 1, 2}, []int{9})
	require.Equal(t, []int{9, 0, 2}, missing)
	require.Equal(t, "two", string(kvs[1].Value))
	require.Nil(t, kvs[3].Value, "index 3 was not asked for")
}
