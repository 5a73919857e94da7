package membership

import (
	"slices"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// Member is a cluster member's record. The JSON form is also the Context
// of the conf change entries that add or update members; it reads the
// Context of the entries bootstrapping a cluster (raft.Peer: id, name,
// urls) too.
type Member struct {
	ID         uint64   `json:"id"`
	Name       string   `json:"name,omitempty"`
	PeerURLs   []string `json:"urls"`
	ClientURLs []string `json:"clientURLs,omitempty"`
	IsLearner  bool     `json:"isLearner,omitempty"`
}

// Started reports whether the member has published its attributes, as
// etcd's IsStarted: a member added by MemberAdd has no name until it runs.
func (m *Member) Started() bool { return m.Name != "" }

// Clone returns a deep copy of m.
func (m *Member) Clone() *Member {
	c := *m
	c.PeerURLs = slices.Clone(m.PeerURLs)
	c.ClientURLs = slices.Clone(m.ClientURLs)
	return &c
}

// Proto returns m as the API's Member.
func (m *Member) Proto() *pb.Member {
	return &pb.Member{ID: m.ID, Name: m.Name, PeerURLs: slices.Clone(m.PeerURLs),
		ClientURLs: slices.Clone(m.ClientURLs), IsLearner: m.IsLearner}
}
