package mvcc

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

// newTestKeyIndex builds, as etcd's tests do, the history
// put(2) put(4) tombstone(6) put(8) put(10) tombstone(12) put(14) put(14.1)
// tombstone(16):
// {2 4 6(t)} {8 10 12(t)} {14 14.1 16(t)} {}.
func newTestKeyIndex() *testKey {
	ki := &testKey{}
	ki.put(revision{main: 2}, 0)
	ki.put(revision{main: 4}, 7)
	_ = ki.tombstone(revision{main: 6})
	ki.put(revision{main: 8}, 0)
	ki.put(revision{main: 10}, 0)
	_ = ki.tombstone(revision{main: 12})
	ki.put(revision{main: 14}, 0)
	ki.put(revision{main: 14, sub: 1}, 0)
	_ = ki.tombstone(revision{main: 16})
	return ki
}

func TestKeyIndexGet(t *testing.T) {
	tests := []struct {
		rev     int64
		ok      bool
		mod     revision
		created int64
		version int64
		lease   int64
	}{
		{1, false, revision{}, 0, 0, 0},
		{2, true, revision{main: 2}, 2, 1, 0},
		{5, true, revision{main: 4}, 2, 2, 7},
		{6, false, revision{}, 0, 0, 0},
		{7, false, revision{}, 0, 0, 0},
		{8, true, revision{main: 8}, 8, 1, 0},
		{11, true, revision{main: 10}, 8, 2, 0},
		{12, false, revision{}, 0, 0, 0},
		{14, true, revision{main: 14, sub: 1}, 14, 2, 0},
		{15, true, revision{main: 14, sub: 1}, 14, 2, 0},
		{16, false, revision{}, 0, 0, 0},
		{17, false, revision{}, 0, 0, 0},
	}
	ki := newTestKeyIndex()
	for _, tt := range tests {
		m, ok := ki.get(tt.rev)
		assert.Equal(t, tt.ok, ok, "rev %d", tt.rev)
		assert.Equal(t, tt.ok, ki.liveAt(tt.rev), "liveAt %d", tt.rev)
		assert.Equal(t, tt.mod, m.mod, "rev %d", tt.rev)
		assert.Equal(t, tt.created, m.created, "rev %d", tt.rev)
		assert.Equal(t, tt.version, m.version, "rev %d", tt.rev)
		assert.Equal(t, tt.lease, m.lease, "rev %d", tt.rev)
	}
}

func TestKeyIndexTombstoneOfDeadKey(t *testing.T) {
	ki := newTestKeyIndex()
	assert.ErrorIs(t, ki.tombstone(revision{main: 17}), errRevisionNotFound)
}

func TestKeyIndexCompact(t *testing.T) {
	tests := []struct {
		atRev     int64
		wantAvail []revision
		wantGens  int
		wantEmpty bool
	}{
		{1, nil, 4, false},
		{2, []revision{{main: 2}}, 4, false},
		{5, []revision{{main: 4}}, 4, false},
		{6, []revision{{main: 6}}, 4, false}, // the tombstone at atRev stays
		{7, nil, 3, false},
		{10, []revision{{main: 10}}, 3, false},
		{12, []revision{{main: 12}}, 3, false},
		{15, []revision{{main: 14, sub: 1}}, 2, false},
		{16, []revision{{main: 16}}, 2, false},
		{17, nil, 0, true}, // an empty key is back in the compact form
	}
	for _, tt := range tests {
		ki := newTestKeyIndex()
		avail := map[revision]struct{}{}
		ki.compact(tt.atRev, avail)
		assert.Equal(t, len(tt.wantAvail), len(avail), "at %d", tt.atRev)
		for _, r := range tt.wantAvail {
			assert.Contains(t, avail, r, "at %d", tt.atRev)
		}
		assert.Equal(t, tt.wantGens, ki.generationCount(), "at %d", tt.atRev)
		assert.Equal(t, tt.wantEmpty, ki.isEmpty(), "at %d", tt.atRev)
		// Reads at and after atRev are unchanged.
		ref := newTestKeyIndex()
		for rev := tt.atRev; rev <= 17; rev++ {
			want, wok := ref.get(rev)
			got, gok := ki.get(rev)
			assert.Equal(t, wok, gok, "compact %d, get %d", tt.atRev, rev)
			assert.Equal(t, want, got, "compact %d, get %d", tt.atRev, rev)
		}
	}
}

func TestKeyIndexKeep(t *testing.T) {
	tests := []struct {
		atRev int64
		want  []revision
	}{
		{1, nil},
		{5, []revision{{main: 4}}},
		{6, nil}, // a tombstone is not kept
		{7, nil},
		{11, []revision{{main: 10}}},
		{15, []revision{{main: 14, sub: 1}}},
		{16, nil},
	}
	for _, tt := range tests {
		ki := newTestKeyIndex()
		avail := map[revision]struct{}{}
		ki.keep(tt.atRev, avail)
		assert.Len(t, avail, len(tt.want), "at %d", tt.atRev)
		for _, r := range tt.want {
			assert.Contains(t, avail, r, "at %d", tt.atRev)
		}
		assert.Equal(t, 4, ki.generationCount(), "keep changes nothing")
	}
}

func TestKeyIndexRecreatedInOneTxn(t *testing.T) {
	// put(2) then, in txn 3: tombstone(3.0) put(3.1).
	ki := &testKey{}
	ki.put(revision{main: 2}, 0)
	_ = ki.tombstone(revision{main: 3})
	ki.put(revision{main: 3, sub: 1}, 0)
	avail := map[revision]struct{}{}
	ki.compact(3, avail)
	assert.Equal(t, map[revision]struct{}{{main: 3, sub: 1}: {}}, avail)
	m, ok := ki.get(3)
	assert.True(t, ok)
	assert.Equal(t, int64(1), m.version)
}

