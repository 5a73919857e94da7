package host

import (
	"context"
	"sync/atomic"
	"time"
)

// slowReadIndex is how long a read index may take before it counts as
// slow: etcd retries its read index request after this long, and counts
// each retry as a slow read index.
const slowReadIndex = 500 * time.Millisecond

// raftStats counts raft events etcd exports as metrics.
type raftStats struct {
	readIndexFailed atomic.Uint64
	readIndexSlow   atomic.Uint64
	// snapshotsApplying is the raft snapshots being installed now.
	snapshotsApplying atomic.Int64
}

// readIndexObserver is the raft the API reads through, counting failed
// and slow read indexes.
type readIndexObserver struct {
	raftAdapter
	stats *raftStats
}

func (r readIndexObserver) ReadIndex(ctx context.Context) (uint64, error) {
	start := time.Now()
	index, err := r.raftAdapter.ReadIndex(ctx)
	if time.Since(start) > slowReadIndex {
		r.stats.readIndexSlow.Add(1)
	}
	if err != nil && ctx.Err() == nil {
		r.stats.readIndexFailed.Add(1)
	}
	return index, err
}
