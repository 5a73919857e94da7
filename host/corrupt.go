package host

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/client/pkg/v3/types"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/metastore/metastore/etcdapi/corruption"
	"github.com/metastore/metastore/mvcc"
)

// hashKVCall is the peer call that answers a member's HashKV at a
// revision, as etcd's peer /members/hashkv endpoint.
const hashKVCall = "hashkv"

type peerHashRequest struct {
	ClusterID uint64 `json:"clusterID"`
	Revision  int64  `json:"revision"`
}

type peerHashResponse struct {
	MemberID        uint64 `json:"memberID"`
	Revision        int64  `json:"revision"` // current
	Hash            uint32 `json:"hash"`
	CompactRevision int64  `json:"compactRevision"`
	HashRevision    int64  `json:"hashRevision"`
}

// serveHashKV answers peers' HashKV requests.
func (m *Member) serveHashKV(ctx context.Context, req []byte) ([]byte, error) {
	var r peerHashRequest
	if err := json.Unmarshal(req, &r); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "hashkv: %v", err)
	}
	if cid := m.clusterID(); r.ClusterID != 0 && cid != 0 && r.ClusterID != cid {
		return nil, status.Error(codes.FailedPrecondition, corruption.ErrClusterIDMismatch.Error())
	}
	h, cr, hr, err := m.store.HashKV(r.Revision)
	switch {
	case errors.Is(err, mvcc.ErrCompacted), errors.Is(err, mvcc.ErrFutureRev):
		return nil, status.Error(codes.OutOfRange, err.Error())
	case err != nil:
		return nil, status.Error(codes.Internal, err.Error())
	}
	return json.Marshal(peerHashResponse{MemberID: m.self.Load(), Revision: m.store.Rev(), Hash: h, CompactRevision: cr, HashRevision: hr})
}

func (m *Member) clusterID() uint64 {
	if m.node == nil {
		return 0
	}
	return m.node.ClusterID()
}

// peerHashes asks every other member for its HashKV at rev, in parallel.
func (m *Member) peerHashes(ctx context.Context, self, clusterID uint64, rev int64) []corruption.PeerHash {
	req, _ := json.Marshal(peerHashRequest{ClusterID: clusterID, Revision: rev})
	var out []corruption.PeerHash
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, p := range m.api.Members() {
		if p.ID == self {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ph := m.peerHash(ctx, p.ID, req)
			mu.Lock()
			out = append(out, ph)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

func (m *Member) peerHash(ctx context.Context, id uint64, req []byte) corruption.PeerHash {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.RequestTimeout())
	defer cancel()
	b, err := m.tr.Call(ctx, id, hashKVCall, req)
	if err != nil {
		msg := status.Convert(err).Message()
		switch {
		case strings.Contains(msg, mvcc.ErrCompacted.Error()):
			err = mvcc.ErrCompacted
		case strings.Contains(msg, mvcc.ErrFutureRev.Error()):
			err = mvcc.ErrFutureRev
		case strings.Contains(msg, corruption.ErrClusterIDMismatch.Error()):
			err = corruption.ErrClusterIDMismatch
		}
		m.lg.Warn("failed hash kv request", zap.Stringer("remote-peer-id", types.ID(id)), zap.Error(err))
		return corruption.PeerHash{MemberID: id, Err: err}
	}
	var r peerHashResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return corruption.PeerHash{MemberID: id, Err: err}
	}
	return corruption.PeerHash{MemberID: id, Resp: &pb.HashKVResponse{
		Header: &pb.ResponseHeader{MemberId: r.MemberID, Revision: r.Revision},
		Hash:   r.Hash, CompactRevision: r.CompactRevision, HashRevision: r.HashRevision,
	}}
}

// selfBeforeRaft is this member's id before raft runs: from the flags, or
// by name from the membership its data holds.
func (m *Member) selfBeforeRaft(fromFlags uint64) uint64 {
	if fromFlags != 0 {
		return fromFlags
	}
	for _, p := range m.api.Members() {
		if p.Name == m.cfg.Name {
			return p.ID
		}
	}
	return 0
}

// initialCorruptCheck runs the initial check of a member that has data,
// with InitialCorruptCheck on, before it joins raft.
func (m *Member) initialCorruptCheck(ctx context.Context, self, clusterID uint64, hasData bool) error {
	if !m.cfg.InitialCheck() || !hasData {
		return nil
	}
	chk := m.api.NewCorruptionChecker(func(ctx context.Context, rev int64) []corruption.PeerHash {
		return m.peerHashes(ctx, self, clusterID, rev)
	})
	if err := chk.InitialCheck(ctx, self); err != nil {
		m.lg.Error("checkInitialHashKV failed", zap.Error(err))
		return err
	}
	return nil
}

// startCorruptionMonitors starts, on every member, the leader's periodic
// and compaction hash checks that the settings ask for; they run while
// this member leads.
//
// It also starts answering the peers' HashKV requests, which, as in etcd,
// a member does once its raft node runs.
func (m *Member) startCorruptionMonitors() context.CancelFunc {
	m.calls.Handle(hashKVCall, m.serveHashKV)
	ctx, cancel := context.WithCancel(context.Background())
	self := m.node.MemberID()
	chk := m.api.NewCorruptionChecker(func(ctx context.Context, rev int64) []corruption.PeerHash {
		return m.peerHashes(ctx, self, m.node.ClusterID(), rev)
	})
	isLeader := func() bool { return m.node.Status().Leader == self }
	if every := m.cfg.CorruptCheckInterval(); every > 0 {
		m.lg.Info("enabled corruption checking", zap.Duration("interval", every))
		go monitorEvery(ctx, every, func() {
			if isLeader() {
				if err := chk.PeriodicCheck(ctx, self); err != nil {
					m.lg.Warn("failed to check hash KV", zap.Error(err))
				}
			}
		})
	}
	if m.cfg.CompactHashCheck() {
		go monitorEvery(ctx, m.cfg.CompactHashCheckInterval(), func() {
			if isLeader() {
				chk.CompactHashCheck(ctx, self)
			}
		})
	}
	return cancel
}

func monitorEvery(ctx context.Context, every time.Duration, check func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			check()
		}
	}
}
