package raft

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"go.etcd.io/etcd/client/pkg/v3/types"
	etcdraft "go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"

	"github.com/metastore/metastore/raft/wal"
)

// restored is what Start recovers or creates before the raft loop runs.
type restored struct {
	wal       *wal.WAL
	storage   *etcdraft.MemoryStorage
	md        wal.Metadata
	snapshot  *raftpb.SnapshotMetadata // nil for none
	bootstrap bool                     // a new cluster: bootstrap with cfg.Peers
}

// openStorage opens the WAL in cfg.WALDir, or creates it, and loads its
// contents into a MemoryStorage.
func openStorage(cfg Config, appliedIndex uint64) (*restored, error) {
	w, st, err := wal.Open(cfg.WALDir, wal.Options{Logger: cfg.Logger, SegmentSize: cfg.WALSegmentSize, UnsafeNoFsync: cfg.UnsafeNoFsync})
	if errors.Is(err, wal.ErrNotExist) {
		return createStorage(cfg, appliedIndex)
	}
	if err != nil {
		return nil, err
	}
	r, err := restoreStorage(cfg, w, st, appliedIndex)
	if err != nil {
		w.Close()
		return nil, err
	}
	r.wal = w
	return r, nil
}

// createStorage starts a new WAL and an empty MemoryStorage.
func createStorage(cfg Config, appliedIndex uint64) (*restored, error) {
	if appliedIndex != 0 {
		return nil, fmt.Errorf("%w: the engine has applied index %d but %s holds no WAL", ErrIndexMismatch, appliedIndex, cfg.WALDir)
	}
	if cfg.MemberID == 0 {
		return nil, fmt.Errorf("%w: MemberID is required to create a WAL", ErrInvalidConfig)
	}
	if len(cfg.Peers) > 0 && !slices.ContainsFunc(cfg.Peers, func(p Peer) bool { return p.ID == cfg.MemberID }) {
		return nil, fmt.Errorf("%w: member %x is not among the initial Peers", ErrInvalidConfig, cfg.MemberID)
	}
	md := wal.Metadata{MemberID: cfg.MemberID, ClusterID: cfg.ClusterID}
	w, err := wal.Create(cfg.WALDir, md, wal.Options{Logger: cfg.Logger, SegmentSize: cfg.WALSegmentSize, UnsafeNoFsync: cfg.UnsafeNoFsync})
	if err != nil {
		return nil, err
	}
	return &restored{wal: w, storage: etcdraft.NewMemoryStorage(), md: md, bootstrap: len(cfg.Peers) > 0}, nil
}

// restoreStorage checks the WAL's state against cfg and appliedIndex and
// loads it into a MemoryStorage; with cfg.ForceNewCluster it first
// rewrites the log, through w, into that of a cluster of one.
func restoreStorage(cfg Config, w *wal.WAL, st *wal.State, appliedIndex uint64) (*restored, error) {
	md := st.Metadata
	if cfg.MemberID != 0 && cfg.MemberID != md.MemberID {
		return nil, fmt.Errorf("%w: member id %x, WAL has %x", ErrIDMismatch, cfg.MemberID, md.MemberID)
	}
	if cfg.ClusterID != 0 && cfg.ClusterID != md.ClusterID {
		return nil, fmt.Errorf("%w: cluster id %x, WAL has %x", ErrIDMismatch, cfg.ClusterID, md.ClusterID)
	}
	snapIndex := st.SnapshotIndex()
	hs := st.HardState
	if hs == nil {
		hs = &raftpb.HardState{}
	}
	if hs.GetCommit() < snapIndex {
		// A snapshot from the leader was saved but not the HardState
		// after it; the snapshot itself proves the commit.
		hs.Commit = &snapIndex
	}
	if appliedIndex < snapIndex {
		return nil, fmt.Errorf("%w: the engine has applied index %d, older than the WAL snapshot at %d; restore the engine from a newer snapshot", ErrIndexMismatch, appliedIndex, snapIndex)
	}
	if appliedIndex > st.LastIndex() && st.Snapshot == nil {
		return nil, fmt.Errorf("%w: the engine has applied index %d, past the last WAL entry %d", ErrIndexMismatch, appliedIndex, st.LastIndex())
	}
	// An engine past the last WAL entry holds a snapshot from the leader,
	// taken when the leader had applied more than the snapshot's index;
	// the WAL recorded the snapshot before the engine installed it. Raft
	// restarts at the end of its log and the entries up to appliedIndex
	// are skipped as they come again.
	if commit := min(appliedIndex, st.LastIndex()); commit > hs.GetCommit() {
		// A HardState that only advanced the commit index is written
		// without fsync; the engine applying the entries proves it.
		hs.Commit = &commit
	}
	snap, ents := st.Snapshot, st.Entries
	if cfg.ForceNewCluster {
		f, err := forceNewCluster(cfg, w, md, snap, hs, ents, appliedIndex)
		if err != nil {
			return nil, err
		}
		snap, ents, hs = f.snapshot, f.entries, f.hs
	} else {
		cfg.Logger.Info("restarting local member", zap.Stringer("cluster-id", types.ID(md.ClusterID)),
			zap.Stringer("local-member-id", types.ID(md.MemberID)), zap.Uint64("commit-index", hs.GetCommit()))
	}
	ms := etcdraft.NewMemoryStorage()
	if snap != nil {
		if err := ms.ApplySnapshot(&raftpb.Snapshot{Metadata: snap}); err != nil {
			return nil, err
		}
	}
	if err := ms.SetHardState(hs); err != nil {
		return nil, err
	}
	if err := ms.Append(ents); err != nil {
		return nil, err
	}
	return &restored{storage: ms, md: md, snapshot: snap}, nil
}

// raftConfig returns the raft library configuration. Applied is the
// snapshot index, not the engine's applied index: the entries between the
// two are delivered again so that conf changes among them reach raft, and
// the apply loop keeps the ones the engine already has from the Applier.
func raftConfig(cfg Config, r *restored) *etcdraft.Config {
	return &etcdraft.Config{
		ID:              r.md.MemberID,
		ElectionTick:    cfg.ElectionTicks,
		HeartbeatTick:   1,
		Storage:         r.storage,
		Applied:         r.snapshot.GetIndex(),
		MaxSizePerMsg:   cfg.MaxSizePerMsg,
		MaxInflightMsgs: cfg.MaxInflightMsgs,
		CheckQuorum:     true,
		PreVote:         !cfg.DisablePreVote,
		Logger:          newRaftLogger(cfg.Logger),
	}
}

// newRawNode starts raft on r, bootstrapping cfg.Peers for a new cluster.
func newRawNode(cfg Config, r *restored) (*etcdraft.RawNode, error) {
	rn, err := etcdraft.NewRawNode(raftConfig(cfg, r))
	if err != nil {
		return nil, err
	}
	if !r.bootstrap {
		return rn, nil
	}
	peers := make([]etcdraft.Peer, len(cfg.Peers))
	for i, p := range cfg.Peers {
		ctx, err := json.Marshal(p)
		if err != nil {
			return nil, err
		}
		peers[i] = etcdraft.Peer{ID: p.ID, Context: ctx}
	}
	if err := rn.Bootstrap(peers); err != nil {
		return nil, fmt.Errorf("raft: bootstrap: %w", err)
	}
	return rn, nil
}
