package etcdapi

import (
	"context"
	"errors"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// callLeader makes call on the leader's Cluster service, through its
// plain http client URLs in turn, as etcd forwards such requests over its
// peer URLs. It stops at the first success, at an error etcd defines (the
// leader's answer), or when ctx ends; it returns ErrNoLeader when no
// leader is known, and errNoForwardPath when the leader serves only TLS
// or unix socket client URLs. The caller's token travels with the call.
func (c *ClusterServer) callLeader(ctx context.Context, call func(context.Context, pb.ClusterClient) error) error {
	lead := c.s.members.get(c.s.raft.Status().Leader)
	if lead == nil {
		return ErrNoLeader
	}
	hosts := plainHTTPHosts(lead.ClientURLs)
	if len(hosts) == 0 && len(lead.ClientURLs) > 0 {
		return errNoForwardPath
	}
	var err error
	for _, host := range hosts {
		conn, cerr := grpc.NewClient("passthrough:///"+host, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if cerr != nil {
			err = cerr
			continue
		}
		err = call(forwardedContext(ctx), pb.NewClusterClient(conn))
		_ = conn.Close()
		if err == nil {
			return nil
		}
		if _, etcd := rpctypes.Error(err).(rpctypes.EtcdError); etcd || errors.Is(ctx.Err(), context.Canceled) {
			return err
		}
	}
	if err == nil {
		err = rpctypes.ErrGRPCNotLeader
	}
	return err
}

// forwardPromote sends a MemberPromote to the leader.
func (c *ClusterServer) forwardPromote(ctx context.Context, r *pb.MemberPromoteRequest) (*pb.MemberPromoteResponse, error) {
	var resp *pb.MemberPromoteResponse
	err := c.callLeader(ctx, func(ctx context.Context, cc pb.ClusterClient) (err error) {
		resp, err = cc.MemberPromote(ctx, r)
		return err
	})
	if errors.Is(err, errNoForwardPath) {
		err = rpctypes.ErrGRPCNotLeader
	}
	return resp, err
}

// forwardRemove sends a MemberRemove to the leader; the response header
// is this member's.
func (c *ClusterServer) forwardRemove(ctx context.Context, r *pb.MemberRemoveRequest) (*pb.MemberRemoveResponse, error) {
	var resp *pb.MemberRemoveResponse
	err := c.callLeader(ctx, func(ctx context.Context, cc pb.ClusterClient) (err error) {
		resp, err = cc.MemberRemove(ctx, r)
		return err
	})
	if err != nil {
		return nil, err
	}
	resp.Header = c.header()
	return resp, nil
}
