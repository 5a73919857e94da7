package membership

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/metastore/metastore/mvcc"
)

// Engine namespaces of the membership. They change in the same write
// batch as the consistent index of the conf change that changed them.
const (
	nsMembers        = "members"         // member id -> Member JSON
	nsMembersRemoved = "members_removed" // member id -> "removed"
)

// DefaultMaxLearners is how many learners a cluster may have by default
// (etcd's --max-learners default).
const DefaultMaxLearners = 1

// Cluster is the member list the apply loop maintains; readers get copies.
// It is safe for concurrent use; changes come from the apply loop alone.
type Cluster struct {
	mu      sync.RWMutex
	members map[uint64]*Member
	removed map[uint64]bool
	// maxLearners: 0 for DefaultMaxLearners, negative for none.
	maxLearners int
	// onChange, when set, is called by the apply loop after every change
	// with the new list.
	onChange func([]Member)
}

// New returns an empty Cluster allowing maxLearners learners (0: the
// default, negative: none).
func New(maxLearners int) *Cluster {
	return &Cluster{members: map[uint64]*Member{}, removed: map[uint64]bool{}, maxLearners: maxLearners}
}

// learnerLimit is how many learners the cluster may have.
func (c *Cluster) learnerLimit() int {
	switch {
	case c.maxLearners == 0:
		return DefaultMaxLearners
	case c.maxLearners < 0:
		return 0
	}
	return c.maxLearners
}

// SetOnChange registers f, which the apply loop calls with the new member
// list after every change.
func (c *Cluster) SetOnChange(f func([]Member)) {
	c.mu.Lock()
	c.onChange = f
	c.mu.Unlock()
}

// List returns copies of the members, sorted by id as etcd lists them.
func (c *Cluster) List() []*Member {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*Member, 0, len(c.members))
	for _, m := range c.members {
		out = append(out, m.Clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Get returns a copy of member id, nil if there is none.
func (c *Cluster) Get(id uint64) *Member {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if m := c.members[id]; m != nil {
		return m.Clone()
	}
	return nil
}

// IsRemoved reports whether member id was removed from the cluster.
func (c *Cluster) IsRemoved(id uint64) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.removed[id]
}

// Notify calls the change hook, if any, with the current list.
func (c *Cluster) Notify() {
	c.mu.RLock()
	f := c.onChange
	c.mu.RUnlock()
	if f == nil {
		return
	}
	list := c.List()
	out := make([]Member, len(list))
	for i, m := range list {
		out[i] = *m
	}
	f(out)
}

// Load replaces the membership with what the engine holds.
func (c *Cluster) Load(ctx context.Context, store *mvcc.Store) error {
	members, removed := map[uint64]*Member{}, map[uint64]bool{}
	var decodeErr error
	err := store.ScanMeta(ctx, nsMembers, func(k, v []byte) bool {
		m := &Member{}
		if err := json.Unmarshal(v, m); err != nil {
			decodeErr = fmt.Errorf("membership: member %x: %w", k, err)
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
	c.mu.Lock()
	c.members, c.removed = members, removed
	c.mu.Unlock()
	return nil
}

func memberKey(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

// save writes m in tw, the write of its raft entry.
func save(tw *mvcc.TxnWrite, m *Member) {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // a plain struct always encodes
	}
	tw.PutMeta(nsMembers, memberKey(m.ID), b)
}

// Apply validates a committed conf change (see Validate) and, if it is
// valid, records it and writes it in tw, the write of its raft entry.
// ctx is cc's decoded Context (its ID set to the change's node), nil for a
// removal. A refused change changes nothing and returns why.
func (c *Cluster) Apply(tw *mvcc.TxnWrite, cc *raftpb.ConfChange, ctx *Member) error {
	if err := c.Validate(cc, ctx); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch cc.GetType() {
	case raftpb.ConfChangeAddNode, raftpb.ConfChangeAddLearnerNode:
		m := c.members[ctx.ID]
		if m != nil { // promotion
			m.IsLearner = false
		} else {
			m = ctx.Clone()
			m.IsLearner = cc.GetType() == raftpb.ConfChangeAddLearnerNode
			c.members[m.ID] = m
		}
		save(tw, m)
	case raftpb.ConfChangeRemoveNode:
		delete(c.members, cc.GetNodeId())
		c.removed[cc.GetNodeId()] = true
		tw.DeleteMeta(nsMembers, memberKey(cc.GetNodeId()))
		tw.PutMeta(nsMembersRemoved, memberKey(cc.GetNodeId()), []byte("removed"))
	case raftpb.ConfChangeUpdateNode:
		m := c.members[cc.GetNodeId()]
		m.PeerURLs = slices.Clone(ctx.PeerURLs)
		save(tw, m)
	}
	return nil
}

// SetAttributes records the name and client URLs member id published, in
// tw; it reports whether the member exists.
func (c *Cluster) SetAttributes(tw *mvcc.TxnWrite, id uint64, name string, clientURLs []string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.members[id]
	if m == nil {
		return false
	}
	m.Name = name
	m.ClientURLs = slices.Clone(clientURLs)
	save(tw, m)
	return true
}
