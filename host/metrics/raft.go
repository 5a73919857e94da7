package metrics

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/etcd/client/pkg/v3/types"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
)

// RaftStats counts the raft events etcd exports as metrics; the member
// counts them, the registry reads them.
type RaftStats struct {
	ReadIndexFailed atomic.Uint64
	ReadIndexSlow   atomic.Uint64
	// SnapshotsApplying is the raft snapshots being installed now.
	SnapshotsApplying atomic.Int64
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
			zap.Stringer("to", types.ID(m.GetTo())), zap.Duration("heartbeat-interval", h.max/2),
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
