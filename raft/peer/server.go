package peer

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"go.etcd.io/etcd/client/pkg/v3/types"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Metadata keys of every peer stream.
const (
	mdClusterID = "metastore-cluster-id"
	mdFrom      = "metastore-from"
	mdTo        = "metastore-to"
)

const (
	serviceName       = "metastore.peer.v1.Peer"
	methodStream      = "/" + serviceName + "/Stream"
	methodSnapshot    = "/" + serviceName + "/Snapshot"
	methodMembers     = "/" + serviceName + "/Members"
	errRemovedMessage = "peer: the member has been removed from the cluster"
)

var (
	streamDesc   = grpc.StreamDesc{StreamName: "Stream", ClientStreams: true}
	snapshotDesc = grpc.StreamDesc{StreamName: "Snapshot", ClientStreams: true}
)

// service is the handler type of the peer service.
type service interface{}

var serviceDesc = grpc.ServiceDesc{
	ServiceName: serviceName,
	HandlerType: (*service)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Members",
		Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			if err := dec(&frame{}); err != nil {
				return nil, err
			}
			return srv.(*Transport).members()
		},
	}},
	Streams: []grpc.StreamDesc{
		{StreamName: "Stream", ClientStreams: true, Handler: func(srv any, ss grpc.ServerStream) error {
			return srv.(*Transport).serveStream(ss)
		}},
		{StreamName: "Snapshot", ClientStreams: true, Handler: func(srv any, ss grpc.ServerStream) error {
			return srv.(*Transport).serveSnapshot(ss)
		}},
	},
}

// ServerOptions are the options the gRPC server on the peer URLs needs.
func ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ForceServerCodec(frameCodec{}),
		grpc.MaxRecvMsgSize(math.MaxInt32),
		grpc.MaxSendMsgSize(math.MaxInt32),
	}
}

// Register adds the peer service to s, which must use ServerOptions.
func (t *Transport) Register(s *grpc.Server) { s.RegisterService(&serviceDesc, t) }

// accept checks the identities a peer stream announces and returns the
// local node and the sender's id.
func (t *Transport) accept(ctx context.Context) (Raft, uint64, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	get := func(k string) (uint64, error) {
		v := md.Get(k)
		if len(v) != 1 {
			return 0, fmt.Errorf("missing %s", k)
		}
		id, err := types.IDFromString(v[0])
		return uint64(id), err
	}
	cid, err1 := get(mdClusterID)
	from, err2 := get(mdFrom)
	to, err3 := get(mdTo)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, 0, status.Errorf(codes.InvalidArgument, "peer: bad stream header: %v", err)
	}
	return t.acceptIDs(cid, from, to)
}

// acceptIDs checks the identities a peer announces, its cluster's, its
// own and the member it means to reach, and returns the local node and
// the sender's id, or the gRPC status refusing the peer.
func (t *Transport) acceptIDs(cid, from, to uint64) (Raft, uint64, error) {
	r := t.node()
	if r == nil {
		return nil, 0, status.Error(codes.Unavailable, "peer: member not started yet")
	}
	if cid != r.ClusterID() {
		t.lg.Error("refused a peer of another cluster", zap.Stringer("remote-member-id", types.ID(from)),
			zap.Stringer("remote-cluster-id", types.ID(cid)), zap.Stringer("local-cluster-id", types.ID(r.ClusterID())))
		return nil, 0, status.Errorf(codes.FailedPrecondition,
			"peer: cluster ID mismatch: member %s of cluster %s contacted member %s of cluster %s",
			types.ID(from).String(), types.ID(cid).String(), types.ID(r.MemberID()).String(), types.ID(r.ClusterID()).String())
	}
	if to != r.MemberID() {
		t.lg.Error("refused a peer looking for another member", zap.Stringer("remote-member-id", types.ID(from)),
			zap.Stringer("wanted-member-id", types.ID(to)))
		return nil, 0, status.Errorf(codes.FailedPrecondition,
			"peer: member ID mismatch: member %s wanted member %s but reached member %s",
			types.ID(from).String(), types.ID(to).String(), types.ID(r.MemberID()).String())
	}
	if t.cfg.IsRemoved != nil && t.cfg.IsRemoved(from) {
		return nil, 0, status.Error(codes.PermissionDenied, errRemovedMessage)
	}
	return r, from, nil
}

// serveStream steps every message of every batch the peer sends.
func (t *Transport) serveStream(ss grpc.ServerStream) error {
	r, from, err := t.accept(ss.Context())
	if err != nil {
		return err
	}
	stats := t.stats.of(from)
	for {
		f := &frame{}
		if err := ss.RecvMsg(f); err != nil {
			if errors.Is(err, io.EOF) {
				return ss.SendMsg(&frame{})
			}
			return err
		}
		stats.receivedBytes.Add(uint64(len(f.b)))
		msgs, err := decodeBatch(f.b)
		if err != nil {
			stats.receivedFailures.Add(1)
			return status.Error(codes.InvalidArgument, err.Error())
		}
		for i, m := range msgs {
			if m.GetFrom() != from {
				continue
			}
			if err := r.Step(ss.Context(), m); err != nil {
				stats.receivedFailures.Add(uint64(len(msgs) - i))
				return status.Errorf(codes.Unavailable, "peer: %v", err)
			}
		}
	}
}

// members answers the Members call of a member joining the cluster.
func (t *Transport) members() (*frame, error) {
	r := t.node()
	if r == nil {
		return nil, status.Error(codes.Unavailable, "peer: member not started yet")
	}
	var ms []ListedMember
	if t.cfg.Members != nil {
		ms = t.cfg.Members()
	}
	b, err := json.Marshal(membersResponse{ClusterID: r.ClusterID(), Members: ms})
	if err != nil {
		return nil, err
	}
	return &frame{b: b}, nil
}

type membersResponse struct {
	ClusterID uint64         `json:"clusterID"`
	Members   []ListedMember `json:"members"`
}

// FetchMembers asks the members at urls, in turn, for the cluster id and
// the member list, as a member joining an existing cluster does. tlsCfg
// is the client TLS configuration for https URLs, as Config.TLS.
func FetchMembers(ctx context.Context, urls []string, tlsCfg *tls.Config) (clusterID uint64, members []ListedMember, err error) {
	var errs []error
	for _, raw := range urls {
		clusterID, members, err := fetchMembers(ctx, raw, tlsCfg)
		if err == nil {
			return clusterID, members, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", raw, err))
	}
	return 0, nil, fmt.Errorf("peer: could not get the cluster's members: %w", errors.Join(errs...))
}

func fetchMembers(ctx context.Context, raw string, tlsCfg *tls.Config) (uint64, []ListedMember, error) {
	conn, err := dialFirst([]string{raw}, tlsCfg)
	if err != nil {
		return 0, nil, err
	}
	defer conn.Close()
	out := &frame{}
	if err := conn.Invoke(ctx, methodMembers, &frame{}, out); err != nil {
		return 0, nil, err
	}
	var resp membersResponse
	if err := json.Unmarshal(out.b, &resp); err != nil {
		return 0, nil, err
	}
	return resp.ClusterID, resp.Members, nil
}
