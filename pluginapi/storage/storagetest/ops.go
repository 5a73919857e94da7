package storagetest

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/pluginapi/storage"
)

func put(ns, key, value string) storage.Op {
	return storage.Op{Kind: storage.OpPut, Namespace: ns, Key: []byte(key), Value: []byte(value)}
}

func del(ns, key string) storage.Op {
	return storage.Op{Kind: storage.OpDelete, Namespace: ns, Key: []byte(key)}
}

// apply applies ops as one batch with consistent index 0.
func apply(t *testing.T, e storage.Engine, ops ...storage.Op) {
	applyIndex(t, e, 0, ops...)
}

func applyIndex(t *testing.T, e storage.Engine, index uint64, ops ...storage.Op) {
	req := storage.ApplyBatchRequest{Ops: ops, ConsistentIndex: index, Sync: true}
	_, err := e.ApplyBatch(context.Background(), req)
	require.NoError(t, err, "ApplyBatch")
}

// get reads one key; ok reports whether it was found.
func get(t *testing.T, e storage.Engine, ns, key string) (value string, ok bool) {
	resp, err := e.GetMany(context.Background(), storage.GetManyRequest{Namespace: ns, Keys: [][]byte{[]byte(key)}})
	require.NoError(t, err, "GetMany")
	require.Len(t, resp.Values, 1)
	require.Len(t, resp.Found, 1)
	return string(resp.Values[0]), resp.Found[0]
}

func requireValue(t *testing.T, e storage.Engine, ns, key, want string) {
	t.Helper()
	got, ok := get(t, e, ns, key)
	require.True(t, ok, "%s/%q not found", ns, key)
	require.Equal(t, want, got, "%s/%q", ns, key)
}

func requireMissing(t *testing.T, e storage.Engine, ns, key string) {
	t.Helper()
	_, ok := get(t, e, ns, key)
	require.False(t, ok, "%s/%q found", ns, key)
}

// kv is a key-value pair as strings, for readable comparisons.
type kv struct{ Key, Value string }

// scan runs req to its end and returns copies of what fn saw.
func scan(t *testing.T, e storage.Engine, req storage.ScanRequest) []kv {
	t.Helper()
	var out []kv
	err := e.Scan(context.Background(), req, func(p storage.KeyValue) bool {
		out = append(out, kv{string(p.Key), string(p.Value)})
		return true
	})
	require.NoError(t, err, "Scan")
	return out
}

// dump returns a whole namespace in key order.
func dump(t *testing.T, e storage.Engine, ns string) []kv {
	t.Helper()
	return scan(t, e, storage.ScanRequest{Namespace: ns})
}

// requireSorted checks that keys are strictly ascending (descending if
// reverse) in bytewise order.
func requireSorted(t *testing.T, kvs []kv, reverse bool) {
	t.Helper()
	for i := 1; i < len(kvs); i++ {
		c := bytes.Compare([]byte(kvs[i-1].Key), []byte(kvs[i].Key))
		if reverse {
			c = -c
		}
		require.Negative(t, c, "keys %q then %q out of order", kvs[i-1].Key, kvs[i].Key)
	}
}
