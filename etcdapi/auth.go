package etcdapi

import (
	"context"
	"fmt"
	"strings"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/metastore/metastore/etcdapi/auth"
)

// AuthConfig configures authentication on a member, and TokenOptions its
// token provider: the auth package's, named here for the host, which
// configures the member through this package alone.
type (
	AuthConfig   = auth.Config
	TokenOptions = auth.TokenOptions
)

// waitApplied waits until this member has applied index.
func (s *Server) waitApplied(ctx context.Context, index uint64) error {
	if s.store.ConsistentIndex() >= index {
		return nil
	}
	if s.raft == nil {
		return fmt.Errorf("etcdapi: raft index %d not applied", index)
	}
	return s.raft.WaitApplied(ctx, index)
}

// callerAuthInfo returns who a request acts for: the user of its token
// ("token" or "authorization" metadata, as clientv3 and the gateway send
// it), else, with --client-cert-auth, the common name of its verified
// client certificate, else nobody. With auth disabled it is nobody. A
// request that did not arrive over gRPC is the member's own (a lease
// expiring, a compaction it schedules) and acts as root, as in etcd.
func (s *Server) callerAuthInfo(ctx context.Context) (auth.Info, error) {
	enabled, rev := s.auth.Status()
	if !enabled {
		return auth.Info{}, nil
	}
	if _, ok := peer.FromContext(ctx); !ok {
		return auth.Info{User: auth.RootUser, Revision: rev}, nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	ts := md.Get(rpctypes.TokenFieldNameGRPC)
	if len(ts) == 0 {
		ts = md.Get(rpctypes.TokenFieldNameSwagger)
	}
	if len(ts) > 0 {
		return s.auth.VerifyToken(ctx, strings.TrimPrefix(ts[0], "Bearer "), rev)
	}
	if s.auth.ClientCertAuth() {
		if cn := verifiedCommonName(ctx, md); cn != "" {
			return auth.Info{User: cn, Revision: rev}, nil
		}
	}
	return auth.Info{}, nil
}

// verifiedCommonName returns the common name of the client certificate
// of a TLS connection, if it was verified, unless the request came through
// the gRPC gateway (whose certificate is not the user's).
func verifiedCommonName(ctx context.Context, md metadata.MD) string {
	p, ok := peer.FromContext(ctx)
	if !ok || p.AuthInfo == nil {
		return ""
	}
	tlsInfo, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return ""
	}
	if len(md.Get("grpcgateway-accept")) > 0 {
		return ""
	}
	for _, chain := range tlsInfo.State.VerifiedChains {
		if len(chain) > 0 {
			return chain[0].Subject.CommonName
		}
	}
	return ""
}

// authorizeProposal checks r, before it is proposed, as the applier will
// check it, and returns the header that carries the caller's identity to
// the applier. Authenticate carries none: its password was checked.
func (s *Server) authorizeProposal(ctx context.Context, r *pb.InternalRaftRequest) (*pb.RequestHeader, error) {
	hdr := &pb.RequestHeader{}
	if r.Authenticate != nil {
		return hdr, nil
	}
	ai, err := s.callerAuthInfo(ctx)
	if err != nil {
		return nil, err
	}
	hdr.Username, hdr.AuthRevision = ai.User, ai.Revision
	auth.SetHeaderGroups(hdr, ai.Groups)
	if err := s.auth.Authorize(ai, r, s.leaseKeys()); err != nil {
		return nil, err
	}
	return hdr, nil
}

// authorizeRead checks a read that does not go through raft with chk,
// as etcd does serialized requests; the returned recheck, called after
// the read, fails with auth.ErrAuthOldRevision if auth changed meanwhile.
func (s *Server) authorizeRead(ctx context.Context, chk func(auth.Info) error) (recheck func() error, err error) {
	ai, err := s.callerAuthInfo(ctx)
	if err != nil {
		return nil, err
	}
	if err := chk(ai); err != nil {
		return nil, err
	}
	return func() error {
		if ai.Revision != 0 && ai.Revision != s.auth.Revision() {
			return auth.ErrAuthOldRevision
		}
		return nil
	}, nil
}

// authorizeRange checks a range read of [key, rangeEnd).
func (s *Server) authorizeRange(ctx context.Context, key, rangeEnd []byte) (func() error, error) {
	return s.authorizeRead(ctx, func(ai auth.Info) error { return s.auth.RangePermitted(ai, key, rangeEnd) })
}

// authorizeReadTxn checks a txn served without raft.
func (s *Server) authorizeReadTxn(ctx context.Context, r *pb.TxnRequest) (func() error, error) {
	return s.authorizeRead(ctx, func(ai auth.Info) error { return s.auth.TxnPermitted(ai, r, s.leaseKeys()) })
}
