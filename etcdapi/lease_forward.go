package etcdapi

import (
	"context"
	"errors"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// Only the leader keeps lease time, so a follower forwards keep-alives and
// TTL queries to it, as etcd does: until the request timeout passes, it
// finds the leader, sends it the call over the peer transport, and tries
// again after a short pause if the leader did not answer (it may have
// just lost its leadership). Auth is checked here before forwarding and
// again on the leader, as the same caller. Each keep-alive request of a
// client's stream is one call, answered before the next is read, so the
// stream's order and its one answer per request hold as without
// forwarding.

// forwardRetryPause is the pause between forwarding attempts.
const forwardRetryPause = 50 * time.Millisecond

// toLeader calls f with the leader's id until f succeeds, f fails with an
// error the leader meant (stop), this member becomes the leader
// (ErrNotPrimary is then returned for the caller to serve the call
// itself), or the request timeout passes: ErrNoLeader if no leader was
// known, else ErrTimeout. It returns errNoForwardPath if there is a
// leader but this member cannot forward the call.
func (ls *LeaseServer) toLeader(ctx context.Context, f func(ctx context.Context, lead uint64) (stop bool, err error)) error {
	cctx, cancel := context.WithTimeout(ctx, ls.s.cfg.RequestTimeout)
	defer cancel()
	sawLeader := false
	for {
		switch lead := ls.s.raft.Status().Leader; {
		case lead == ls.s.raft.MemberID():
			return ErrNotPrimary
		case ls.s.members.Get(lead) != nil:
			if err := ls.s.canForward(ctx); err != nil {
				return err
			}
			sawLeader = true
			if stop, err := f(cctx, lead); stop || err == nil {
				return err
			}
		}
		select {
		case <-cctx.Done():
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !sawLeader {
				return ErrNoLeader
			}
			return ErrTimeout
		case <-ls.s.stopped:
			return ErrStopped
		case <-time.After(forwardRetryPause):
		}
	}
}

// leaderMeant reports whether a forwarded call's error is the leader's
// answer rather than a failure to reach a leader.
func leaderMeant(err error) bool {
	switch {
	case errors.Is(err, rpctypes.ErrGRPCNotLeader), errors.Is(err, rpctypes.ErrGRPCNoLeader),
		errors.Is(err, rpctypes.ErrGRPCTimeout), errors.Is(err, rpctypes.ErrGRPCStopped):
		return false
	}
	// An error etcd defines, not a transport one.
	_, ok := rpctypes.Error(err).(rpctypes.EtcdError)
	return ok
}

// forwardRenew renews lease id on the leader and returns its TTL, 0 when
// the leader does not know the lease.
func (ls *LeaseServer) forwardRenew(ctx context.Context, id int64) (int64, error) {
	resp := &pb.LeaseKeepAliveResponse{}
	err := ls.toLeader(ctx, func(ctx context.Context, lead uint64) (bool, error) {
		err := ls.s.callPeer(ctx, lead, peerCallLeaseRenew, &pb.LeaseKeepAliveRequest{ID: id}, resp)
		return leaderMeant(err), err
	})
	return resp.TTL, err
}

// forwardTimeToLive asks the leader for a lease's TTL.
func (ls *LeaseServer) forwardTimeToLive(ctx context.Context, r *pb.LeaseTimeToLiveRequest) (*pb.LeaseTimeToLiveResponse, error) {
	resp := &pb.LeaseTimeToLiveResponse{}
	err := ls.toLeader(ctx, func(ctx context.Context, lead uint64) (bool, error) {
		err := ls.s.callPeer(ctx, lead, peerCallLeaseTimeToLive, r, resp)
		return leaderMeant(err), err
	})
	return resp, err
}

// renewHere renews a lease for a follower's client, answering TTL 0 for
// a lease that does not exist, and "not leader" unless this member leads.
func (ls *LeaseServer) renewHere(ctx context.Context, r *pb.LeaseKeepAliveRequest) (*pb.LeaseKeepAliveResponse, error) {
	ttl, err := ls.s.renewLease(ctx, r.ID)
	if errors.Is(err, ErrLeaseNotFound) {
		ttl, err = 0, nil
	}
	if err != nil {
		return nil, leaseGRPCError(err)
	}
	return &pb.LeaseKeepAliveResponse{ID: r.ID, TTL: ttl}, nil
}
