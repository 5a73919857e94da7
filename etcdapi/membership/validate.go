package membership

import (
	"slices"

	"go.etcd.io/raft/v3/raftpb"
)

// Validate checks cc against the current members, as etcd's
// ValidateConfigurationChange does at apply time. ctx is cc's decoded
// Context, nil for a removal. It returns ErrMemberRemoved,
// ErrMemberExists, ErrPeerURLExists, ErrTooManyLearners or
// ErrMemberNotFound.
func (c *Cluster) Validate(cc *raftpb.ConfChange, ctx *Member) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	id := cc.GetNodeId()
	if c.removed[id] {
		return ErrMemberRemoved
	}
	cur := c.members[id]
	switch cc.GetType() {
	case raftpb.ConfChangeAddNode, raftpb.ConfChangeAddLearnerNode:
		if cc.GetType() == raftpb.ConfChangeAddNode && cur != nil && cur.IsLearner && !ctx.IsLearner {
			return nil // a promotion
		}
		if cur != nil {
			return ErrMemberExists
		}
		learners := 0
		for _, m := range c.members {
			if m.IsLearner {
				learners++
			}
			for _, u := range m.PeerURLs {
				if slices.Contains(ctx.PeerURLs, u) {
					return ErrPeerURLExists
				}
			}
		}
		if cc.GetType() == raftpb.ConfChangeAddLearnerNode && learners+1 > c.learnerLimit() {
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
		for _, m := range c.members {
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
