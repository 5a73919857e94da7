package etcdapi

import (
	"context"
	"errors"
	"net/url"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// forwardPromote sends a MemberPromote to the leader's client URLs, as
// etcd forwards it over its peer URLs.
func (c *ClusterServer) forwardPromote(ctx context.Context, r *pb.MemberPromoteRequest) (*pb.MemberPromoteResponse, error) {
	lead := c.s.members.get(c.s.raft.Status().Leader)
	if lead == nil {
		return nil, rpctypes.ErrGRPCNoLeader
	}
	var errs []error
	for _, raw := range lead.ClientURLs {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			continue
		}
		conn, err := grpc.NewClient("passthrough:///"+u.Host, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		resp, err := pb.NewClusterClient(conn).MemberPromote(ctx, r)
		_ = conn.Close()
		if err == nil {
			return resp, nil
		}
		errs = append(errs, err)
		if errors.Is(ctx.Err(), context.Canceled) {
			break
		}
	}
	if len(errs) > 0 {
		return nil, errs[len(errs)-1]
	}
	return nil, rpctypes.ErrGRPCNotLeader
}
