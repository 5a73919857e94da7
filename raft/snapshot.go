package raft

import (
	"fmt"

	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
)

// maybeSnapshot takes a raft snapshot once SnapshotCount entries have been
// applied since the last attempt. The snapshot index is the highest index
// both applied and durable in the engine, so the WAL never discards an
// entry the engine could still lose. It compacts MemoryStorage, keeping
// SnapshotCatchUpEntries for slow followers, writes a snapshot marker to the
// WAL and releases the WAL segments the snapshot covers.
func (n *Node) maybeSnapshot() error {
	applied := n.applied.load()
	if applied < n.snapAfter {
		return nil
	}
	n.snapAfter = applied + n.cfg.SnapshotCount
	// An engine restored from the leader's snapshot can be past the log,
	// and after a restart the engine is past what raft has handed out
	// again: the log keeps everything raft has still to hand out.
	persisted, commit := n.applier.PersistedIndex(), n.rn.BasicStatus().HardState.GetCommit()
	index := min(applied, persisted, commit, n.handedOut)
	if last, err := n.storage.LastIndex(); err == nil {
		index = min(index, last)
	}
	if index <= n.snapIndex {
		n.lg.Debug("raft: snapshot skipped, nothing past the last snapshot is both persisted by the engine and handed out by raft",
			zap.Uint64("applied-index", applied), zap.Uint64("persisted-index", persisted),
			zap.Uint64("handed-out-index", n.handedOut), zap.Uint64("snapshot-index", n.snapIndex))
		return nil
	}
	snap, err := n.storage.CreateSnapshot(index, n.confs.at(index), nil)
	if err != nil {
		return fmt.Errorf("raft: create snapshot at %d: %w", index, err)
	}
	if err := n.compactLog(index); err != nil {
		return err
	}
	if err := n.wal.SaveSnapshot(snap.GetMetadata()); err != nil {
		return err
	}
	if err := n.wal.ReleaseTo(index); err != nil {
		return err
	}
	n.snapIndex = index
	n.confs.compact(index)
	n.lg.Info("raft: snapshot taken", zap.Uint64("index", index),
		zap.Uint64("term", snap.GetMetadata().GetTerm()), zap.Uint64("applied-index", applied),
		zap.Int("wal-segments", n.wal.SegmentCount()))
	return nil
}

// compactLog drops entries from MemoryStorage up to SnapshotCatchUpEntries
// below index.
func (n *Node) compactLog(index uint64) error {
	if index <= n.cfg.SnapshotCatchUpEntries {
		return nil
	}
	to := index - n.cfg.SnapshotCatchUpEntries
	first, err := n.storage.FirstIndex()
	if err != nil || to < first {
		return err
	}
	if err := n.storage.Compact(to); err != nil {
		return fmt.Errorf("raft: compact log to %d: %w", to, err)
	}
	return nil
}

// confAt is the ConfState in force from a log index on.
type confAt struct {
	index uint64
	cs    *raftpb.ConfState
}

// confLog remembers the ConfState after each conf change since the last
// snapshot, so a snapshot below the latest conf change records the
// membership in force at its own index.
type confLog struct {
	states []confAt // ascending index; states[0] is the base
}

func newConfLog(index uint64, cs *raftpb.ConfState) confLog {
	if cs == nil {
		cs = &raftpb.ConfState{}
	}
	return confLog{states: []confAt{{index: index, cs: cs}}}
}

// add records cs as the ConfState from index on.
func (c *confLog) add(index uint64, cs *raftpb.ConfState) {
	c.states = append(c.states, confAt{index: index, cs: cs})
}

// current returns the latest ConfState.
func (c *confLog) current() *raftpb.ConfState {
	return c.states[len(c.states)-1].cs
}

// at returns the ConfState in force at index.
func (c *confLog) at(index uint64) *raftpb.ConfState {
	i := len(c.states) - 1
	for i > 0 && c.states[i].index > index {
		i--
	}
	return c.states[i].cs
}

// compact forgets the states that a snapshot at index makes unreachable.
func (c *confLog) compact(index uint64) {
	i := 0
	for i+1 < len(c.states) && c.states[i+1].index <= index {
		i++
	}
	c.states = c.states[i:]
}
