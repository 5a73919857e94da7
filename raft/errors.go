package raft

import (
	"errors"

	"github.com/metastore/metastore/raft/wal"
)

var (
	// ErrStopped is returned by calls on a stopped Node.
	ErrStopped = errors.New("raft: node stopped")
	// ErrCorruptWAL marks a WAL that cannot be read without losing data.
	// It is the same value as wal.ErrCorrupt.
	ErrCorruptWAL = wal.ErrCorrupt
	// ErrInvalidConfig is returned by Start for a Config it cannot use.
	ErrInvalidConfig = errors.New("raft: invalid config")
	// ErrIDMismatch is returned by Start when the member or cluster id in
	// Config differs from the one persisted in the WAL.
	ErrIDMismatch = errors.New("raft: id does not match the WAL")
	// ErrIndexMismatch is returned by Start when the engine's applied index
	// cannot be reconciled with the WAL: the engine is older than the WAL's
	// snapshot, or newer than the WAL's last entry while the WAL records
	// no snapshot (an engine restored from a leader's snapshot may be).
	ErrIndexMismatch = errors.New("raft: engine applied index does not match the WAL")
	// ErrProposalDropped is returned by Propose when raft dropped the
	// proposal, for example because no leader is known.
	ErrProposalDropped = errors.New("raft: proposal dropped")
	// ErrTimeout is returned by ReadIndex when raft did not answer within
	// Config.ReadIndexTimeout, for example during an election.
	ErrTimeout = errors.New("raft: request timed out")
)
