package host

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap/zaptest"

	"github.com/metastore/metastore/pluginapi/storage"
	"github.com/metastore/metastore/plugins/storage/bbolt"
	"github.com/metastore/metastore/raft"
	"github.com/metastore/metastore/raft/wal"
)

// TestDamagedRaftSnapshotFileIsRefused: a received raft snapshot file
// damaged at rest (a flipped bit, a cut) is refused with an error naming
// it, when it is checked and when the engine is restored from it at
// start; the engine keeps what it had.
func TestDamagedRaftSnapshotFileIsRefused(t *testing.T) {
	ctx := context.Background()
	src := bbolt.New()
	_, err := src.Open(ctx, storage.OpenRequest{Dir: t.TempDir()})
	require.NoError(t, err)
	defer func() { require.NoError(t, src.Close(ctx)) }()
	_, err = src.ApplyBatch(ctx, storage.ApplyBatchRequest{ConsistentIndex: 9, Ops: []storage.Op{
		{Kind: storage.OpPut, Namespace: "key", Key: []byte("k"), Value: bytes.Repeat([]byte("v"), 4096)},
	}})
	require.NoError(t, err)
	var whole bytes.Buffer
	_, err = src.Snapshot(ctx, storage.SnapshotRequest{Writer: &whole})
	require.NoError(t, err)

	for _, tt := range []struct {
		name   string
		damage func([]byte) []byte
	}{
		{"flipped bit in a value", func(b []byte) []byte { b[len(b)/2] ^= 0x01; return b }},
		{"flipped bit in the checksum", func(b []byte) []byte { b[len(b)-1] ^= 0x01; return b }},
		{"cut in the middle", func(b []byte) []byte { return b[:len(b)/2] }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "0000000000000009"+snapshotSuffix)
			require.NoError(t, os.WriteFile(path, tt.damage(bytes.Clone(whole.Bytes())), 0o600))

			_, err := checkSnapshotFile(path)
			require.ErrorIs(t, err, storage.ErrCorrupt)
			require.ErrorContains(t, err, "the received snapshot "+path+" is damaged: ")

			dst := bbolt.New()
			_, err = dst.Open(ctx, storage.OpenRequest{Dir: t.TempDir()})
			require.NoError(t, err)
			defer func() { require.NoError(t, dst.Close(ctx)) }()
			_, err = dst.ApplyBatch(ctx, storage.ApplyBatchRequest{ConsistentIndex: 3, Ops: []storage.Op{
				{Kind: storage.OpPut, Namespace: "key", Key: []byte("before"), Value: []byte("kept")},
			}})
			require.NoError(t, err)
			_, err = restoreEngineFile(ctx, dst, path)
			require.ErrorIs(t, err, storage.ErrCorrupt)
			require.ErrorContains(t, err, "restoring the engine from "+path+": ")
			resp, err := dst.GetMany(ctx, storage.GetManyRequest{Namespace: "key", Keys: [][]byte{[]byte("before"), []byte("k")}})
			require.NoError(t, err)
			require.Equal(t, []bool{true, false}, resp.Found, "the engine keeps what it had")
		})
	}
}

// TestMissingRaftSnapshotFileIsNamed: an engine behind the snapshot the
// WAL records, with no received file to restore it from, is refused at
// start with an error that names the missing file, and no in-process
// restart retries it.
func TestMissingRaftSnapshotFileIsNamed(t *testing.T) {
	walDir := filepath.Join(t.TempDir(), "wal")
	w, err := wal.Create(walDir, wal.Metadata{MemberID: 1, ClusterID: 2}, wal.Options{})
	require.NoError(t, err)
	index, term := uint64(0x155), uint64(2)
	require.NoError(t, w.SaveSnapshot(&raftpb.SnapshotMetadata{Index: &index, Term: &term, ConfState: &raftpb.ConfState{Voters: []uint64{1}}}))
	require.NoError(t, w.Close())
	rs := &raftSnapshots{lg: zaptest.NewLogger(t), dir: filepath.Join(t.TempDir(), "snap")}
	mismatch := fmt.Errorf("%w: the engine is behind", raft.ErrIndexMismatch)

	for _, tt := range []struct {
		name            string
		consistentIndex uint64
		want            string
	}{
		{"behind the snapshot", 57, "the received snapshot " + rs.path(index) +
			" is missing: the engine is at index 57, behind the raft snapshot at 341 that the WAL records"},
		{"at the snapshot", index, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := rs.explainIndexMismatch(mismatch, walDir, tt.consistentIndex)
			require.ErrorIs(t, err, raft.ErrIndexMismatch)
			require.True(t, lasting(err))
			if tt.want == "" {
				require.Equal(t, mismatch, err, "nothing is missing: raft's error as it was")
				return
			}
			require.ErrorContains(t, err, tt.want)
		})
	}
}
