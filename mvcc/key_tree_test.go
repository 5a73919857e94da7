package mvcc

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestKeyTreeAgainstSortedSet drives a keyTree and a sorted set with the
// same random puts, deletes and repacks, in orders that split leaves at
// their ends (keys added in order, and in reverse) and in their middles,
// and checks after every step that gets, walks from any key to any other
// and the tree's shape agree.
func TestKeyTreeAgainstSortedSet(t *testing.T) {
	for _, order := range []string{"ascending", "descending", "random"} {
		t.Run(order, func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(1, uint64(len(order))))
			tr := newKeyTree()
			var want [][]byte // sorted
			keyOf := func(i int) []byte {
				switch order {
				case "ascending":
					return fmt.Appendf(nil, "k%06d", i)
				case "descending":
					return fmt.Appendf(nil, "k%06d", 1_000_000-i)
				}
				// Keys of many lengths, sharing prefixes, some long enough
				// for an arena chunk of their own.
				k := fmt.Appendf(nil, "k%d", rnd.IntN(20_000))
				if rnd.IntN(50) == 0 {
					k = append(k, bytes.Repeat([]byte{'x'}, ownChunk)...)
				}
				return k
			}
			for step := range 30_000 {
				switch r := rnd.IntN(10); {
				case r < 7:
					k := keyOf(step)
					ki, added := tr.put(k)
					i, found := slices.BinarySearchFunc(want, k, bytes.Compare)
					require.Equal(t, !found, added, "put %q", k)
					require.Equal(t, k, tr.key(ki))
					if added {
						require.Equal(t, revision{}, ki.mod, "a new record is empty")
						ki.put(&tr.hists, revision{main: int64(step + 1)}, 0)
						want = slices.Insert(want, i, k)
					}
				case r < 9 && len(want) > 0:
					k := want[rnd.IntN(len(want))]
					if order != "random" {
						k = want[0] // ends a run of leaves
					}
					require.True(t, tr.delete(k))
					require.False(t, tr.delete(k))
					i, _ := slices.BinarySearchFunc(want, k, bytes.Compare)
					want = slices.Delete(want, i, i+1)
				case rnd.IntN(100) == 0:
					tr.repack()
				}
				if step%997 == 0 || step == 29_999 {
					checkKeyTree(t, tr, want, rnd)
				}
			}
		})
	}
}

// checkKeyTree compares tr with the sorted keys want.
func checkKeyTree(t *testing.T, tr *keyTree, want [][]byte, rnd *rand.Rand) {
	t.Helper()
	require.Equal(t, len(want), tr.len)
	var got [][]byte
	tr.walk(tr.start(), treePos{}, func(ki *keyIndex) bool {
		got = append(got, tr.key(ki))
		return true
	})
	require.Equal(t, len(want), len(got))
	for i := range want {
		require.Equal(t, want[i], got[i])
		require.NotNil(t, tr.get(want[i]))
	}
	require.Nil(t, tr.get([]byte("absent")))
	checkTreeNode(t, tr, tr.root, nil, nil)

	for range 50 {
		from := fmt.Appendf(nil, "k%d", rnd.IntN(1_000_100))
		to := fmt.Appendf(nil, "k%d", rnd.IntN(1_000_100))
		if bytes.Compare(from, to) > 0 {
			from, to = to, from
		}
		lo, _ := slices.BinarySearchFunc(want, from, bytes.Compare)
		hi, _ := slices.BinarySearchFunc(want, to, bytes.Compare)
		var walked [][]byte
		tr.walk(tr.seek(from), tr.seek(to), func(ki *keyIndex) bool {
			walked = append(walked, tr.key(ki))
			return true
		})
		require.Equal(t, len(want[lo:hi]), len(walked), "walk [%q, %q)", from, to)
		for i := range walked {
			require.Equal(t, want[lo+i], walked[i])
		}
	}
}

