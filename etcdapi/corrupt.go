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
	if !refused || !a.alarms.Active(pb.AlarmType_CORRUPT) {
		return applyResult{}, true
	}
	a.store.SetConsistentIndex(index)
	return applyResult{err: ErrCorrupt}, false
}

// RaiseCorrupt proposes the CORRUPT alarm of member (0: a member the
// check could not single out), as etcd's corruption checks do.
func (s *Server) RaiseCorrupt(ctx context.Context, member uint64) error {
	s.lg.Error("raising CORRUPT", zap.String("member-id", fmt.Sprintf("%x", member)))
	return s.raiseAlarm(ctx, member, pb.AlarmType_CORRUPT)
}

// LinearizableBarrier waits until this member has applied everything
// committed when it was called.
func (s *Server) LinearizableBarrier(ctx context.Context) error { return s.linearizableBarrier(ctx) }

// engineCorruption keeps engine corruption from proposing CORRUPT on
// every failed read: one proposal at a time, and none while this member's
// CORRUPT is raised. Once an operator disarms it, the next corrupt read
// raises it again.
type engineCorruption struct {
	mu      sync.Mutex
	raising bool
}

// noteEngineError raises this member's CORRUPT alarm when err says the
// storage engine returned data it could not decode or verify, unless it
// is raised already or being raised. It returns err unchanged.
func (s *Server) noteEngineError(err error) error {
	if err == nil || !errors.Is(err, storage.ErrCorrupt) || s.raft == nil {
		return err
	}
	c := &s.maint.corruptOnce
	self := s.raft.MemberID()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.raising || s.maint.alarms.Raised(self, pb.AlarmType_CORRUPT) {
		return err
	}
	c.raising = true
	s.lg.Error("storage engine returned corrupt data", zap.Error(err))
	go func() {
		defer func() {
			c.mu.Lock()
			c.raising = false
			c.mu.Unlock()
		}()
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
		defer cancel()
		if err := s.RaiseCorrupt(ctx, self); err != nil {
			s.lg.Warn("raising CORRUPT failed", zap.Error(err))
		}
	}()
	return err
}
