package host

import (
	"context"
	"strconv"
	"time"

	"go.uber.org/zap"
)

// handOverLeadership, as etcd does at stop, hands leadership to the most
// up-to-date voter when this member leads a cluster of several voters,
// and waits for it to take over, so that the cluster does not stay
// leaderless for an election timeout. It gives up after the request
// timeout; stopping goes on either way.
func (m *Member) handOverLeadership() {
	if m.node == nil || !m.node.Status().IsLeader {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.requestTimeout())
	defer cancel()
	progress, _, ok, err := m.node.LeaderProgress(ctx)
	if err != nil || !ok {
		return
	}
	self := m.node.MemberID()
	var to, match uint64
	for id, pr := range progress {
		if id != self && !pr.IsLearner && (to == 0 || pr.Match > match) {
			to, match = id, pr.Match
		}
	}
	if to == 0 {
		return
	}
	m.lg.Info("leadership transfer starting", zap.String("transferee", strconv.FormatUint(to, 16)))
	start := time.Now()
	if err := m.node.TransferLeadership(to); err != nil {
		m.lg.Warn("leadership transfer failed", zap.Error(err))
		return
	}
	for {
		changed := m.node.LeaderChanged()
		if lead := m.node.Status().Leader; lead != 0 && lead != self {
			m.lg.Info("leadership transfer finished", zap.String("leader", strconv.FormatUint(lead, 16)), zap.Duration("took", time.Since(start)))
			return
		}
		select {
		case <-changed:
		case <-time.After(m.cfg.heartbeat()):
		case <-ctx.Done():
			m.lg.Warn("leadership transfer timed out; stopping anyway", zap.String("transferee", strconv.FormatUint(to, 16)))
			return
		}
	}
}
