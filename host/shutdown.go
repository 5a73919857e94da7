package host

import (
	"context"
	"strconv"
	"time"

	"go.uber.org/zap"
)

// handOverLeadership, as etcd does at stop, hands leadership to the most
// up-to-date voter this member is in touch with, when it leads a cluster of
// several voters, and waits for it to take over, so that the cluster does
// not stay leaderless for an election timeout. A voter that is not active
// (raft.Node.ActiveSince) could not take over: with none, as when the other
// members stopped first, there is no transfer, and the wait ends when the
// transferee stops being active. It gives up after the request timeout;
// stopping goes on either way.
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
	voters := 0
	for id, pr := range progress {
		if id == self || pr.IsLearner {
			continue
		}
		voters++
		if m.node.ActiveSince(id).IsZero() {
			continue
		}
		if to == 0 || pr.Match > match {
			to, match = id, pr.Match
		}
	}
	if to == 0 {
		if voters > 0 {
			m.lg.Info("skipped leadership transfer: no other voter is connected")
		}
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
		if m.node.ActiveSince(to).IsZero() {
			m.lg.Warn("leadership transfer abandoned: the transferee is not connected; stopping anyway",
				zap.String("transferee", strconv.FormatUint(to, 16)))
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
