package etcdapi

import (
	"context"
	"encoding/json"
	"errors"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// A follower forwards some calls to the leader (lease renewals and TTL
// queries, which only the leader can answer, and some membership
// changes), as etcd forwards them over its peer URLs: each is a named
// call over the peer transport, with the peer TLS it already uses, so it
// works whatever the schemes of the leader's client URLs. The request
// carries the caller's token; the leader makes the auth checks its gRPC
// layer makes for its own clients, as that caller. A forwarded call is
// never forwarded again: a member that has lost the leadership meanwhile
// answers "not leader".

// PeerCaller makes a named call on another member over the peer
// transport. An error the called handler returns comes back as the same
// gRPC status.
type PeerCaller interface {
	Call(ctx context.Context, id uint64, name string, req []byte) ([]byte, error)
}

// PeerCallHandler answers one named call from a peer.
type PeerCallHandler = func(ctx context.Context, req []byte) ([]byte, error)

// The names of the forwarded calls.
const (
	peerCallLeaseRenew      = "lease.renew"
	peerCallLeaseTimeToLive = "lease.timetolive"
	peerCallMemberAdd       = "member.add"
	peerCallMemberPromote   = "member.promote"
	peerCallMemberRemove    = "member.remove"
)

// PeerCalls returns the handlers of the calls followers forward to the
// leader, by name, for the peer transport to serve. Each makes the auth
// check the gRPC layer makes for the same client call.
func (s *Server) PeerCalls() map[string]PeerCallHandler {
	ls, cs := &LeaseServer{s: s}, s.Cluster()
	return map[string]PeerCallHandler{
		peerCallLeaseRenew: serveForwarded(s, checkLeaseRenew, ls.renewHere,
			func() *pb.LeaseKeepAliveRequest { return &pb.LeaseKeepAliveRequest{} }),
		peerCallLeaseTimeToLive: serveForwarded(s, callChecks["/etcdserverpb.Lease/LeaseTimeToLive"], ls.LeaseTimeToLive,
			func() *pb.LeaseTimeToLiveRequest { return &pb.LeaseTimeToLiveRequest{} }),
		peerCallMemberPromote: serveForwarded(s, callChecks["/etcdserverpb.Cluster/MemberPromote"], cs.MemberPromote,
			func() *pb.MemberPromoteRequest { return &pb.MemberPromoteRequest{} }),
		peerCallMemberAdd: serveForwarded(s, callChecks["/etcdserverpb.Cluster/MemberAdd"], cs.MemberAdd,
			func() *pb.MemberAddRequest { return &pb.MemberAddRequest{} }),
		peerCallMemberRemove: serveForwarded(s, callChecks["/etcdserverpb.Cluster/MemberRemove"], cs.MemberRemove,
			func() *pb.MemberRemoveRequest { return &pb.MemberRemoveRequest{} }),
	}
}

// serveForwarded returns the handler of a forwarded call: it decodes a
// request newReq returns, makes check as the caller, and answers with
// handle, whose errors must already be gRPC ones.
func serveForwarded[Req, Resp proto.Message](s *Server, check callCheck, handle func(context.Context, Req) (Resp, error), newReq func() Req) PeerCallHandler {
	return func(ctx context.Context, req []byte) ([]byte, error) {
		r := newReq()
		ctx, err := forwardedCall(ctx, req, r)
		if err != nil {
			return nil, err
		}
		if err := check(s, ctx, r); err != nil {
			return nil, toGRPCError(err)
		}
		resp, err := handle(ctx, r)
		if err != nil {
			return nil, err
		}
		return proto.Marshal(resp)
	}
}

// errNoForwardPath: this member cannot forward the call, as it has no
// peer transport or the call was forwarded to it.
var errNoForwardPath = errors.New("etcdapi: no way to forward the call to the leader")

// forwardedRequest is what a forwarded call's request carries: the
// caller's token and the client's request, protobuf encoded.
type forwardedRequest struct {
	Token string `json:"token,omitempty"`
	Body  []byte `json:"body"`
}

// forwardedKey marks the context of a call a peer forwarded.
type forwardedKey struct{}

// canForward returns errNoForwardPath unless a call made with ctx may be
// forwarded.
func (s *Server) canForward(ctx context.Context) error {
	if s.peerCaller == nil || ctx.Value(forwardedKey{}) != nil {
		return errNoForwardPath
	}
	return nil
}

// callPeer sends req as call name to member id with the token of the
// client call ctx belongs to, and decodes the answer into resp.
func (s *Server) callPeer(ctx context.Context, id uint64, name string, req, resp proto.Message) error {
	body, err := proto.Marshal(req)
	if err != nil {
		return err
	}
	b, err := json.Marshal(forwardedRequest{Token: callerToken(ctx), Body: body})
	if err != nil {
		return err
	}
	out, err := s.peerCaller.Call(ctx, id, name, b)
	if err != nil {
		return err
	}
	return proto.Unmarshal(out, resp)
}

// callerToken returns the token a client call carries, "" if none.
func callerToken(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, k := range []string{rpctypes.TokenFieldNameGRPC, rpctypes.TokenFieldNameSwagger} {
		if v := md.Get(k); len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// forwardedCall decodes a forwarded request into r and returns the
// context to answer it in: the caller's token as its only metadata, and
// a peer without TLS state, so that auth checks see the caller rather
// than the certificate of the member that forwarded the call.
func forwardedCall(ctx context.Context, req []byte, r proto.Message) (context.Context, error) {
	var f forwardedRequest
	if err := json.Unmarshal(req, &f); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "etcdapi: forwarded request: %v", err)
	}
	if err := proto.Unmarshal(f.Body, r); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "etcdapi: forwarded request: %v", err)
	}
	md := metadata.MD{}
	if f.Token != "" {
		md.Set(rpctypes.TokenFieldNameGRPC, f.Token)
	}
	from := &peer.Peer{}
	if p, ok := peer.FromContext(ctx); ok {
		from.Addr = p.Addr
	}
	ctx = peer.NewContext(metadata.NewIncomingContext(ctx, md), from)
	return context.WithValue(ctx, forwardedKey{}, true), nil
}
