package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"
)

func TestHeartbeatWatchCountsLateHeartbeatsPerPeer(t *testing.T) {
	failures := prometheus.NewCounter(prometheus.CounterOpts{Name: "failures"})
	h := newHeartbeatWatch(zaptest.NewLogger(t), 10*time.Millisecond, failures)
	msg := func(typ raftpb.MessageType, to uint64) *raftpb.Message {
		return &raftpb.Message{Type: typ.Enum(), To: proto.Uint64(to)}
	}
	h.observe(msg(raftpb.MsgHeartbeat, 2))
	h.observe(msg(raftpb.MsgHeartbeat, 3))
	h.observe(msg(raftpb.MsgHeartbeat, 2))
	require.Equal(t, 0.0, count(t, failures), "first and timely heartbeats")

	time.Sleep(30 * time.Millisecond)
	h.observe(msg(raftpb.MsgApp, 2))
	require.Equal(t, 0.0, count(t, failures), "only heartbeats count")
	h.observe(msg(raftpb.MsgHeartbeat, 2))
	require.Equal(t, 1.0, count(t, failures), "more than two intervals after the last one to 2")
	h.observe(msg(raftpb.MsgHeartbeat, 2))
	require.Equal(t, 1.0, count(t, failures))

	time.Sleep(30 * time.Millisecond)
	h.reset()
	h.observe(msg(raftpb.MsgHeartbeat, 3))
	require.Equal(t, 1.0, count(t, failures), "a new leader starts afresh")
}

func count(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, c.Write(&m))
	return m.GetCounter().GetValue()
}
