package etcdapi

import (
	"context"
	"errors"
	"sync"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/client/pkg/v3/types"
	"go.uber.org/zap"

	"github.com/metastore/metastore/etcdapi/corruption"
	"github.com/metastore/metastore/pluginapi/storage"
)

// RaiseCorrupt proposes the CORRUPT alarm of member (0: a member the
// check could not single out), as etcd's corruption checks do.
func (s *Server) RaiseCorrupt(ctx context.Context, member uint64) error {
	s.lg.Error("raising CORRUPT", zap.Stringer("member-id", types.ID(member)))
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

// NewCorruptionChecker returns the corruption checker of this member;
// peers reaches the other members.
func (s *Server) NewCorruptionChecker(peers corruption.PeerHasher) *corruption.Checker {
	return corruption.New(s.lg.Named("corruption"), s.store, peers, s.linearizableBarrier, s.RaiseCorrupt)
}
