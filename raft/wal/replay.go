package wal

import (
	"fmt"

	"go.etcd.io/raft/v3/raftpb"
)

// Metadata identifies the member that owns a WAL. It is written when the WAL
// is created and repeated at the head of every segment.
type Metadata struct {
	MemberID  uint64
	ClusterID uint64
}

// State is what a WAL holds after replay.
type State struct {
	// Metadata is the metadata written at creation.
	Metadata Metadata
	// Snapshot is the latest snapshot marker, or nil if none was saved.
	Snapshot *raftpb.SnapshotMetadata
	// HardState is the latest saved HardState, or nil if none was saved.
	HardState *raftpb.HardState
	// Entries are the log entries after the snapshot, with contiguous
	// indexes starting at the snapshot index plus one.
	Entries []*raftpb.Entry
}

// SnapshotIndex returns the index of the latest snapshot, or 0.
func (s *State) SnapshotIndex() uint64 {
	return s.Snapshot.GetIndex()
}

// LastIndex returns the index of the last entry, or the snapshot index when
// there are no entries after it.
func (s *State) LastIndex() uint64 {
	if n := len(s.Entries); n > 0 {
		return s.Entries[n-1].GetIndex()
	}
	return s.SnapshotIndex()
}

// replay folds decoded records, in log order, into a State.
type replay struct {
	state   State
	haveMD  bool
	entries []*raftpb.Entry // entries[i].Index == entries[0].Index+i
}

// apply folds one record in. An error describes why the record is invalid.
func (r *replay) apply(rec record) error {
	switch rec.typ {
	case recMetadata:
		md, err := decodeMetadata(rec.payload)
		if err != nil {
			return err
		}
		if r.haveMD && md != r.state.Metadata {
			return fmt.Errorf("metadata %+v differs from earlier %+v", md, r.state.Metadata)
		}
		r.state.Metadata, r.haveMD = md, true
	case recEntry:
		e, err := decodeEntry(rec.payload)
		if err != nil {
			return err
		}
		r.addEntry(e)
	case recHardState:
		hs, err := decodeHardState(rec.payload)
		if err != nil {
			return err
		}
		r.state.HardState = hs
	case recSnapshot:
		md, err := decodeSnapshot(rec.payload)
		if err != nil {
			return err
		}
		r.addSnapshot(md)
	}
	return nil
}

// addEntry appends e, replacing any entry at or after its index. An entry
// that does not follow the current tail starts a new run; finish reports a
// run that never connects to the snapshot.
func (r *replay) addEntry(e *raftpb.Entry) {
	i := e.GetIndex()
	if i <= r.state.Snapshot.GetIndex() {
		return
	}
	if len(r.entries) == 0 {
		r.entries = append(r.entries, e)
		return
	}
	first := r.entries[0].GetIndex()
	last := first + uint64(len(r.entries)) - 1
	switch {
	case i < first || i > last+1:
		r.entries = append(r.entries[:0:0], e)
	default:
		r.entries = append(r.entries[:i-first], e)
	}
}

// addSnapshot records a snapshot marker. Entries it covers are dropped; the
// entries after it are kept only if the log matches it at its index (same
// term), as raft's log matching property then guarantees the rest is valid.
func (r *replay) addSnapshot(md *raftpb.SnapshotMetadata) {
	s := md.GetIndex()
	if s <= r.state.Snapshot.GetIndex() {
		return
	}
	r.state.Snapshot = md
	if len(r.entries) == 0 {
		return
	}
	first := r.entries[0].GetIndex()
	last := first + uint64(len(r.entries)) - 1
	switch {
	case s+1 == first:
		// The entries start right after the snapshot.
	case s >= first && s <= last && r.entries[s-first].GetTerm() == md.GetTerm():
		r.entries = r.entries[s-first+1:]
	default:
		r.entries = nil
	}
}

// finish validates the replayed log and returns the state.
func (r *replay) finish() (*State, error) {
	if !r.haveMD {
		return nil, fmt.Errorf("%w log: no metadata record", ErrCorrupt)
	}
	snap := r.state.Snapshot.GetIndex()
	if len(r.entries) > 0 && r.entries[0].GetIndex() != snap+1 {
		return nil, fmt.Errorf("%w log: entries resume at index %d after snapshot %d", ErrCorrupt, r.entries[0].GetIndex(), snap)
	}
	r.state.Entries = r.entries
	if c := r.state.HardState.GetCommit(); c > r.state.LastIndex() {
		return nil, fmt.Errorf("%w log: commit index %d is past the last index %d", ErrCorrupt, c, r.state.LastIndex())
	}
	return &r.state, nil
}
