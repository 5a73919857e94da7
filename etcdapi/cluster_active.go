package etcdapi

import (
	"context"
	"errors"
	"net/url"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
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
// (forwarded is true, and resp is the leader's answer).
func (c *ClusterServer) checkRemoveKeepsQuorum(ctx context.Context, r *pb.MemberRemoveRequest) (resp *pb.MemberRemoveResponse, forwarded bool, err error) {
	act, ok := c.s.raft.(PeerActivity)
	if !ok {
		return nil, false, nil
	}
	st := c.s.raft.Status()
	self := c.s.raft.MemberID()
	if st.Leader != self {
		resp, err := c.forwardRemove(ctx, r)
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

// forwardRemove sends a MemberRemove to the leader's client URLs.
func (c *ClusterServer) forwardRemove(ctx context.Context, r *pb.MemberRemoveRequest) (*pb.MemberRemoveResponse, error) {
	lead := c.s.members.get(c.s.raft.Status().Leader)
	if lead == nil {
		return nil, ErrNoLeader
	}
	var err error
	for _, raw := range lead.ClientURLs {
		u, perr := url.Parse(raw)
		if perr != nil || u.Host == "" {
			continue
		}
		conn, cerr := grpc.NewClient("passthrough:///"+u.Host, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if cerr != nil {
			err = cerr
			continue
		}
		var resp *pb.MemberRemoveResponse
		resp, err = pb.NewClusterClient(conn).MemberRemove(forwardedContext(ctx), r)
		_ = conn.Close()
		if err == nil {
			resp.Header = c.header()
			return resp, nil
		}
		if _, etcd := rpctypes.Error(err).(rpctypes.EtcdError); etcd || ctx.Err() != nil {
			return nil, err
		}
	}
	if err == nil {
		err = ErrNoLeader
	}
	return nil, err
}