func TestKeyIndexCompactForm(t *testing.T) {
	ki := &testKey{}
	assert.True(t, ki.isEmpty())
	ki.put(revision{main: 2}, 9)
	assert.True(t, ki.isCompact(), "one live revision stays compact")
	m, ok := ki.get(2)
	assert.True(t, ok)
	assert.Equal(t, keyMeta{mod: revision{main: 2}, created: 2, version: 1, lease: 9}, m)

	ki.put(revision{main: 3}, 0)
	ki.put(revision{main: 4}, 9)
	assert.False(t, ki.isCompact(), "a second revision needs the history")
	for rev, want := range map[int64]keyMeta{
		2: {mod: revision{main: 2}, created: 2, version: 1, lease: 9},
		3: {mod: revision{main: 3}, created: 2, version: 2, lease: 0},
		4: {mod: revision{main: 4}, created: 2, version: 3, lease: 9},
	} {
		got, ok := ki.get(rev)
		assert.True(t, ok, "get %d", rev)
		assert.Equal(t, want, got, "get %d", rev)
	}

	avail := map[revision]struct{}{}
	ki.compact(4, avail)
	assert.True(t, ki.isCompact(), "compaction down to one live revision shrinks it back")
	assert.Equal(t, map[revision]struct{}{{main: 4}: {}}, avail)
	m, ok = ki.get(5)
	assert.True(t, ok)
	assert.Equal(t, keyMeta{mod: revision{main: 4}, created: 2, version: 3, lease: 9}, m)

	assert.NoError(t, ki.tombstone(revision{main: 5}))
	assert.False(t, ki.isCompact())
	_, ok = ki.get(5)
	assert.False(t, ok, "deleted at 5")
	ki.compact(6, map[revision]struct{}{})
	assert.True(t, ki.isEmpty(), "a compaction past the tombstone empties the key")
}

// TestTreeIndexBytesPerKey bounds what the index costs for a key with one
// revision, the shape of most keys of a large store: a 56-byte record in
// a leaf, the key's 16 bytes in the arena, and a share of the leaves' spare
// room and of the inner nodes, about 74 bytes in all. The index of
// pointers to records it replaced cost about 98, and the form with a
// generation per key before that about 200.
func TestTreeIndexBytesPerKey(t *testing.T) {
	const keys = 200000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ti := newTreeIndex()
	for i := range keys {
		ti.put(fmt.Appendf(nil, "/registry/%06d", i), revision{main: int64(i + 1)}, 0)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perKey := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / keys
	t.Logf("%.1f bytes per key of 16 bytes", perKey)
	assert.Less(t, perKey, 85.0, "bytes per key")
	assert.Equal(t, keys, ti.len())
	runtime.KeepAlive(ti)
}

func TestTreeIndexVisitBounds(t *testing.T) {
	ti := newTreeIndex()
	for i, k := range []string{"b", "c", "d", "f"} {
		ti.put([]byte(k), revision{main: int64(i + 1)}, 0)
	}
	tests := map[string]struct {
		key, end string
		fromKey  bool
		want     []string
	}{
		"end is a key, excluded":      {key: "b", end: "d", want: []string{"b", "c"}},
		"end between keys":            {key: "c", end: "e", want: []string{"c", "d"}},
		"end past every key":          {key: "a", end: "z", want: []string{"b", "c", "d", "f"}},
		"end before every key":        {key: "a", end: "b", want: nil},
		"start past end":              {key: "d", end: "c", want: nil},
		"empty range between keys":    {key: "e", end: "f", want: nil},
		"start equals end":            {key: "c", end: "c", want: nil},
		"one key":                     {key: "f", end: "f\x00", want: []string{"f"}},
		"from key":                    {key: "c", fromKey: true, want: []string{"c", "d", "f"}},
		"start past every key to end": {key: "g", end: "z", want: nil},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			end := []byte(tt.end)
			if tt.fromKey {
				end = []byte{0}
			}
			var got []string
			ti.mu.RLock()
			ti.visit([]byte(tt.key), end, func(ki *keyIndex) bool {
				got = append(got, string(ti.tree.key(ki)))
				return true
			})
			ti.mu.RUnlock()
			assert.Equal(t, tt.want, got)
		})
	}
}

// testKey is a keyIndex with histories of its own, for the tests of one
// key.
type testKey struct {
	keyIndex
	hs histories
}

func (k *testKey) put(rev revision, lease int64)   { k.keyIndex.put(&k.hs, rev, lease) }
func (k *testKey) tombstone(rev revision) error    { return k.keyIndex.tombstone(&k.hs, rev) }
func (k *testKey) get(atRev int64) (keyMeta, bool) { return k.keyIndex.get(&k.hs, atRev) }
func (k *testKey) liveAt(atRev int64) bool         { return k.keyIndex.liveAt(&k.hs, atRev) }
func (k *testKey) isEmpty() bool                   { return k.keyIndex.isEmpty(&k.hs) }
func (k *testKey) compact(atRev int64, available map[revision]struct{}) {
	k.keyIndex.compact(&k.hs, atRev, available)
}
func (k *testKey) keep(atRev int64, available map[revision]struct{}) {
	k.keyIndex.keep(&k.hs, atRev, available)
}

// isCompact reports whether the key holds one live revision in its own
// fields.
func (k *testKey) isCompact() bool { return k.hist == 0 && k.mod != (revision{}) }

// generationCount returns how many generations the key has.
func (k *testKey) generationCount() int {
	switch {
	case k.hist != 0:
		return len(k.hs.of(&k.keyIndex).generations)
	case k.isCompact():
		return 1
	}
	return 0
}
