package corruption

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.uber.org/zap/zaptest"

	"github.com/metastore/metastore/mvcc"
)

// TestCompactionHashQuorum: who is named corrupt when the hashes a
// compaction took differ. Member 1 checks; its hash is 10.
func TestCompactionHashQuorum(t *testing.T) {
	own := mvcc.KeyValueHash{Hash: 10, CompactRevision: 5, Revision: 5}
	answer := func(id uint64, hash uint32, compactRev int64) PeerHash {
		return PeerHash{MemberID: id, Resp: &pb.HashKVResponse{Hash: hash, CompactRevision: compactRev, HashRevision: 5}}
	}
	tests := []struct {
		name   string
		peers  []PeerHash
		done   bool
		raised []uint64
	}{
		{"all agree", []PeerHash{answer(2, 10, 5), answer(3, 10, 5)}, true, nil},
		{"the minority is named", []PeerHash{answer(2, 10, 5), answer(3, 11, 5)}, true, []uint64{3}},
		{"the checker itself can be the minority", []PeerHash{answer(2, 11, 5), answer(3, 11, 5)}, true, []uint64{1}},
		{"without a quorum nobody can be singled out", []PeerHash{answer(2, 11, 5), answer(3, 12, 5)}, true, []uint64{0}},
		{"a peer compacted elsewhere is skipped, and the revision checked again later",
			[]PeerHash{answer(2, 10, 5), answer(3, 99, 4)}, false, nil},
		{"so is one that did not answer", []PeerHash{answer(2, 10, 5), {MemberID: 3, Err: mvcc.ErrCompacted}}, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var raised []uint64
			c := New(zaptest.NewLogger(t), nil, nil, nil, func(_ context.Context, id uint64) error {
				raised = append(raised, id)
				return nil
			})
			require.Equal(t, tt.done, c.checkPeerHashes(context.Background(), 1, own, tt.peers))
			require.ElementsMatch(t, tt.raised, raised)
		})
	}
}