// checkTreeNode checks that every key under n is in [lo, hi) (nil: no
// bound), that separators are in order and that nodes are within their
// capacities.
func checkTreeNode(t *testing.T, tr *keyTree, n *treeNode, lo, hi []byte) {
	t.Helper()
	if n.isLeaf() {
		require.LessOrEqual(t, len(n.items), leafCap)
		for i := range n.items {
			k := tr.key(&n.items[i])
			require.True(t, lo == nil || bytes.Compare(lo, k) <= 0, "%q below its bound %q", k, lo)
			require.True(t, hi == nil || bytes.Compare(k, hi) < 0, "%q not below its bound %q", k, hi)
		}
		return
	}
	require.LessOrEqual(t, len(n.kids), innerCap)
	require.Equal(t, len(n.kids)-1, len(n.seps))
	for i, kid := range n.kids {
		klo, khi := lo, hi
		if i > 0 {
			klo = tr.arena.key(n.seps[i-1])
		}
		if i < len(n.seps) {
			khi = tr.arena.key(n.seps[i])
		}
		checkTreeNode(t, tr, kid, klo, khi)
	}
}

// TestKeyTreeRepacksOnceMostKeysAreGone checks that compaction gives back
// the space of removed keys: once they outnumber the live ones, the tree
// is rebuilt dense and its arena holds only live keys' bytes.
func TestKeyTreeRepacksOnceMostKeysAreGone(t *testing.T) {
	ti := newTreeIndex()
	for i := range 20_000 {
		ti.put(fmt.Appendf(nil, "k%05d", i), revision{main: int64(i + 1)}, 0)
	}
	for i := range 15_000 {
		require.NoError(t, ti.tombstone(fmt.Appendf(nil, "k%05d", i), revision{main: int64(20_001 + i)}))
	}
	arenaBefore := ti.tree.arena.bytes
	ti.compact(40_000)
	require.Equal(t, 5_000, ti.len())
	require.Equal(t, 0, ti.tree.dead, "repacked")
	require.Equal(t, 5_000*len("k00000"), ti.tree.arena.bytes)
	require.Less(t, ti.tree.arena.bytes, arenaBefore)
	m, ok := ti.get([]byte("k19999"), 40_000)
	require.True(t, ok)
	require.Equal(t, "k19999", string(m.key))
	require.Equal(t, int64(20_000), m.mod.main)
}

// BenchmarkKeyIndexCollection measures a forced garbage collection with a
// million keys in the index, put in random order, a fifth of them with a
// second revision: the cost every collection cycle pays for the index.
//
//	go test ./mvcc -run '^$' -bench KeyIndexCollection
func BenchmarkKeyIndexCollection(b *testing.B) {
	const keys = 1_000_000
	ti := newTreeIndex()
	perm := rand.New(rand.NewPCG(1, 2)).Perm(keys)
	var key []byte
	for i, p := range perm {
		key = fmt.Appendf(key[:0], "/registry/k%010d", p)
		ti.put(key, revision{main: int64(i + 1)}, 0)
	}
	for i, p := range perm[:keys/5] {
		key = fmt.Appendf(key[:0], "/registry/k%010d", p)
		ti.put(key, revision{main: int64(keys + i + 1)}, 0)
	}
	perm = nil
	runtime.GC()
	b.ResetTimer()
	for b.Loop() {
		runtime.GC()
	}
	b.StopTimer()
	runtime.KeepAlive(ti)
}

// TestKeyTreeLeavesStayFull bounds the room left empty in the leaves for
// three orders of adding keys: in order, in order but 200 writers at a
// time (each key added within 200 of its place), and at random.
func TestKeyTreeLeavesStayFull(t *testing.T) {
	const keys = 100_000
	rnd := rand.New(rand.NewPCG(3, 4))
	window := func(w int) []int {
		order := make([]int, keys)
		for i := range order {
			order[i] = i
		}
		for s := 0; s < keys; s += w {
			part := order[s:min(s+w, keys)]
			rnd.Shuffle(len(part), func(i, j int) { part[i], part[j] = part[j], part[i] })
		}
		return order
	}
	for _, tt := range []struct {
		name  string
		order []int
		fill  float64
	}{
		{"in order", window(1), 0.95},
		{"200 writers", window(200), 0.8},
		{"random", rnd.Perm(keys), 0.8},
	} {
		tr := newKeyTree()
		for _, k := range tt.order {
			tr.put(fmt.Appendf(nil, "k%08d", k))
		}
		leaves := 0
		for l := tr.first; l != nil; l = l.next {
			leaves++
		}
		fill := float64(keys) / float64(leaves*leafCap)
		t.Logf("%s: %d leaves, %.2f full", tt.name, leaves, fill)
		require.GreaterOrEqual(t, fill, tt.fill, tt.name)
	}
}
