package host

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
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

// heartbeatWatch counts, as etcd does, the heartbeats the leader sends a
// peer later than twice the heartbeat interval after the previous one: a
// leader that falls behind this way is likely held up by a slow disk.
type heartbeatWatch struct {
	lg       *zap.Logger
	max      time.Duration
	failures prometheus.Counter

	mu   sync.Mutex
	last map[uint64]time.Time
}

func newHeartbeatWatch(lg *zap.Logger, interval time.Duration, failures prometheus.Counter) *heartbeatWatch {
	return &heartbeatWatch{lg: lg, max: 2 * interval, failures: failures, last: map[uint64]time.Time{}}
}

// observe is the transport's peer.SendObserver.
func (h *heartbeatWatch) observe(m *raftpb.Message) {
	if m.GetType() != raftpb.MsgHeartbeat {
		return
	}
	now := time.Now()
	h.mu.Lock()
	prev, seen := h.last[m.GetTo()]
	h.last[m.GetTo()] = now
	h.mu.Unlock()
	if late := now.Sub(prev) - h.max; seen && late > 0 {
		h.failures.Inc()
		h.lg.Warn("leader failed to send out heartbeat on time; took too long, leader is overloaded likely from slow disk",
			zap.String("to", memberIDString(m.GetTo())), zap.Duration("heartbeat-interval", h.max/2),
			zap.Duration("expected-duration", h.max), zap.Duration("exceeded-duration", late))
	}
}

// reset forgets the heartbeats sent so far, when the leader changes: a
// member that leads again has not been late while it followed.
func (h *heartbeatWatch) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	clear(h.last)
}
