package raft

import (
	"context"
	"sync"
	"sync/atomic"

	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
)

// Applier is the host's state machine.
type Applier interface {
	// Apply applies committed entries in log order: EntryNormal entries
	// with data, and conf change entries (EntryConfChange and
	// EntryConfChangeV2), which the node has already applied to raft.
	// Empty entries (raft's own, written at each election) are skipped.
	// Apply is called from a single goroutine; entries at or below the
	// applied index given to Start are never passed. entries and the
	// entries they point to must not be mutated or retained after Apply
	// returns; Data may be retained. Apply must not wait on the Node
	// (Propose, ReadIndex, WaitApplied): the raft loop may be waiting for
	// Apply to take the next batch.
	Apply(entries []*raftpb.Entry)
	// PersistedIndex returns the highest applied index that is durable in
	// the storage engine. The node only snapshots, and so discards WAL
	// entries, at or below it. It is called from the raft loop and must be
	// cheap and safe for concurrent use.
	PersistedIndex() uint64
}

// SnapshotApplier is implemented by an Applier that can install a raft
// snapshot received from the leader. The snapshot's Data is empty for now:
// the state travels through the storage engine, not raft. A snapshot
// replaces all state up to its index; entries after it follow through
// Apply.
type SnapshotApplier interface {
	ApplySnapshot(snap *raftpb.Snapshot)
}

// applyTask is one unit of work for the apply loop: a snapshot or a run of
// committed entries, in log order.
type applyTask struct {
	snapshot *raftpb.Snapshot
	entries  []*raftpb.Entry
}

// runApplyLoop hands committed work to the Applier in the order the raft
// loop queued it.
func (n *Node) runApplyLoop() {
	defer n.wg.Done()
	for {
		select {
		case t := <-n.applyc:
			n.apply(t)
		case <-n.stopc:
			return
		}
	}
}

func (n *Node) apply(t applyTask) {
	if t.snapshot != nil {
		n.applySnapshot(t.snapshot)
		return
	}
	if len(t.entries) == 0 {
		return
	}
	if ents := n.applicable(t.entries); len(ents) > 0 {
		n.applier.Apply(ents)
	}
	n.applied.advance(t.entries[len(t.entries)-1].GetIndex())
}

func (n *Node) applySnapshot(snap *raftpb.Snapshot) {
	index := snap.GetMetadata().GetIndex()
	if sa, ok := n.applier.(SnapshotApplier); ok {
		sa.ApplySnapshot(snap)
	} else {
		n.lg.Error("raft: the applier cannot install snapshots; its state misses entries up to the snapshot",
			zap.Uint64("snapshot-index", index))
	}
	n.applied.advance(index)
}

// applicable returns the entries of ents the Applier must see: above the
// start applied index, and not empty. It copies only if it drops some.
func (n *Node) applicable(ents []*raftpb.Entry) []*raftpb.Entry {
	keep := func(e *raftpb.Entry) bool {
		return e.GetIndex() > n.startApplied &&
			(e.GetType() != raftpb.EntryNormal || len(e.GetData()) > 0)
	}
	for i, e := range ents {
		if keep(e) {
			continue
		}
		out := append(make([]*raftpb.Entry, 0, len(ents)-1), ents[:i]...)
		for _, e := range ents[i+1:] {
			if keep(e) {
				out = append(out, e)
			}
		}
		return out
	}
	return ents
}

// appliedIndex is the applied index with a way to wait for it. Only the
// apply loop advances it.
type appliedIndex struct {
	v       atomic.Uint64
	changed notifier
	// stopped is set, and waiters woken, when the node stops: a waiter
	// then watches its own context and the notifier alone, not the
	// node's stop channel, which every waiter would lock.
	stopped atomic.Bool
}

func (a *appliedIndex) init(start uint64) {
	a.v.Store(start)
	a.changed.init()
}

// advance raises the applied index to i and wakes waiters; a lower i, from
// entries the engine already had, changes nothing.
func (a *appliedIndex) advance(i uint64) {
	if i > a.v.Load() {
		a.v.Store(i)
		a.changed.notify()
	}
}

func (a *appliedIndex) load() uint64 { return a.v.Load() }

// wait blocks until the applied index reaches index.
func (a *appliedIndex) wait(ctx context.Context, index uint64) error {
	for {
		ch := a.changed.wait()
		if a.v.Load() >= index {
			return nil
		}
		if a.stopped.Load() {
			return ErrStopped
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// stop fails every wait, now and later, that the applied index has not
// already answered.
func (a *appliedIndex) stop() {
	a.stopped.Store(true)
	a.changed.notify()
}

// notifier wakes every waiter at each notify.
type notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

func (nt *notifier) init() { nt.ch = make(chan struct{}) }

// wait returns a channel closed at the next notify.
func (nt *notifier) wait() <-chan struct{} {
	nt.mu.Lock()
	defer nt.mu.Unlock()
	return nt.ch
}

func (nt *notifier) notify() {
	nt.mu.Lock()
	close(nt.ch)
	nt.ch = make(chan struct{})
	nt.mu.Unlock()
}
