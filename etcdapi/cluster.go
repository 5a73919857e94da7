package etcdapi

import (
	"context"
	"crypto/sha1"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/raft/v3/raftpb"
)

// ClusterRaft is what the Cluster service needs of raft beyond Raft; the
// host's node adapter implements it.
type ClusterRaft interface {
	// ProposeConfChange proposes a membership change.
	ProposeConfChange(ctx context.Context, cc raftpb.ConfChangeI) error
	// LeaderProgress returns, on the leader, each member's matched log
	// index; ok is false on other members.
	LeaderProgress(ctx context.Context) (match map[uint64]uint64, ok bool, err error)
	// TransferLeadership asks the leader to hand leadership to id.
	TransferLeadership(id uint64) error
}

// learnerReadyPercent is how close to the leader's log a learner must be
// to be promoted, as etcd.
const learnerReadyPercent = 0.9

// ClusterServer serves the etcd Cluster service.
type ClusterServer struct {
	pb.UnimplementedClusterServer
	s *Server
	// mu serialises this member's reconfigurations, so that each is
	// checked against the membership the previous one left.
	mu sync.Mutex
}

// Cluster returns the Cluster service of s.
func (s *Server) Cluster() *ClusterServer { return s.cluster }

func (c *ClusterServer) raft() (ClusterRaft, error) {
	cr, ok := c.s.raft.(ClusterRaft)
	if !ok {
		return nil, errors.New("etcdapi: raft cannot change the membership")
	}
	return cr, nil
}

// MemberList lists the members; a linearizable request first catches up
// with the leader.
func (c *ClusterServer) MemberList(ctx context.Context, r *pb.MemberListRequest) (*pb.MemberListResponse, error) {
	if r.Linearizable {
		if err := c.s.linearizableBarrier(ctx); err != nil {
			return nil, clusterError(err)
		}
	}
	return &pb.MemberListResponse{Header: c.header(), Members: c.protoMembers()}, nil
}

