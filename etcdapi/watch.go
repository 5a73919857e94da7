package etcdapi

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/metadata"

	"github.com/metastore/metastore/etcdapi/watch"
)

// WatchServer serves the etcd Watch service.
type WatchServer struct {
	pb.UnimplementedWatchServer
	s       *Server
	streams *watch.Server
}

// Watch returns the Watch service of s.
func (s *Server) Watch() *WatchServer {
	return &WatchServer{s: s, streams: watch.New(watch.Deps{
		Log: s.lg, Store: s.store, Member: watchMember{s},
		MaxRequestBytes:        s.cfg.MaxRequestBytes,
		ProgressNotifyInterval: s.cfg.WatchProgressNotifyInterval,
	})}
}

// Watch serves one watch stream.
func (ws *WatchServer) Watch(stream pb.Watch_WatchServer) error {
	if requiresLeader(stream.Context()) && ws.s.raft.Status().Leader == 0 {
		return rpctypes.ErrGRPCNoLeader
	}
	return ws.streams.Serve(stream)
}

// requiresLeader reports whether the client asked to fail without a
// leader (clientv3.WithRequireLeader).
func requiresLeader(ctx context.Context) bool {
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return false
	}
	vs := md.Get(rpctypes.MetadataRequireLeaderKey)
	return len(vs) > 0 && vs[0] == rpctypes.MetadataHasLeader
}

// watchMember is the Server as the watch streams see it.
type watchMember struct{ s *Server }

func (m watchMember) Header(rev int64) *pb.ResponseHeader {
	r := m.s.raft
	return &pb.ResponseHeader{ClusterId: r.ClusterID(), MemberId: r.MemberID(), Revision: rev, RaftTerm: r.Status().Term}
}

// WatchDenied gives the reason etcd cancels a watch with when the caller
// may not read the range.
func (m watchMember) WatchDenied(ctx context.Context, key, rangeEnd []byte) string {
	ai, err := m.s.callerAuthInfo(ctx)
	if err == nil {
		err = m.s.auth.RangePermitted(ai, key, rangeEnd)
	}
	if err == nil {
		return ""
	}
	return toGRPCError(err).Error()
}
