package etcdapi

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.uber.org/zap"
)

// leaseRunner runs the lease loop and the checkpointer of a Server.
type leaseRunner struct {
	stopped  atomic.Bool // set by StopLeases: this member no longer counts lease time
	stop     chan struct{}
	wg       sync.WaitGroup
	stopOnce sync.Once
}

// startLeases starts following this member's raft role: as leader it
// counts lease time, revokes expired leases and checkpoints remaining TTLs.
// StopLeases ends it.
func (s *Server) startLeases() {
	s.leaseRun.stop = make(chan struct{})
	s.leaseRun.wg.Add(2)
	go func() {
		defer s.leaseRun.wg.Done()
		s.leases.RunCheckpointer(s.leaseRun.stop, s.proposeCheckpoints)
	}()
	go func() {
		defer s.leaseRun.wg.Done()
		s.runLeaseLoop(s.leaseRun.stop)
	}()
}

// StopLeases checkpoints the remaining TTL of every lease, if this member
// is the leader, waiting until that is applied or ctx ends, then stops the
// lease loop. Call it before Stop, while raft still runs.
func (s *Server) StopLeases(ctx context.Context) error {
	if s.leaseRun.stop == nil || s.leaseRun.stopped.Load() {
		return nil
	}
	err := s.checkpointLeases(ctx, "stopping")
	s.leaseRun.stopped.Store(true)
	s.leaseRun.stopOnce.Do(func() { close(s.leaseRun.stop) })
	s.leaseRun.wg.Wait()
	s.leases.SetPrimary(false)
	return err
}

// checkpointLeases checkpoints the remaining TTL of every lease, if this
// member is the leader, and waits until that is applied or ctx ends. The
// leader calls it before it stops and before it hands leadership over, so
// the next leader continues TTLs rather than restarting them.
func (s *Server) checkpointLeases(ctx context.Context, why string) error {
	if !s.syncLeaseRole() {
		return nil
	}
	done := make(chan error, 1)
	n := s.leases.CheckpointAll(done)
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.lg.Info("checkpointed leases", zap.String("before", why), zap.Int("leases", n), zap.Error(err))
	return err
}

// syncLeaseRole makes the lessor primary exactly when this member leads
// and its leases have not been stopped, and reports whether it is.
func (s *Server) syncLeaseRole() bool {
	st := s.raft.Status()
	leader := st.Leader != 0 && st.Leader == s.raft.MemberID() && !s.leaseRun.stopped.Load()
	s.leases.SetPrimary(leader)
	return leader
}

// runLeaseLoop follows the raft role every ExpiryInterval; as leader it
// proposes the revocation of expired leases, at most RevokeRate per
// second with at most that many in flight, and the periodic checkpoint.
func (s *Server) runLeaseLoop(stop <-chan struct{}) {
	cfg := s.leases.Config()
	tick := time.NewTicker(cfg.ExpiryInterval)
	defer tick.Stop()
	perTick := max(1, int(int64(cfg.RevokeRate)*int64(cfg.ExpiryInterval)/int64(time.Second)))
	inflight := make(chan struct{}, cfg.RevokeRate)
	var revokes sync.WaitGroup
	defer revokes.Wait()
	lastCheckpoint := time.Now()
	wasLeader := false
	for {
		select {
		case <-tick.C:
		case <-stop:
			return
		}
		leader := s.syncLeaseRole()
		if leader && !wasLeader {
			lastCheckpoint = time.Now()
		}
		wasLeader = leader
		if !leader {
			continue
		}
		for _, id := range s.leases.Expired(min(perTick, cap(inflight)-len(inflight))) {
			inflight <- struct{}{}
			revokes.Add(1)
			go func() {
				defer revokes.Done()
				defer func() { <-inflight }()
				s.revokeExpired(id)
			}()
		}
		if time.Since(lastCheckpoint) >= cfg.CheckpointInterval {
			lastCheckpoint = time.Now()
			if n := s.leases.CheckpointDue(); n > 0 {
				s.lg.Debug("checkpointing leases", zap.Int("leases", n))
			}
		}
	}
}

// revokeExpired proposes the revocation of an expired lease. A failure is
// logged; the lessor offers the lease again after RevokeRetry.
func (s *Server) revokeExpired(id int64) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
	defer cancel()
	res, err := s.propose(ctx, &pb.InternalRaftRequest{LeaseRevoke: &pb.LeaseRevokeRequest{ID: id}})
	if err = firstErr(err, res.Err); err != nil && err != ErrLeaseNotFound {
		s.lg.Warn("revoking an expired lease failed", zap.Int64("lease-id", id), zap.Error(err))
	} else if err == nil {
		s.leases.NoteExpiredRevoked()
	}
}

// proposeCheckpoints replicates one LeaseCheckpoint entry and waits for it
// to apply.
func (s *Server) proposeCheckpoints(ctx context.Context, cps []*pb.LeaseCheckpoint) error {
	res, err := s.propose(ctx, &pb.InternalRaftRequest{LeaseCheckpoint: &pb.LeaseCheckpointRequest{Checkpoints: cps}})
	return firstErr(err, res.Err)
}
