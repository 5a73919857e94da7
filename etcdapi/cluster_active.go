package etcdapi

import (
	"context"
	"errors"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// ErrUnhealthy refuses a reconfiguration that would leave the members this
// one hears from short of a quorum.
var ErrUnhealthy = errors.New("etcdapi: unhealthy cluster")

// PeerActivity is what the strict reconfiguration check needs of the raft
// node beyond ClusterRaft: since when it has been hearing from a peer.
// The host's node adapter implements it.
type PeerActivity interface {
	// ActiveSince returns the start of the current run of messages from
	// peer id, or the zero time if id has been silent for an election
	// timeout.
	ActiveSince(id uint64) time.Time
}

// checkRemoveKeepsQuorum is etcd's check, under --strict-reconfig-check,
// that removing voter id leaves enough active members for a quorum: a
// member that is down may go; otherwise the voters active now, less the
// one removed, must still be a majority of the voters left. Only the
// leader hears from every member, so other members ask the leader
// (forwarded is true, and resp is the leader's answer); a member that
// cannot ask it (the call was forwarded to it) goes ahead with the
// started-members check alone.
func (c *ClusterServer) checkRemoveKeepsQuorum(ctx context.Context, r *pb.MemberRemoveRequest) (resp *pb.MemberRemoveResponse, forwarded bool, err error) {
	act, ok := c.s.raft.(PeerActivity)
	if !ok {
		return nil, false, nil
	}
	st := c.s.raft.Status()
	self := c.s.raft.MemberID()
	if st.Leader != self {
		resp, err := c.forwardRemove(ctx, r)
		if errors.Is(err, errNoForwardPath) {
			// Only started members can be counted here; the leader
			// cannot be asked.
			return nil, false, nil
		}
		return resp, true, err
	}
	if r.ID != self && act.ActiveSince(r.ID).IsZero() {
		return nil, false, nil
	}
	voters, active := 0, 0
	for _, m := range c.s.members.list() {
		if m.IsLearner {
			continue
		}
		voters++
		if m.ID == self || !act.ActiveSince(m.ID).IsZero() {
			active++
		}
	}
	if active-1 < 1+(voters-1)/2 {
		return nil, false, ErrUnhealthy
	}
	return nil, false, nil
}
