package etcdapi

import (
	"context"
	"errors"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/membershippb"

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
