package etcdapi

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/membershippb"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/metastore/metastore/mvcc"
)

// Engine namespaces of the membership. They change in the same write
// batch as the consistent index of the conf change that changed them.
const (
	nsMembers        = "members"         // member id -> Member JSON
	nsMembersRemoved = "members_removed" // member id -> "removed"
)

// Membership errors, as etcd's membership package names them.
var (
	ErrMemberExists      = errors.New("etcdapi: member ID already exist")
	ErrMemberNotFound    = errors.New("etcdapi: member not found")
	ErrMemberRemoved     = errors.New("etcdapi: member ID removed")
	ErrPeerURLExists     = errors.New("etcdapi: Peer URLs already exists")
	ErrMemberNotLearner  = errors.New("etcdapi: can only promote a learner member")
	ErrLearnerNotReady   = errors.New("etcdapi: can only promote a learner member which is in sync with leader")
	ErrTooManyLearners   = errors.New("etcdapi: too many learner members in cluster")
	ErrNotEnoughStarted  = errors.New("etcdapi: re-configuration failed due to not enough started members")
	ErrMemberBadURLs     = errors.New("etcdapi: given member URLs are invalid")
	ErrBadLeaderTransfer = errors.New("etcdapi: bad leader transferee")
)

// Member is a cluster member. The JSON form is also the Context of the
// conf change entries that add or update members; it reads the Context of
// the entries bootstrapping a cluster (raft.Peer: id, name, urls) too.
type Member struct {
	ID         uint64   `json:"id"`
	Name       string   `json:"name,omitempty"`
	PeerURLs   []string `json:"urls"`
	ClientURLs []string `json:"clientURLs,omitempty"`
	IsLearner  bool     `json:"isLearner,omitempty"`
}

// started reports whether the member has published its attributes, as
// etcd's IsStarted: a member added by MemberAdd has no name until it runs.
func (m *Member) started() bool { return m.Name != "" }

func (m *Member) clone() *Member {
	c := *m
	c.PeerURLs = slices.Clone(m.PeerURLs)
	c.ClientURLs = slices.Clone(m.ClientURLs)
	return &c
}

func (m *Member) toProto() *pb.Member {
	return &pb.Member{ID: m.ID, Name: m.Name, PeerURLs: slices.Clone(m.PeerURLs),
		ClientURLs: slices.Clone(m.ClientURLs), IsLearner: m.IsLearner}
}

// DefaultMaxLearners is how many learners a cluster may have by default
// (etcd's --max-learners default).
const DefaultMaxLearners = 1

// membership is the member list the apply loop maintains; readers take
// copies.
type membership struct {
	mu      sync.RWMutex
	members map[uint64]*Member
	removed map[uint64]bool
	// maxLearners is Config.MaxLearners.
	maxLearners int
	// onChange, when set, is called by the apply loop after every change
	// with the new list.
	onChange func([]Member)
}

func newMembership() *membership {
	return &membership{members: map[uint64]*Member{}, removed: map[uint64]bool{}}
}

// list returns copies of the members, sorted by id as etcd lists them.
// learnerLimit is how many learners the cluster may have.
func (ms *membership) learnerLimit() int {
	switch {
	case ms.maxLearners == 0:
		return DefaultMaxLearners
	case ms.maxLearners < 0:
		return 0
	}
	return ms.maxLearners
}

