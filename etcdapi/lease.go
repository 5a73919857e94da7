package etcdapi

import (
	"context"
	"errors"
	"io"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.uber.org/zap"

	"github.com/metastore/metastore/etcdapi/lease"
)

// Errors of the lease service, besides ErrLeaseNotFound: the lessor's.
var (
	ErrLeaseExist       = lease.ErrExist
	ErrLeaseTTLTooLarge = lease.ErrTTLTooLarge
	// ErrNotPrimary is returned for keepalives and TTL queries on a member
	// that is not the leader: only the leader counts lease time. It becomes
	// rpctypes.ErrGRPCNotLeader.
	ErrNotPrimary = lease.ErrNotPrimary
)

// leaseGRPCError is toGRPCError with the lease service's own errors.
func leaseGRPCError(err error) error {
	switch {
	case errors.Is(err, ErrLeaseExist):
		return rpctypes.ErrGRPCLeaseExist
	case errors.Is(err, ErrLeaseTTLTooLarge):
		return rpctypes.ErrGRPCLeaseTTLTooLarge
	case errors.Is(err, ErrNotPrimary):
		return rpctypes.ErrGRPCNotLeader
	}
	return toGRPCError(err)
}

// LeaseServer serves the etcd Lease service.
type LeaseServer struct {
	pb.UnimplementedLeaseServer
	s *Server
}

// Lease returns the Lease service of s.
func (s *Server) Lease() *LeaseServer { return &LeaseServer{s: s} }

// LeaseGrant grants a lease, with the client's ID or, for ID 0, one the
// server chooses. TTLs below the minimum are raised to it.
func (ls *LeaseServer) LeaseGrant(ctx context.Context, r *pb.LeaseGrantRequest) (*pb.LeaseGrantResponse, error) {
	for r.ID == 0 {
		r.ID = int64(ls.s.nextID.Add(1) & (1<<63 - 1))
	}
	res, err := ls.s.propose(ctx, &pb.InternalRaftRequest{LeaseGrant: r})
	if err = firstErr(err, res.Err); err != nil {
		return nil, leaseGRPCError(err)
	}
	resp := res.Resp.(*pb.LeaseGrantResponse)
	ls.s.fillHeader(resp.Header)
	return resp, nil
}

// LeaseRevoke revokes a lease, deleting its keys at one revision.
func (ls *LeaseServer) LeaseRevoke(ctx context.Context, r *pb.LeaseRevokeRequest) (*pb.LeaseRevokeResponse, error) {
	res, err := ls.s.propose(ctx, &pb.InternalRaftRequest{LeaseRevoke: r})
	if err = firstErr(err, res.Err); err != nil {
		return nil, leaseGRPCError(err)
	}
	resp := res.Resp.(*pb.LeaseRevokeResponse)
	ls.s.fillHeader(resp.Header)
	return resp, nil
}

// LeaseTimeToLive reports a lease's remaining and granted TTL and, if
// asked, its keys; a missing lease has TTL -1, as in etcd. A follower asks
// the leader.
func (ls *LeaseServer) LeaseTimeToLive(ctx context.Context, r *pb.LeaseTimeToLiveRequest) (*pb.LeaseTimeToLiveResponse, error) {
	err := ls.s.leaderCaughtUp(ctx)
	if errors.Is(err, ErrNotPrimary) {
		var resp *pb.LeaseTimeToLiveResponse
		if resp, err = ls.forwardTimeToLive(ctx, r); err == nil {
			resp.Header = &pb.ResponseHeader{}
			ls.s.fillHeader(resp.Header)
			return resp, nil
		}
		switch {
		case errors.Is(err, ErrNotPrimary): // this member leads now
			err = ls.s.leaderCaughtUp(ctx)
		case errors.Is(err, errNoForwardPath):
			err = ErrNotPrimary
		}
	}
	if err != nil {
		return nil, leaseGRPCError(err)
	}
	resp := &pb.LeaseTimeToLiveResponse{Header: &pb.ResponseHeader{}, ID: r.ID}
	st, err := ls.s.leases.Status(r.ID, r.Keys)
	switch {
	case errors.Is(err, ErrLeaseNotFound):
		resp.TTL = -1
	case err != nil:
		return nil, leaseGRPCError(err)
	default:
		resp.TTL, resp.GrantedTTL = st.TTL, st.Granted
		if r.Keys {
			resp.Keys = make([][]byte, len(st.Keys))
			for i, k := range st.Keys {
				resp.Keys[i] = []byte(k)
			}
		}
	}
	ls.s.fillHeader(resp.Header)
	return resp, nil
}

