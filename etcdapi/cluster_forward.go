package etcdapi

import (
	"context"
	"errors"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/protobuf/proto"
)

// callLeader sends req as call name to the leader and decodes its answer
// into resp. It returns ErrNoLeader when no leader is known,
// errNoForwardPath when this member cannot forward the call, else the
// leader's error or the transport's.
func (c *ClusterServer) callLeader(ctx context.Context, name string, req, resp proto.Message) error {
	if err := c.s.canForward(ctx); err != nil {
		return err
	}
	lead := c.s.raft.Status().Leader
	if c.s.members.Get(lead) == nil {
		return ErrNoLeader
	}
	return c.s.callPeer(ctx, lead, name, req, resp)
}

// forwardPromote sends a MemberPromote to the leader.
func (c *ClusterServer) forwardPromote(ctx context.Context, r *pb.MemberPromoteRequest) (*pb.MemberPromoteResponse, error) {
	resp := &pb.MemberPromoteResponse{}
	if err := c.callLeader(ctx, peerCallMemberPromote, r, resp); err != nil {
		if errors.Is(err, errNoForwardPath) {
			err = rpctypes.ErrGRPCNotLeader
		}
		return nil, err
	}
	return resp, nil
}

// forwardAdd sends a MemberAdd to the leader; the response header is this
// member's.
func (c *ClusterServer) forwardAdd(ctx context.Context, r *pb.MemberAddRequest) (*pb.MemberAddResponse, error) {
	resp := &pb.MemberAddResponse{}
	if err := c.callLeader(ctx, peerCallMemberAdd, r, resp); err != nil {
		return nil, err
	}
	resp.Header = c.header()
	return resp, nil
}

// forwardRemove sends a MemberRemove to the leader; the response header
// is this member's. When the leader removes itself, this member drops
// its connection to it as it applies the removal, perhaps before the
// answer came: a call cut short whose member is gone has succeeded.
func (c *ClusterServer) forwardRemove(ctx context.Context, r *pb.MemberRemoveRequest) (*pb.MemberRemoveResponse, error) {
	resp := &pb.MemberRemoveResponse{}
	err := c.callLeader(ctx, peerCallMemberRemove, r, resp)
	switch {
	case err != nil && !leaderMeant(err) && c.s.members.Get(r.ID) == nil:
		resp.Members = c.protoMembers()
	case err != nil:
		return nil, err
	}
	resp.Header = c.header()
	return resp, nil
}