func (ms *membership) list() []*Member {
	ms.mu.RLock()
	defer ms.mu.RUnlock()
	out := make([]*Member, 0, len(ms.members))
	for _, m := range ms.members {
		out = append(out, m.clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (ms *membership) get(id uint64) *Member {
	ms.mu.RLock()
	defer ms.mu.RUnlock()
	if m := ms.members[id]; m != nil {
		return m.clone()
	}
	return nil
}

func (ms *membership) isRemoved(id uint64) bool {
	ms.mu.RLock()
	defer ms.mu.RUnlock()
	return ms.removed[id]
}

func (ms *membership) notify() {
	ms.mu.RLock()
	f := ms.onChange
	ms.mu.RUnlock()
	if f == nil {
		return
	}
	list := ms.list()
	out := make([]Member, len(list))
	for i, m := range list {
		out[i] = *m
	}
	f(out)
}

// load replaces the membership with what the engine holds.
func (ms *membership) load(ctx context.Context, store *mvcc.Store) error {
	members, removed := map[uint64]*Member{}, map[uint64]bool{}
	var decodeErr error
	err := store.ScanMeta(ctx, nsMembers, func(k, v []byte) bool {
		m := &Member{}
		if err := json.Unmarshal(v, m); err != nil {
			decodeErr = fmt.Errorf("etcdapi: member %x: %w", k, err)
			return false
		}
		members[m.ID] = m
		return true
	})
	if err == nil {
		err = decodeErr
	}
	if err != nil {
		return err
	}
	err = store.ScanMeta(ctx, nsMembersRemoved, func(k, _ []byte) bool {
		if len(k) == 8 {
			removed[binary.BigEndian.Uint64(k)] = true
		}
		return true
	})
	if err != nil {
		return err
	}
	ms.mu.Lock()
	ms.members, ms.removed = members, removed
	ms.mu.Unlock()
	return nil
}

func memberKey(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

// save writes m in the transaction of its conf change.
func saveMember(tw *mvcc.TxnWrite, m *Member) {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // a plain struct always encodes
	}
	tw.PutMeta(nsMembers, memberKey(m.ID), b)
}

// validate checks cc against the current members, as etcd's
// ValidateConfigurationChange does at apply time. ctx is cc's decoded
// Context, nil for a removal.
func (ms *membership) validate(cc *raftpb.ConfChange, ctx *Member) error {
	ms.mu.RLock()
	defer ms.mu.RUnlock()
	id := cc.GetNodeId()
	if ms.removed[id] {
		return ErrMemberRemoved
	}
	cur := ms.members[id]
	switch cc.GetType() {
	case raftpb.ConfChangeAddNode, raftpb.ConfChangeAddLearnerNode:
		if cc.GetType() == raftpb.ConfChangeAddNode && cur != nil && cur.IsLearner && !ctx.IsLearner {
			return nil // a promotion
		}
		if cur != nil {
			return ErrMemberExists
		}
		learners := 0
		for _, m := range ms.members {
			if m.IsLearner {
				learners++
			}
			for _, u := range m.PeerURLs {
				if slices.Contains(ctx.PeerURLs, u) {
					return ErrPeerURLExists
				}
			}
		}
		if cc.GetType() == raftpb.ConfChangeAddLearnerNode && learners+1 > ms.learnerLimit() {
			return ErrTooManyLearners
		}
	case raftpb.ConfChangeRemoveNode:
		if cur == nil {
			return ErrMemberNotFound
		}
	case raftpb.ConfChangeUpdateNode:
		if cur == nil {
			return ErrMemberNotFound
		}
		for _, m := range ms.members {
			if m.ID == id {
				continue
			}
			for _, u := range m.PeerURLs {
				if slices.Contains(ctx.PeerURLs, u) {
					return ErrPeerURLExists
				}
			}
		}
	}
	return nil
}

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
	ms := a.members
	err := ms.validate(cc, ctx)
	tw := a.store.Write(index)
	if err == nil {
		ms.mu.Lock()
		switch cc.GetType() {
		case raftpb.ConfChangeAddNode, raftpb.ConfChangeAddLearnerNode:
			m := ms.members[ctx.ID]
			if m != nil { // promotion
				m.IsLearner = false
			} else {
				m = ctx.clone()
				m.IsLearner = cc.GetType() == raftpb.ConfChangeAddLearnerNode
				ms.members[m.ID] = m
			}
			saveMember(tw, m)
		case raftpb.ConfChangeRemoveNode:
			delete(ms.members, cc.GetNodeId())
			ms.removed[cc.GetNodeId()] = true
			tw.DeleteMeta(nsMembers, memberKey(cc.GetNodeId()))
			tw.PutMeta(nsMembersRemoved, memberKey(cc.GetNodeId()), []byte("removed"))
		case raftpb.ConfChangeUpdateNode:
			m := ms.members[cc.GetNodeId()]
			m.PeerURLs = slices.Clone(ctx.PeerURLs)
			saveMember(tw, m)
		}
		ms.mu.Unlock()
		a.lg.Info("applied membership change", zap.Uint64("index", index),
			zap.Stringer("type", cc.GetType()), zap.String("member-id", fmt.Sprintf("%x", cc.GetNodeId())))
	} else {
		a.lg.Warn("refused membership change", zap.Uint64("index", index),
			zap.Stringer("type", cc.GetType()), zap.String("member-id", fmt.Sprintf("%x", cc.GetNodeId())), zap.Error(err))
	}
	tw.End()
	if err == nil {
		ms.notify()
	}
	if cc.GetId() != 0 {
		a.waits.trigger(cc.GetId(), applyResult{err: err})
	}
}

// applyMemberAttrs records the name and client URLs a member publishes
// when it starts.
func (a *applier) applyMemberAttrs(index uint64, r *membershippb.ClusterMemberAttrSetRequest) applyResult {
	ms := a.members
	tw := a.store.Write(index)
	defer tw.End()
	ms.mu.Lock()
	m := ms.members[r.GetMember_ID()]
	if m != nil {
		m.Name = r.GetMemberAttributes().GetName()
		m.ClientURLs = slices.Clone(r.GetMemberAttributes().GetClientUrls())
		saveMember(tw, m)
	}
	ms.mu.Unlock()
	if m != nil {
		defer ms.notify()
	}
	return applyResult{}
}

// LoadMembership reads the membership from the engine; the host calls it
// at start and after installing a snapshot.
func (s *Server) LoadMembership(ctx context.Context) error {
	if err := s.members.load(ctx, s.store); err != nil {
		return err
	}
	s.members.notify()
	return nil
}

// SetMembershipHook registers f, which the apply loop calls with the new
// member list after every change (the host keeps its peers in sync).
func (s *Server) SetMembershipHook(f func([]Member)) {
	s.members.mu.Lock()
	s.members.onChange = f
	s.members.mu.Unlock()
}

// Members returns the current members, sorted by id.
func (s *Server) Members() []Member {
	list := s.members.list()
	out := make([]Member, len(list))
	for i, m := range list {
		out[i] = *m
	}
	return out
}

// IsRemoved reports whether member id was removed from the cluster.
func (s *Server) IsRemoved(id uint64) bool { return s.members.isRemoved(id) }

// PublishAttributes replicates this member's name and client URLs.
func (s *Server) PublishAttributes(ctx context.Context, name string, clientURLs []string) error {
	_, err := s.propose(ctx, &pb.InternalRaftRequest{ClusterMemberAttrSet: &membershippb.ClusterMemberAttrSetRequest{
		Member_ID:        s.raft.MemberID(),
		MemberAttributes: &membershippb.Attributes{Name: name, ClientUrls: clientURLs},
	}})
	return err
}

// readyToAddVoter is etcd's IsReadyToAddVotingMember: after the add,
// the started voters must still make a quorum.
func (ms *membership) readyToAddVoter() bool {
	ms.mu.RLock()
	defer ms.mu.RUnlock()
	voters, started := 1, 0
	for _, m := range ms.members {
		if m.IsLearner {
			continue
		}
		voters++
		if m.started() {
			started++
		}
	}
	if started == 1 && voters == 2 {
		return true // growing a one-member cluster
	}
	return started >= voters/2+1
}

// readyToRemoveVoter is etcd's IsReadyToRemoveVotingMember.
func (ms *membership) readyToRemoveVoter(id uint64) bool {
	ms.mu.RLock()
	defer ms.mu.RUnlock()
	voters, started := 0, 0
	for _, m := range ms.members {
		if m.IsLearner || m.ID == id {
			continue
		}
		voters++
		if m.started() {
			started++
		}
	}
	return started >= voters/2+1
}

// readyToPromote is etcd's IsReadyToPromoteMember.
func (ms *membership) readyToPromote(id uint64) bool {
	ms.mu.RLock()
	defer ms.mu.RUnlock()
	voters, started := 1, 1 // the learner counts as a started voter
	for _, m := range ms.members {
		if m.IsLearner {
			continue
		}
		voters++
		if m.started() {
			started++
		}
	}
	return started >= voters/2+1
}
