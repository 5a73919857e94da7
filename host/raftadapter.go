package host

import (
	"context"
	"time"

	"github.com/metastore/metastore/etcdapi"
	"github.com/metastore/metastore/host/metrics"
	"github.com/metastore/metastore/raft"
)

// raftAdapter presents the raft node as the API's Raft.
type raftAdapter struct{ *raft.Node }

var _ etcdapi.Raft = raftAdapter{}

func (a raftAdapter) Status() etcdapi.RaftStatus {
	st := a.Node.Status()
	return etcdapi.RaftStatus{
		Leader:       st.Leader,
		Term:         st.Term,
		CommitIndex:  st.CommitIndex,
		AppliedIndex: st.AppliedIndex,
		IsLearner:    st.IsLearner,
	}
}

var _ etcdapi.ClusterRaft = raftAdapter{}

func (a raftAdapter) LeaderProgress(ctx context.Context) (map[uint64]uint64, bool, error) {
	pr, _, ok, err := a.Node.LeaderProgress(ctx)
	if err != nil || !ok {
		return nil, ok, err
	}
	match := make(map[uint64]uint64, len(pr))
	for id, p := range pr {
		match[id] = p.Match
	}
	return match, true, nil
}

var _ etcdapi.LeaderTransferer = raftAdapter{}

// slowReadIndex is how long a read index may take before it counts as
// slow: etcd retries its read index request after this long, and counts
// each retry as a slow read index.
const slowReadIndex = 500 * time.Millisecond

// readIndexObserver is the raft the API reads through, counting failed
// and slow read indexes.
type readIndexObserver struct {
	raftAdapter
	stats *metrics.RaftStats
}

func (r readIndexObserver) ReadIndex(ctx context.Context) (uint64, error) {
	start := time.Now()
	index, err := r.raftAdapter.ReadIndex(ctx)
	if time.Since(start) > slowReadIndex {
		r.stats.ReadIndexSlow.Add(1)
	}
	if err != nil && ctx.Err() == nil {
		r.stats.ReadIndexFailed.Add(1)
	}
	return index, err
}
