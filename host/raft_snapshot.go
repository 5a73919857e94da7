package host

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.etcd.io/etcd/client/pkg/v3/types"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"

	"github.com/metastore/metastore/pluginapi/storage"
	"github.com/metastore/metastore/raft"
	"github.com/metastore/metastore/raft/peer"
	"github.com/metastore/metastore/raft/wal"
)

// Raft snapshots to followers. A raft snapshot carries no data: the state
// is the storage engine's. When raft sends a follower a MsgSnap, the peer
// transport streams the leader's engine after it (Engine.Snapshot, the
// engine-neutral format, taken at the leader's applied state, at or past
// the snapshot's index). The follower writes the stream to a synced file
// in member/snap named by the snapshot's index, checks it, and only then
// lets the transport step the message into raft. Raft records the
// snapshot in the WAL and hands it to the apply loop, where
// installSnapshot restores the engine from the file (Engine.Restore),
// rebuilds the store and the API's state in place, and removes the file.
//
// A member that stops after the WAL recorded the snapshot but before the
// engine was restored finds its engine behind the WAL at the next start;
// recoverSnapshot then restores the engine from the file before raft
// starts, as etcd recovers its backend from a received snapshot. A file
// that is damaged stops the start (storage.ErrCorrupt, naming it); one
// that is missing makes raft.Start refuse the engine as behind the WAL
// (raft.ErrIndexMismatch), and explainIndexMismatch names the file.

// snapshotSuffix names a received snapshot: <index in hex>.snap.db.
const snapshotSuffix = ".snap.db"

// raftSnapshots sends and receives the state behind raft snapshots and
// installs it. It implements peer.Snapshotter.
type raftSnapshots struct {
	lg  *zap.Logger
	dir string
	m   *Member
}

var _ peer.Snapshotter = (*raftSnapshots)(nil)

func newRaftSnapshots(m *Member) *raftSnapshots {
	return &raftSnapshots{lg: m.lg.Named("snapshot"), dir: filepath.Join(m.cfg.DataDir, "member", "snap"), m: m}
}

func (rs *raftSnapshots) path(index uint64) string {
	return filepath.Join(rs.dir, fmt.Sprintf("%016x%s", index, snapshotSuffix))
}

// WriteSnapshot streams the engine, which holds at least the snapshot's
// index: raft snapshots only what the engine has persisted.
func (rs *raftSnapshots) WriteSnapshot(ctx context.Context, m *raftpb.Message, w io.Writer) error {
	index := m.GetSnapshot().GetMetadata().GetIndex()
	resp, err := rs.m.engine.Snapshot(ctx, storage.SnapshotRequest{Writer: w})
	if err != nil {
		return fmt.Errorf("snapshot of the engine: %w", err)
	}
	if resp.ConsistentIndex < index {
		// The follower refuses such a stream; this only explains why.
		return fmt.Errorf("the engine is at index %d, behind the raft snapshot at %d", resp.ConsistentIndex, index)
	}
	rs.lg.Info("streamed the engine for a raft snapshot", zap.Stringer("to", types.ID(m.GetTo())),
		zap.Uint64("snapshot-index", index), zap.Uint64("consistent-index", resp.ConsistentIndex),
		zap.Int64("bytes", resp.Bytes))
	return nil
}

// ReceiveSnapshot keeps the stream in a synced file once it has checked
// it whole and at or past the snapshot's index.
func (rs *raftSnapshots) ReceiveSnapshot(ctx context.Context, m *raftpb.Message, r io.Reader) error {
	index := m.GetSnapshot().GetMetadata().GetIndex()
	if err := os.MkdirAll(rs.dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(rs.dir, "receiving-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	n, err := io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing the received snapshot: %w", err)
	}
	ci, err := checkSnapshotFile(tmp)
	if err != nil {
		return err
	}
	if ci < index {
		return fmt.Errorf("the received state is at index %d, behind the raft snapshot at %d", ci, index)
	}
	if err := os.Rename(tmp, rs.path(index)); err != nil {
		return err
	}
	if err := syncDir(rs.dir); err != nil {
		return err
	}
	rs.lg.Info("received the state of a raft snapshot", zap.Uint64("snapshot-index", index),
		zap.Uint64("consistent-index", ci), zap.Int64("bytes", n))
	rs.removeBelow(index)
	return nil
}

// checkSnapshotFile reads a snapshot file through, checking its checksum,
// and returns its consistent index.
func checkSnapshotFile(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sr, err := storage.NewSnapshotReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return 0, err
	}
	for {
		if _, _, _, err := sr.Next(); err != nil {
			if errors.Is(err, io.EOF) {
				return sr.ConsistentIndex(), nil
			}
			return 0, fmt.Errorf("the received snapshot %s is damaged: %w", path, err)
		}
	}
}

