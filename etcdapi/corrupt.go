package etcdapi

import (
	"context"
	"errors"
	"fmt"
	"sync"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.uber.org/zap"

	"github.com/metastore/metastore/pluginapi/storage"
)

// ErrCorrupt is returned for a write applied while the CORRUPT alarm is
// active: the members disagree on the data, and no write may make it
// worse until an operator has repaired the cluster.
var ErrCorrupt = errors.New("etcdapi: corrupt cluster")

// refuseWhileCorrupt fails, as etcd's corrupt applier does, the requests
// that change the key space or leases while CORRUPT is active. A refused
// entry only advances the consistent index.
func (a *applier) refuseWhileCorrupt(index uint64, r *pb.InternalRaftRequest) (applyResult, bool) {
	refused := r.Put != nil || r.DeleteRange != nil || r.Txn != nil || r.Compaction != nil ||
		r.LeaseGrant != nil || r.LeaseRevoke != nil
	if !refused || !a.alarms.active(pb.AlarmType_CORRUPT) {
		return applyResult{}, true
	}
	a.store.SetConsistentIndex(index)
	return applyResult{err: ErrCorrupt}, false
}

// RaiseCorrupt proposes the CORRUPT alarm of member (0: a member the
// check could not single out), as etcd's corruption checks do.
func (s *Server) RaiseCorrupt(ctx context.Context, member uint64) error {
	s.lg.Error("raising CORRUPT", zap.String("member-id", fmt.Sprintf("%x", member)))
	ar := &pb.AlarmRequest{Action: pb.AlarmRequest_ACTIVATE, MemberID: member, Alarm: pb.AlarmType_CORRUPT}
	res, err := s.propose(ctx, &pb.InternalRaftRequest{Alarm: ar})
	return firstErr(err, res.err)
}

// LinearizableBarrier waits until this member has applied everything
// committed when it was called.
func (s *Server) LinearizableBarrier(ctx context.Context) error { return s.linearizableBarrier(ctx) }

// engineCorruption remembers that this member raised CORRUPT for its
// own engine.
type engineCorruption struct {
	once sync.Once
}

// noteEngineError raises this member's CORRUPT alarm, once, when err says
// the storage engine returned data it could not decode or verify. It
// returns err unchanged.
func (s *Server) noteEngineError(err error) error {
	if err == nil || !errors.Is(err, storage.ErrCorrupt) || s.raft == nil {
		return err
	}
	s.maint.corruptOnce.once.Do(func() {
		s.lg.Error("storage engine returned corrupt data", zap.Error(err))
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
			defer cancel()
			if err := s.RaiseCorrupt(ctx, s.raft.MemberID()); err != nil {
				s.lg.Warn("raising CORRUPT failed", zap.Error(err))
			}
		}()
	})
	return err
}
