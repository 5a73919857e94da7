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

// healthInterval is how long a member must have been hearing from a peer
// before the strict reconfiguration check counts the peer as connected:
// etcd's HealthInterval. Right after a cluster starts, or after a peer
// comes back, a membership change is refused with "unhealthy cluster"
// until then, as in etcd.
const healthInterval = 5 * time.Second

// connectedVoters counts the voters this member has been hearing from for
// healthInterval, itself included, and all the voters.
func (c *ClusterServer) connectedVoters(act PeerActivity) (connected, voters int) {
	self := c.s.raft.MemberID()
	since := time.Now().Add(-healthInterval)
	for _, m := range c.s.members.List() {
		if m.IsLearner {
			continue
		}
		voters++
		if t := act.ActiveSince(m.ID); m.ID == self || (!t.IsZero() && t.Before(since)) {
			connected++
		}
	}
	return connected, voters
}

// checkRemoveKeepsQuorum is etcd's check, under --strict-reconfig-check,
// that removing voter id leaves enough connected members for a quorum: a
// member that is down may go; otherwise the voters connected for
// healthInterval, less the one removed, must still be a majority of the
// voters left. Other members ask the leader, so that one member's view
// decides (forwarded is true, and resp is the leader's answer); a member
// that cannot ask it (the call was forwarded to it) goes ahead with the
// started-members check alone.
func (c *ClusterServer) checkRemoveKeepsQuorum(ctx context.Context, r *pb.MemberRemoveRequest) (resp *pb.MemberRemoveResponse, forwarded bool, err error) {
	act, ok := c.s.raft.(PeerActivity)
	if !ok {
		return nil, false, nil
	}
	self := c.s.raft.MemberID()
	if c.s.raft.Status().Leader != self {
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
	connected, voters := c.connectedVoters(act)
	if connected-1 < 1+(voters-1)/2 {
		return nil, false, ErrUnhealthy
	}
	return nil, false, nil
}

// checkAddKeepsQuorum is etcd's check, under --strict-reconfig-check,
// that the voters connected for healthInterval stay a quorum once the new
// member (a learner too) counts as a voter that is not yet there; a
// one-member cluster may always grow. As for removals, other members ask
// the leader, which then makes the addition.
func (c *ClusterServer) checkAddKeepsQuorum(ctx context.Context, r *pb.MemberAddRequest) (resp *pb.MemberAddResponse, forwarded bool, err error) {
	act, ok := c.s.raft.(PeerActivity)
	if !ok {
		return nil, false, nil
	}
	if c.s.raft.Status().Leader != c.s.raft.MemberID() {
		resp, err := c.forwardAdd(ctx, r)
		if errors.Is(err, errNoForwardPath) {
			return nil, false, nil
		}
		return resp, true, err
	}
	connected, voters := c.connectedVoters(act)
	if voters > 1 && connected < (voters+1)/2+1 {
		return nil, false, ErrUnhealthy
	}
	return nil, false, nil
}