// install restores the engine from the received file of snap and rebuilds
// the member's state on it. It runs on the apply goroutine. The member
// cannot go on without the state: on failure it stops, and its next start
// recovers from the file and the WAL.
func (rs *raftSnapshots) install(snap *raftpb.Snapshot) {
	rs.m.raftStats.SnapshotsApplying.Add(1)
	defer rs.m.raftStats.SnapshotsApplying.Add(-1)
	index := snap.GetMetadata().GetIndex()
	if rs.m.engineFailure() != nil {
		return // the member restarts and recovers the snapshot
	}
	path := rs.path(index)
	err := rs.m.api.InstallSnapshot(context.Background(), func(ctx context.Context) (uint64, error) {
		return restoreEngineFile(ctx, rs.m.engine, path)
	})
	if err != nil {
		if rs.m.engineFailure() != nil {
			return
		}
		rs.lg.Panic("installing a raft snapshot failed", zap.Uint64("snapshot-index", index), zap.Error(err))
	}
	rs.lg.Info("installed a raft snapshot", zap.Uint64("snapshot-index", index),
		zap.Uint64("consistent-index", rs.m.store.ConsistentIndex()), zap.Int64("revision", rs.m.store.Rev()))
	if err := os.Remove(path); err != nil {
		rs.lg.Warn("removing an installed snapshot", zap.Error(err))
	}
}

// restoreEngineFile replaces eng's content with the snapshot file at path and
// makes it durable.
func restoreEngineFile(ctx context.Context, eng storage.Engine, path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	resp, err := eng.Restore(ctx, storage.RestoreRequest{Reader: bufio.NewReaderSize(f, 1<<20)})
	if err != nil {
		return 0, fmt.Errorf("restoring the engine from %s: %w", path, err)
	}
	// An empty synced batch makes the restored content durable on
	// engines whose Restore does not sync.
	_, err = eng.ApplyBatch(ctx, storage.ApplyBatchRequest{ConsistentIndex: resp.ConsistentIndex, Sync: true})
	return resp.ConsistentIndex, err
}

// removeBelow removes received snapshots older than index, which a newer
// one supersedes.
func (rs *raftSnapshots) removeBelow(index uint64) {
	for _, s := range rs.received() {
		if s < index {
			_ = os.Remove(rs.path(s))
		}
	}
}

// received lists the indexes of the received snapshot files.
func (rs *raftSnapshots) received() []uint64 {
	ents, err := os.ReadDir(rs.dir)
	if err != nil {
		return nil
	}
	var out []uint64
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), snapshotSuffix)
		if !ok {
			continue
		}
		if i, err := strconv.ParseUint(name, 16, 64); err == nil {
			out = append(out, i)
		}
	}
	return out
}

// recoverSnapshot runs at start, before the store is built: if the WAL
// recorded a snapshot that the engine, at consistentIndex, had not yet
// installed, it restores the engine from the received file. It returns
// the engine's consistent index afterwards, and drops received files the
// engine no longer needs.
func (rs *raftSnapshots) recoverSnapshot(ctx context.Context, walDir string, consistentIndex uint64) (uint64, error) {
	files := rs.received()
	if len(files) == 0 {
		return consistentIndex, nil
	}
	snapIndex, err := walSnapshotIndex(rs.lg, walDir)
	if err != nil {
		return 0, err
	}
	if snapIndex > consistentIndex {
		if _, err := os.Stat(rs.path(snapIndex)); err == nil {
			rs.lg.Warn("the engine is behind the snapshot the WAL recorded; restoring it from the received snapshot",
				zap.Uint64("consistent-index", consistentIndex), zap.Uint64("snapshot-index", snapIndex))
			ci, err := restoreEngineFile(ctx, rs.m.engine, rs.path(snapIndex))
			if err != nil {
				return 0, err
			}
			consistentIndex = ci
		}
	}
	for _, s := range files {
		if s <= consistentIndex {
			_ = os.Remove(rs.path(s))
		}
	}
	return consistentIndex, nil
}

// explainIndexMismatch adds to err, raft.Start's ErrIndexMismatch for an
// engine at consistentIndex, the received snapshot file that is missing
// when the WAL records a snapshot past the engine: then the engine can be
// neither restored nor replayed, since the WAL holds no entries up to the
// snapshot, and the member must be rebuilt from its peers. It reads the
// WAL only on this failed start, so that a start that succeeds reads it
// once (in raft.Start) and recoverSnapshot reads it only when there are
// received files.
func (rs *raftSnapshots) explainIndexMismatch(err error, walDir string, consistentIndex uint64) error {
	snapIndex, werr := walSnapshotIndex(rs.lg, walDir)
	if werr != nil || snapIndex <= consistentIndex {
		return err
	}
	path := rs.path(snapIndex)
	if _, serr := os.Stat(path); !errors.Is(serr, fs.ErrNotExist) {
		return err
	}
	return fmt.Errorf("the received snapshot %s is missing: the engine is at index %d, behind the raft snapshot at %d "+
		"that the WAL records, and nothing can bring it there; rebuild the member from its peers "+
		"(remove it, then add it back with an empty data dir): %w", path, consistentIndex, snapIndex, err)
}

// walSnapshotIndex returns the index of the latest snapshot the WAL in dir
// records, 0 if none or there is no WAL.
func walSnapshotIndex(lg *zap.Logger, dir string) (uint64, error) {
	exists, err := wal.Exist(dir)
	if err != nil || !exists {
		return 0, err
	}
	w, st, err := wal.Open(dir, wal.Options{Logger: lg})
	if err != nil {
		return 0, err
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	return st.SnapshotIndex(), nil
}

// snapshotApplier adds snapshot installation to the API's applier.
type snapshotApplier struct {
	raft.Applier
	snaps *raftSnapshots
}

var _ raft.SnapshotApplier = snapshotApplier{}

func (a snapshotApplier) ApplySnapshot(snap *raftpb.Snapshot) { a.snaps.install(snap) }

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
