package raft

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"go.etcd.io/etcd/client/pkg/v3/types"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/metastore/metastore/raft/wal"
)

// ErrForceLearner is returned by Start with Config.ForceNewCluster when
// this member is a learner: a cluster of one needs a voter.
var ErrForceLearner = errors.New("raft: a learner cannot force a new cluster; promote it first or force a voting member")

// forcedLog is a log rewritten by forceNewCluster.
type forcedLog struct {
	snapshot *raftpb.SnapshotMetadata
	entries  []*raftpb.Entry
	hs       *raftpb.HardState
}

// forceNewCluster turns the log a member restarts with into the log of a
// cluster of one. Entries past the commit index are dropped (they were
// never committed, and no quorum is left to commit them); conf change
// entries that add this member (if its log does not know it) and remove
// every other member follow the last committed entry, in the current term,
// and are committed at once. They are written to w before raft starts, so
// a restart without the flag keeps the new membership; the host applies
// them like any committed conf change, marking the others removed.
//
// hs.Commit must already account for the engine's applied index. An engine
// past the log (restored from a leader's snapshot) gets a snapshot marker
// at its applied index first, so the new entries come after its state.
func forceNewCluster(cfg Config, w *wal.WAL, md wal.Metadata, snap *raftpb.SnapshotMetadata,
	hs *raftpb.HardState, ents []*raftpb.Entry, appliedIndex uint64) (*forcedLog, error) {
	members, err := effectiveMembers(snap, ents, hs.GetCommit())
	if err != nil {
		return nil, err
	}
	self := md.MemberID
	if learner, ok := members[self]; ok && learner {
		return nil, fmt.Errorf("%w: member %s", ErrForceLearner, types.ID(self))
	}
	out := &forcedLog{snapshot: snap, entries: committedEntries(ents, hs.GetCommit())}
	if len(out.entries) < len(ents) {
		cfg.Logger.Info("discarding uncommitted WAL entries",
			zap.Uint64("first-discarded-index", ents[len(out.entries)].GetIndex()),
			zap.Uint64("commit-index", hs.GetCommit()),
			zap.Int("discarded", len(ents)-len(out.entries)))
	}
	last := hs.GetCommit()
	if appliedIndex > last {
		// The engine holds a leader's snapshot past the log.
		out.snapshot = &raftpb.SnapshotMetadata{Index: &appliedIndex, Term: new(hs.GetTerm()),
			ConfState: confStateOf(members)}
		out.entries = nil
		last = appliedIndex
		if err := w.SaveSnapshot(out.snapshot); err != nil {
			return nil, err
		}
	}
	forced, err := removeOthers(cfg.Self, self, members, hs.GetTerm(), last)
	if err != nil {
		return nil, err
	}
	removed := len(members)
	if _, ok := members[self]; ok {
		removed--
	}
	out.entries = append(out.entries, forced...)
	out.hs = proto.Clone(hs).(*raftpb.HardState)
	if commit := last + uint64(len(forced)); commit != hs.GetCommit() {
		out.hs.Commit = &commit
		if err := w.Save(out.hs, forced, true); err != nil {
			return nil, err
		}
	}
	cfg.Logger.Info("forcing restart member",
		zap.Stringer("cluster-id", types.ID(md.ClusterID)),
		zap.Stringer("local-member-id", types.ID(self)),
		zap.Uint64("wal-commit-index", hs.GetCommit()),
		zap.Uint64("commit-index", out.hs.GetCommit()),
		zap.Int("members-removed", removed))
	return out, nil
}

// committedEntries returns the prefix of ents at or below commit.
func committedEntries(ents []*raftpb.Entry, commit uint64) []*raftpb.Entry {
	for i, e := range ents {
		if e.GetIndex() > commit {
			return ents[:i]
		}
	}
	return ents
}

// effectiveMembers returns the members the log makes, voters and learners
// (true), from the snapshot's ConfState and the committed conf changes
// after it.
func effectiveMembers(snap *raftpb.SnapshotMetadata, ents []*raftpb.Entry, commit uint64) (map[uint64]bool, error) {
	members := map[uint64]bool{}
	cs := snap.GetConfState()
	for _, id := range slices.Concat(cs.GetVoters(), cs.GetVotersOutgoing()) {
		members[id] = false
	}
	for _, id := range slices.Concat(cs.GetLearners(), cs.GetLearnersNext()) {
		members[id] = true
	}
	for _, e := range committedEntries(ents, commit) {
		changes, err := confChanges(e)
		if err != nil {
			return nil, err
		}
		for _, c := range changes {
			switch c.GetType() {
			case raftpb.ConfChangeAddNode:
				members[c.GetNodeId()] = false
			case raftpb.ConfChangeAddLearnerNode:
				members[c.GetNodeId()] = true
			case raftpb.ConfChangeRemoveNode:
				delete(members, c.GetNodeId())
			}
		}
	}
	delete(members, 0) // a change turned into a no-op
	return members, nil
}

// confChanges decodes the single changes of a conf change entry; other
// entries have none.
func confChanges(e *raftpb.Entry) ([]*raftpb.ConfChangeSingle, error) {
	switch e.GetType() {
	case raftpb.EntryConfChange:
		cc := &raftpb.ConfChange{}
		if err := proto.Unmarshal(e.GetData(), cc); err != nil {
			return nil, fmt.Errorf("raft: decode conf change at index %d: %w", e.GetIndex(), err)
		}
		return cc.AsV2().GetChanges(), nil
	case raftpb.EntryConfChangeV2:
		cc := &raftpb.ConfChangeV2{}
		if err := proto.Unmarshal(e.GetData(), cc); err != nil {
			return nil, fmt.Errorf("raft: decode conf change at index %d: %w", e.GetIndex(), err)
		}
		return cc.GetChanges(), nil
	}
	return nil, nil
}

// removeOthers returns the conf change entries, from index after+1 in
// term, that leave self the only member: self is added first if members
// lacks it (raft refuses a configuration without voters), then every other
// member is removed, in id order.
func removeOthers(selfPeer Peer, self uint64, members map[uint64]bool, term, after uint64) ([]*raftpb.Entry, error) {
	var ccs []*raftpb.ConfChange
	if _, ok := members[self]; !ok {
		selfPeer.ID = self
		ctx, err := json.Marshal(selfPeer)
		if err != nil {
			return nil, err
		}
		ccs = append(ccs, &raftpb.ConfChange{Type: raftpb.ConfChangeAddNode.Enum(), NodeId: new(self), Context: ctx})
	}
	others := make([]uint64, 0, len(members))
	for id := range members {
		if id != self {
			others = append(others, id)
		}
	}
	slices.Sort(others)
	for _, id := range others {
		ccs = append(ccs, &raftpb.ConfChange{Type: raftpb.ConfChangeRemoveNode.Enum(), NodeId: new(id)})
	}
	ents := make([]*raftpb.Entry, len(ccs))
	for i, cc := range ccs {
		data, err := proto.Marshal(cc)
		if err != nil {
			return nil, err
		}
		ents[i] = &raftpb.Entry{Type: raftpb.EntryConfChange.Enum(), Term: new(term), Index: new(after + uint64(i) + 1), Data: data}
	}
	return ents, nil
}

// confStateOf returns the ConfState of members.
func confStateOf(members map[uint64]bool) *raftpb.ConfState {
	cs := &raftpb.ConfState{}
	for id, learner := range members {
		if learner {
			cs.Learners = append(cs.Learners, id)
		} else {
			cs.Voters = append(cs.Voters, id)
		}
	}
	slices.Sort(cs.Voters)
	slices.Sort(cs.Learners)
	return cs
}
