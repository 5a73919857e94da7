package host

import (
	"context"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/types"
	"go.uber.org/zap"
)

// handOverLeadership, as etcd does at stop, hands leadership to the most
// up-to-date voter this member is in touch with, when it leads a cluster of
// several voters, and waits for it to take over, so that the cluster does
// not stay leaderless for an election timeout. A voter this member is not
// in touch with (inTouchWith) could not take over: with none, as when the
// other members stopped first, there is no transfer, and the wait ends when
// the transferee goes away. It gives up after the request timeout;
// stopping goes on either way.
func (m *Member) handOverLeadership() {
	if m.node == nil || !m.node.Status().IsLeader {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.RequestTimeout())
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
		if !m.inTouchWith(id) {
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
	m.lg.Info("leadership transfer starting", zap.Stringer("transferee", types.ID(to)))
	start := time.Now()
	if err := m.node.TransferLeadership(to); err != nil {
		m.lg.Warn("leadership transfer failed", zap.Error(err))
		return
	}
	for {
		changed := m.node.LeaderChanged()
		if lead := m.node.Status().Leader; lead != 0 && lead != self {
			m.lg.Info("leadership transfer finished", zap.Stringer("leader", types.ID(lead)), zap.Duration("took", time.Since(start)))
			return
		}
		if !m.inTouchWith(to) {
			m.lg.Warn("leadership transfer abandoned: the transferee is not connected; stopping anyway",
				zap.Stringer("transferee", types.ID(to)))
			return
		}
		select {
		case <-changed:
		case <-time.After(m.cfg.Heartbeat()):
		case <-ctx.Done():
			m.lg.Warn("leadership transfer timed out; stopping anyway", zap.Stringer("transferee", types.ID(to)))
			return
		}
	}
}

// inTouchWith reports whether peer id is active (raft.Node.ActiveSince)
// and this member's connection to it works: a peer that stopped closes
// the connection at once, before it has been silent long enough to stop
// counting as active.
func (m *Member) inTouchWith(id uint64) bool {
	if m.node.ActiveSince(id).IsZero() {
		return false
	}
	for _, st := range m.tr.Stats() {
		if st.ID == id {
			return st.Active
		}
	}
	return false
}
