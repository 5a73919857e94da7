package etcdapi

import (
	"context"

	"go.etcd.io/etcd/api/v3/authpb"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"

	"github.com/metastore/metastore/etcdapi/auth"
)

// The checks etcd makes at its gRPC layer rather than in the state
// machine: calls only root may make, calls any authenticated user may
// make, and the lease calls whose answer depends on the keys attached.
// They run as interceptors, before the handler, keyed by gRPC method.

type callCheck func(s *Server, ctx context.Context, req any) error

var callChecks = map[string]callCheck{
	"/etcdserverpb.KV/Compact":             adminOnly,
	"/etcdserverpb.Maintenance/Defragment": adminOnly,
	"/etcdserverpb.Maintenance/Snapshot":   adminOnly,
	"/etcdserverpb.Maintenance/Hash":       adminOnly,
	"/etcdserverpb.Maintenance/HashKV":     adminOnly,
	"/etcdserverpb.Maintenance/MoveLeader": adminOnly,
	"/etcdserverpb.Maintenance/Downgrade":  adminOnly,
	"/etcdserverpb.Maintenance/Status":     anyUser,
	"/etcdserverpb.Maintenance/Alarm":      checkAlarm,
	"/etcdserverpb.Cluster/MemberAdd":      adminOnly,
	"/etcdserverpb.Cluster/MemberRemove":   adminOnly,
	"/etcdserverpb.Cluster/MemberUpdate":   adminOnly,
	"/etcdserverpb.Cluster/MemberPromote":  adminOnly,
	"/etcdserverpb.Cluster/MemberList":     anyUser,
	"/etcdserverpb.Lease/LeaseGrant":       anyUser,
	"/etcdserverpb.Lease/LeaseRevoke":      anyUser,
	"/etcdserverpb.Lease/LeaseTimeToLive":  checkLeaseTimeToLive,
	"/etcdserverpb.Lease/LeaseLeases":      checkLeaseLeases,
}

// AuthUnaryInterceptor makes the gRPC-layer auth checks of unary calls.
func (s *Server) AuthUnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if check := callChecks[info.FullMethod]; check != nil {
			if err := check(s, ctx, req); err != nil {
				return nil, toGRPCError(err)
			}
		}
		return handler(ctx, req)
	}
}

// AuthStreamInterceptor makes the gRPC-layer auth checks of streams: at
// the start for snapshots, and on every request of a keep-alive stream.
func (s *Server) AuthStreamInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		switch info.FullMethod {
		case "/etcdserverpb.Maintenance/Snapshot":
			if err := adminOnly(s, ss.Context(), nil); err != nil {
				return toGRPCError(err)
			}
		case "/etcdserverpb.Lease/LeaseKeepAlive":
			ss = &keepAliveAuthStream{ServerStream: ss, s: s}
		}
		return handler(srv, ss)
	}
}

func adminOnly(s *Server, ctx context.Context, _ any) error {
	ai, err := s.callerAuthInfo(ctx)
	if err != nil {
		return err
	}
	return s.auth.AdminPermitted(ai)
}

// anyUser requires some identity when auth is on.
func anyUser(s *Server, ctx context.Context, _ any) error {
	_, err := s.requireUser(ctx)
	return err
}

func (s *Server) requireUser(ctx context.Context) (auth.Info, error) {
	if !s.auth.Enabled() {
		return auth.Info{}, nil
	}
	ai, err := s.callerAuthInfo(ctx)
	if err == nil && ai.User == "" {
		err = auth.ErrUserEmpty
	}
	return ai, err
}

// checkAlarm lets any user list alarms; only root may raise or clear one.
func checkAlarm(s *Server, ctx context.Context, req any) error {
	if r, ok := req.(*pb.AlarmRequest); ok && r.Action == pb.AlarmRequest_GET {
		return anyUser(s, ctx, req)
	}
	return adminOnly(s, ctx, req)
}

// checkLeaseTimeToLive requires a user and, when keys are asked for, read
// permission on each.
func checkLeaseTimeToLive(s *Server, ctx context.Context, req any) error {
	ai, err := s.requireUser(ctx)
	if err != nil {
		return err
	}
	if r, ok := req.(*pb.LeaseTimeToLiveRequest); ok && r.Keys && s.auth.Enabled() {
		return s.auth.LeaseKeysPermitted(ai, []int64{r.ID}, authpb.Permission_READ, s.leaseKeys())
	}
	return nil
}

// checkLeaseLeases requires read permission on every key of every lease.
func checkLeaseLeases(s *Server, ctx context.Context, _ any) error {
	ai, err := s.requireUser(ctx)
	if err != nil || !s.auth.Enabled() {
		return err
	}
	return s.auth.LeaseKeysPermitted(ai, s.leaseIDs(), authpb.Permission_READ, s.leaseKeys())
}

// keepAliveAuthStream checks each keep-alive request: renewing a lease
// needs write permission on its keys, as in etcd. A refused request ends
// the stream with the error.
type keepAliveAuthStream struct {
	grpc.ServerStream
	s *Server
}

func (k *keepAliveAuthStream) RecvMsg(m any) error {
	if err := k.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	r, ok := m.(*pb.LeaseKeepAliveRequest)
	if !ok {
		return nil
	}
	return toGRPCError(checkLeaseRenew(k.s, k.ServerStream.Context(), r))
}

// checkLeaseRenew requires a user and write permission on the keys of
// the lease a keep-alive request renews.
func checkLeaseRenew(s *Server, ctx context.Context, req any) error {
	r := req.(*pb.LeaseKeepAliveRequest)
	ai, err := s.requireUser(ctx)
	if err == nil && s.auth.Enabled() {
		rev := s.auth.Revision()
		err = s.auth.LeaseKeysPermitted(ai, []int64{r.ID}, authpb.Permission_WRITE, s.leaseKeys())
		if err == nil && rev != s.auth.Revision() {
			err = auth.ErrAuthOldRevision
		}
	}
	return err
}
