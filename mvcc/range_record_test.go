package mvcc

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/protobuf/proto"

	"github.com/metastore/metastore/pluginapi/storage"
)

// An engine's record is served only if it is the one asked for.
func TestDecodeValueChecksTheRecord(t *testing.T) {
	data, err := proto.Marshal(&mvccpb.KeyValue{Key: []byte("a"), Value: []byte("x"), CreateRevision: 2, ModRevision: 5, Version: 3})
	require.NoError(t, err)
	asked := keyMeta{key: []byte("a"), mod: revision{main: 5}, created: 2, version: 3}
	s := &Store{}
	tests := map[string]struct {
		meta keyMeta
		ok   bool
	}{
		"the record asked for":       {asked, true},
		"another key's record":       {keyMeta{key: []byte("b"), mod: asked.mod, created: 2, version: 3}, false},
		"another version of the key": {keyMeta{key: []byte("a"), mod: asked.mod, created: 2, version: 4}, false},
		"another life of the key":    {keyMeta{key: []byte("a"), mod: asked.mod, created: 4, version: 3}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			v, err := s.decodeValue(5, tc.meta, data, true)
			if tc.ok {
				require.NoError(t, err)
				require.Equal(t, "x", string(v))
				return
			}
			require.ErrorIs(t, err, storage.ErrCorrupt)
		})
	}
}
