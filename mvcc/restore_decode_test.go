package mvcc

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/protobuf/proto"
)

func TestDecodeStoredMeta(t *testing.T) {
	tests := map[string]*mvccpb.KeyValue{
		"put":            {Key: []byte("/a/b"), Value: []byte("v"), CreateRevision: 7, ModRevision: 9, Version: 3, Lease: 0x7fff_0000_0000_0001},
		"empty value":    {Key: []byte("k"), CreateRevision: 1, ModRevision: 1, Version: 1},
		"tombstone":      {Key: []byte("gone")},
		"large revision": {Key: []byte("k"), CreateRevision: 1 << 40, ModRevision: 1 << 41, Version: 1 << 33, Value: make([]byte, 1000)},
	}
	for name, kv := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := proto.Marshal(kv)
			require.NoError(t, err)
			m, err := decodeStoredMeta(b)
			require.NoError(t, err)
			assert.Equal(t, storedMeta{key: kv.Key, created: kv.CreateRevision, version: kv.Version, lease: kv.Lease}, m)
			v, err := decodeStoredValue(b)
			require.NoError(t, err)
			assert.Equal(t, string(kv.Value), string(v))
		})
	}
}

func TestDecodeStoredMetaRefusesTruncated(t *testing.T) {
	b, err := proto.Marshal(&mvccpb.KeyValue{Key: []byte("key"), Value: []byte("value"), Version: 1})
	require.NoError(t, err)
	for n := 1; n < len(b); n++ {
		if _, err := decodeStoredMeta(b[:n]); err == nil {
			// A cut between two fields is a valid, shorter message.
			continue
		}
		assert.ErrorIs(t, proto.Unmarshal(b[:n], &mvccpb.KeyValue{}), proto.Error, "proto.Unmarshal agrees that %d bytes are malformed", n)
	}
}

func FuzzDecodeStoredMeta(f *testing.F) {
	b, _ := proto.Marshal(&mvccpb.KeyValue{Key: []byte("k"), Value: []byte("v"), CreateRevision: 2, Version: 1, Lease: 5})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeStoredMeta(b)
		var kv mvccpb.KeyValue
		uerr := proto.Unmarshal(b, &kv)
		if uerr != nil {
			return // proto.Unmarshal also checks UTF-8 and wire types more strictly
		}
		require.NoError(t, err, "proto.Unmarshal took what decodeStoredMeta refused")
		assert.Equal(t, string(kv.Key), string(m.key))
		assert.Equal(t, kv.CreateRevision, m.created)
		assert.Equal(t, kv.Version, m.version)
		assert.Equal(t, kv.Lease, m.lease)
		v, err := decodeStoredValue(b)
		require.NoError(t, err, "proto.Unmarshal took what decodeStoredValue refused")
		assert.Equal(t, string(kv.Value), string(v))
	})
}
