package rocksdb

import (
	"bytes"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestKeyOrder: stored keys sort as (namespace, key) pairs do bytewise, no
// namespace prefix is a prefix of another's, metadata sorts before all data,
// and every stored key splits back.
func TestKeyOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{0x00, 0x01, 0x02, 'a', 'b', 0xfe, 0xff}
	word := func(minLen int) []byte {
		b := make([]byte, minLen+rng.IntN(4))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return b
	}
	type pair struct {
		ns  string
		key []byte
	}
	pairs := make([]pair, 2000)
	for i := range pairs {
		pairs[i] = pair{string(word(1)), word(1)}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if c := bytes.Compare([]byte(pairs[i].ns), []byte(pairs[j].ns)); c != 0 {
			return c < 0
		}
		return bytes.Compare(pairs[i].key, pairs[j].key) < 0
	})
	for i, p := range pairs {
		stored := dataKey(p.ns, p.key)
		require.Positive(t, bytes.Compare(stored, dataStart), "data after metadata")
		require.True(t, bytes.Compare(stored, prefixEnd(nsPrefix(p.ns))) < 0, "key within its namespace bounds")
		ns, key, err := splitDataKey(stored)
		require.NoError(t, err)
		require.Equal(t, p.ns, ns)
		require.Equal(t, p.key, key)
		if i > 0 {
			require.LessOrEqual(t, bytes.Compare(dataKey(pairs[i-1].ns, pairs[i-1].key), stored), 0, "order of %q/%q", p.ns, p.key)
		}
	}
	require.Negative(t, bytes.Compare(indexKey, dataStart))
	require.Negative(t, bytes.Compare(countKey("\xff\xff"), dataStart))
}
