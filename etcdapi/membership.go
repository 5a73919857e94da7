package etcdapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/membershippb"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/metastore/metastore/etcdapi/membership"
)

// Member is a cluster member's record (see membership.Member).
type Member = membership.Member

// DefaultMaxLearners is how many learners a cluster may have by default
// (etcd's --max-learners default).
const DefaultMaxLearners = membership.DefaultMaxLearners

// Membership errors, as etcd's membership package names them: those of
// the records (membership's), and those of the Cluster service's checks.
var (
	ErrMemberExists      = membership.ErrMemberExists
	ErrMemberNotFound    = membership.ErrMemberNotFound
	ErrMemberRemoved     = membership.ErrMemberRemoved
	ErrPeerURLExists     = membership.ErrPeerURLExists
	ErrTooManyLearners   = membership.ErrTooManyLearners
	ErrMemberNotLearner  = errors.New("etcdapi: can only promote a learner member")
	ErrLearnerNotReady   = errors.New("etcdapi: can only promote a learner member which is in sync with leader")
	ErrNotEnoughStarted  = errors.New("etcdapi: re-configuration failed due to not enough started members")
	ErrMemberBadURLs     = errors.New("etcdapi: given member URLs are invalid")
	ErrBadLeaderTransfer = errors.New("etcdapi: bad leader transferee")
)

// applyConfChange records a committed conf change in the membership and
// the engine, and answers the request that proposed it.
func (a *applier) applyConfChange(e *raftpb.Entry) {
	index := e.GetIndex()
	cc := &raftpb.ConfChange{}
	if err := proto.Unmarshal(e.GetData(), cc); err != nil {
		a.lg.Panic("cannot decode committed conf change", zap.Uint64("index", index), zap.Error(err))
	}
	var ctx *Member
	if len(cc.GetContext()) > 0 {
		ctx = &Member{}
		if err := json.Unmarshal(cc.GetContext(), ctx); err != nil {
			a.lg.Panic("cannot decode conf change context", zap.Uint64("index", index), zap.Error(err))
		}
		ctx.ID = cc.GetNodeId()
	}
	tw := a.store.Write(index)
	err := a.members.Apply(tw, cc, ctx)
	if err == nil {
		a.lg.Info("applied membership change", zap.Uint64("index", index),
			zap.Stringer("type", cc.GetType()), zap.String("member-id", fmt.Sprintf("%x", cc.GetNodeId())))
	} else {
		a.lg.Warn("refused membership change", zap.Uint64("index", index),
			zap.Stringer("type", cc.GetType()), zap.String("member-id", fmt.Sprintf("%x", cc.GetNodeId())), zap.Error(err))
	}
	tw.End()
	if err == nil {
		a.members.Notify()
	}
	if cc.GetId() != 0 {
		a.waits.trigger(cc.GetId(), applyResult{err: err})
	}
}

// applyMemberAttrs records the name and client URLs a member publishes
// when it starts.
func (a *applier) applyMemberAttrs(index uint64, r *membershippb.ClusterMemberAttrSetRequest) applyResult {
	tw := a.store.Write(index)
	found := a.members.SetAttributes(tw, r.GetMember_ID(), r.GetMemberAttributes().GetName(),
		r.GetMemberAttributes().GetClientUrls())
	tw.End()
	if found {
		a.members.Notify()
	}
	return applyResult{}
}

// LoadMembership reads the membership from the engine; the host calls it
// at start and after installing a snapshot.
func (s *Server) LoadMembership(ctx context.Context) error {
	if err := s.members.Load(ctx, s.store); err != nil {
		return err
	}
	s.members.Notify()
	return nil
}

// SetMembershipHook registers f, which the apply loop calls with the new
// member list after every change (the host keeps its peers in sync).
func (s *Server) SetMembershipHook(f func([]Member)) {
	s.members.SetOnChange(f)
}

// Members returns the current members, sorted by id.
func (s *Server) Members() []Member {
	list := s.members.List()
	out := make([]Member, len(list))
	for i, m := range list {
		out[i] = *m
	}
	return out
}

// IsRemoved reports whether member id was removed from the cluster.
func (s *Server) IsRemoved(id uint64) bool { return s.members.IsRemoved(id) }

// PublishAttributes replicates this member's name and client URLs.
func (s *Server) PublishAttributes(ctx context.Context, name string, clientURLs []string) error {
	_, err := s.propose(ctx, &pb.InternalRaftRequest{ClusterMemberAttrSet: &membershippb.ClusterMemberAttrSetRequest{
		Member_ID:        s.raft.MemberID(),
		MemberAttributes: &membershippb.Attributes{Name: name, ClientUrls: clientURLs},
	}})
	return err
}
