package mvcc

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// newTestKeyIndex builds, as etcd's tests do, the history
// put(2) put(4) tombstone(6) put(8) put(10) tombstone(12) put(14) put(14.1)
// tombstone(16):
// {2 4 6(t)} {8 10 12(t)} {14 14.1 16(t)} {}.
func newTestKeyIndex() *keyIndex {
	ki := &keyIndex{key: []byte("foo")}
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
		{17, nil, 1, true},
	}
	for _, tt := range tests {
		ki := newTestKeyIndex()
		avail := map[revision]struct{}{}
		ki.compact(tt.atRev, avail)
		assert.Equal(t, len(tt.wantAvail), len(avail), "at %d", tt.atRev)
		for _, r := range tt.wantAvail {
			assert.Contains(t, avail, r, "at %d", tt.atRev)
		}
		assert.Len(t, ki.generations, tt.wantGens, "at %d", tt.atRev)
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
		assert.Len(t, ki.generations, 4, "keep changes nothing")
	}
}

func TestKeyIndexRecreatedInOneTxn(t *testing.T) {
	// put(2) then, in txn 3: tombstone(3.0) put(3.1).
	ki := &keyIndex{key: []byte("k")}
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