// LeaseLeases lists every lease, sorted by ID.
func (ls *LeaseServer) LeaseLeases(ctx context.Context, _ *pb.LeaseLeasesRequest) (*pb.LeaseLeasesResponse, error) {
	ids := ls.s.leases.IDs()
	resp := &pb.LeaseLeasesResponse{Header: &pb.ResponseHeader{}, Leases: make([]*pb.LeaseStatus, len(ids))}
	for i, id := range ids {
		resp.Leases[i] = &pb.LeaseStatus{ID: id}
	}
	ls.s.fillHeader(resp.Header)
	return resp, nil
}

// LeaseKeepAlive renews leases as the client asks, answering each request
// with the lease's TTL, or TTL 0 for a lease that does not exist. A
// follower renews them on the leader.
func (ls *LeaseServer) LeaseKeepAlive(stream pb.Lease_LeaseKeepAliveServer) error {
	errc := make(chan error, 1)
	go func() { errc <- ls.keepAlive(stream) }()
	select {
	case err := <-errc:
		return err
	case <-stream.Context().Done():
		return stream.Context().Err()
	}
}

func (ls *LeaseServer) keepAlive(stream pb.Lease_LeaseKeepAliveServer) error {
	ctx := stream.Context()
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		// The header is taken before the renewal, as etcd does: a lease
		// revoked at revision R never shows a renewal at a later one.
		resp := &pb.LeaseKeepAliveResponse{ID: req.ID, Header: &pb.ResponseHeader{}}
		ls.s.fillHeader(resp.Header)
		ttl, err := ls.s.renewLease(ctx, req.ID)
		if errors.Is(err, ErrNotPrimary) {
			switch ttl, err = ls.forwardRenew(ctx, req.ID); {
			case errors.Is(err, ErrNotPrimary):
				ttl, err = ls.s.renewLease(ctx, req.ID) // this member leads now
			case errors.Is(err, errNoForwardPath):
				err = ErrNotPrimary
			}
		}
		if errors.Is(err, ErrLeaseNotFound) {
			ttl, err = 0, nil
		}
		if err != nil {
			ls.s.lg.Debug("lease keepalive failed", zap.Int64("lease-id", req.ID), zap.Error(err))
			return leaseGRPCError(err)
		}
		resp.TTL = ttl
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
}

// renewLease renews a lease on the leader once it has applied everything
// committed, so a lease granted in an earlier term is known.
func (s *Server) renewLease(ctx context.Context, id int64) (int64, error) {
	if err := s.leaderCaughtUp(ctx); err != nil {
		return 0, err
	}
	return s.leases.Renew(ctx, id)
}

// leaderCaughtUp returns ErrNotPrimary (ErrNoLeader when none is known)
// unless this member leads, then waits until it has applied every entry
// it knows committed.
func (s *Server) leaderCaughtUp(ctx context.Context) error {
	st := s.raft.Status()
	switch {
	case st.Leader == 0:
		return ErrNoLeader
	case !s.syncLeaseRole():
		return ErrNotPrimary
	case st.AppliedIndex >= st.CommitIndex:
		return nil
	}
	return s.proposeError(ctx, s.raft.WaitApplied(ctx, st.CommitIndex))
}