// MemberAdd adds a member, as a learner if asked, under a new id.
func (c *ClusterServer) MemberAdd(ctx context.Context, r *pb.MemberAddRequest) (*pb.MemberAddResponse, error) {
	urls, err := parsePeerURLs(r.PeerURLs)
	if err != nil {
		return nil, rpctypes.ErrGRPCMemberBadURLs
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m := &Member{ID: newMemberID(urls, time.Now()), PeerURLs: urls, IsLearner: r.IsLearner}
	if c.s.cfg.StrictReconfigCheck {
		if !m.IsLearner && !c.s.members.ReadyToAddVoter() {
			return nil, clusterError(ErrNotEnoughStarted)
		}
		resp, forwarded, err := c.checkAddKeepsQuorum(ctx, r)
		if err != nil {
			return nil, clusterError(err)
		}
		if forwarded {
			return resp, nil
		}
	}
	typ := raftpb.ConfChangeAddNode
	if m.IsLearner {
		typ = raftpb.ConfChangeAddLearnerNode
	}
	if err := c.configure(ctx, typ, m.ID, m); err != nil {
		return nil, clusterError(err)
	}
	return &pb.MemberAddResponse{Header: c.header(), Member: m.Proto(), Members: c.protoMembers()}, nil
}

// MemberRemove removes a member.
func (c *ClusterServer) MemberRemove(ctx context.Context, r *pb.MemberRemoveRequest) (*pb.MemberRemoveResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m := c.s.members.Get(r.ID); c.s.cfg.StrictReconfigCheck && m != nil && !m.IsLearner {
		if !c.s.members.ReadyToRemoveVoter(r.ID) {
			return nil, clusterError(ErrNotEnoughStarted)
		}
		resp, forwarded, err := c.checkRemoveKeepsQuorum(ctx, r)
		if err != nil {
			return nil, clusterError(err)
		}
		if forwarded {
			return resp, nil
		}
	}
	if err := c.configure(ctx, raftpb.ConfChangeRemoveNode, r.ID, nil); err != nil {
		return nil, clusterError(err)
	}
	return &pb.MemberRemoveResponse{Header: c.header(), Members: c.protoMembers()}, nil
}

// MemberUpdate changes a member's peer URLs.
func (c *ClusterServer) MemberUpdate(ctx context.Context, r *pb.MemberUpdateRequest) (*pb.MemberUpdateResponse, error) {
	urls, err := parsePeerURLs(r.PeerURLs)
	if err != nil {
		// etcd looks the member up first: an unknown one is not found,
		// whatever its URLs.
		if c.s.members.Get(r.ID) == nil {
			return nil, rpctypes.ErrGRPCMemberNotFound
		}
		return nil, rpctypes.ErrGRPCMemberBadURLs
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.configure(ctx, raftpb.ConfChangeUpdateNode, r.ID, &Member{ID: r.ID, PeerURLs: urls}); err != nil {
		return nil, clusterError(err)
	}
	return &pb.MemberUpdateResponse{Header: c.header(), Members: c.protoMembers()}, nil
}

// MemberPromote makes a learner a voter once it has caught up with the
// leader. Only the leader knows how far a learner is, so other members
// forward the request to it.
func (c *ClusterServer) MemberPromote(ctx context.Context, r *pb.MemberPromoteRequest) (*pb.MemberPromoteResponse, error) {
	cr, err := c.raft()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	match, isLeader, err := cr.LeaderProgress(ctx)
	if err != nil {
		return nil, clusterError(err)
	}
	if !isLeader {
		return c.forwardPromote(ctx, r)
	}
	learner, found := match[r.ID]
	if !found {
		return nil, clusterError(ErrMemberNotFound)
	}
	if leader := match[c.s.raft.MemberID()]; leader > 0 && float64(learner)/float64(leader) < learnerReadyPercent {
		return nil, clusterError(ErrLearnerNotReady)
	}
	if c.s.cfg.StrictReconfigCheck && !c.s.members.ReadyToPromote() {
		return nil, clusterError(ErrNotEnoughStarted)
	}
	m := c.s.members.Get(r.ID)
	if m == nil {
		return nil, clusterError(ErrMemberNotFound)
	}
	if !m.IsLearner {
		return nil, clusterError(ErrMemberNotLearner)
	}
	m.IsLearner = false
	if err := c.configure(ctx, raftpb.ConfChangeAddNode, r.ID, m); err != nil {
		return nil, clusterError(err)
	}
	return &pb.MemberPromoteResponse{Header: c.header(), Members: c.protoMembers()}, nil
}

// configure proposes a conf change and waits until it is applied here.
func (c *ClusterServer) configure(ctx context.Context, typ raftpb.ConfChangeType, id uint64, m *Member) error {
	cr, err := c.raft()
	if err != nil {
		return err
	}
	cc := &raftpb.ConfChange{Type: typ.Enum(), NodeId: &id}
	if m != nil {
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		cc.Context = b
	}
	// Refuse what the applier would refuse before raft applies it.
	if err := c.s.members.Validate(cc, m); err != nil {
		return err
	}
	reqID := c.s.nextID.Add(1)
	cc.Id = &reqID
	ch := c.s.waits.register(reqID)
	cctx, cancel := context.WithTimeout(ctx, c.s.cfg.RequestTimeout)
	defer cancel()
	if err := cr.ProposeConfChange(cctx, cc); err != nil {
		c.s.waits.cancel(reqID)
		return c.s.proposeError(ctx, err)
	}
	select {
	case res := <-ch:
		if d, ok := res.Err.(dropped); ok {
			return c.s.proposeError(ctx, d.err)
		}
		return res.Err
	case <-cctx.Done():
		c.s.waits.cancel(reqID)
		return c.s.proposeError(ctx, cctx.Err())
	case <-c.s.stopped:
		return ErrStopped
	}
}

// header is the Cluster service's response header: like etcd's, it has no
// revision.
func (c *ClusterServer) header() *pb.ResponseHeader {
	return &pb.ResponseHeader{ClusterId: c.s.raft.ClusterID(), MemberId: c.s.raft.MemberID(), RaftTerm: c.s.raft.Status().Term}
}

func (c *ClusterServer) protoMembers() []*pb.Member {
	list := c.s.members.List()
	out := make([]*pb.Member, len(list))
	for i, m := range list {
		out[i] = m.Proto()
	}
	return out
}

// parsePeerURLs checks URLs as etcd's types.NewURLs does and returns them
// sorted.
func parsePeerURLs(raw []string) ([]string, error) {
	if len(raw) == 0 {
		return nil, ErrMemberBadURLs
	}
	out := make([]string, 0, len(raw))
	for _, s := range raw {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil {
			return nil, err
		}
		switch u.Scheme {
		case "http", "https", "unix", "unixs":
		default:
			return nil, fmt.Errorf("%w: %q: unsupported scheme", ErrMemberBadURLs, s)
		}
		if _, _, err := net.SplitHostPort(u.Host); err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrMemberBadURLs, s, err)
		}
		if u.Path != "" {
			return nil, fmt.Errorf("%w: %q: a path is not allowed", ErrMemberBadURLs, s)
		}
		out = append(out, u.String())
	}
	slices.Sort(out)
	return out, nil
}

// newMemberID derives an added member's id as etcd does: from its peer
// URLs and the time of the request.
func newMemberID(urls []string, now time.Time) uint64 {
	b := []byte(strings.Join(urls, ""))
	b = append(b, fmt.Sprintf("%d", now.Unix())...)
	sum := sha1.Sum(b)
	return binary.BigEndian.Uint64(sum[:8])
}

// clusterErrors pairs membership sentinels with etcd's errors.
var clusterErrors = []struct {
	err  error
	grpc error
}{
	{ErrMemberExists, rpctypes.ErrGRPCMemberExist},
	{ErrMemberNotFound, rpctypes.ErrGRPCMemberNotFound},
	{ErrMemberRemoved, rpctypes.ErrGRPCMemberNotFound},
	{ErrPeerURLExists, rpctypes.ErrGRPCPeerURLExist},
	{ErrMemberNotLearner, rpctypes.ErrGRPCMemberNotLearner},
	{ErrLearnerNotReady, rpctypes.ErrGRPCLearnerNotReady},
	{ErrTooManyLearners, rpctypes.ErrGRPCTooManyLearners},
	{ErrNotEnoughStarted, rpctypes.ErrGRPCMemberNotEnoughStarted},
	{ErrMemberBadURLs, rpctypes.ErrGRPCMemberBadURLs},
	{ErrUnhealthy, rpctypes.ErrGRPCUnhealthy},
}

func clusterError(err error) error {
	for _, e := range clusterErrors {
		if errors.Is(err, e.err) {
			return e.grpc
		}
	}
	return toGRPCError(err)
}
