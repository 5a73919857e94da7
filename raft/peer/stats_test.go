package peer

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	etcdraft "go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// stepRecorder is a Raft that keeps the messages stepped into it.
type stepRecorder struct {
	id    uint64
	steps chan *raftpb.Message
}

func (r *stepRecorder) Step(_ context.Context, m *raftpb.Message) error {
	r.steps <- m
	return nil
}
func (r *stepRecorder) ReportUnreachable(uint64)                       {}
func (r *stepRecorder) ReportSnapshot(uint64, etcdraft.SnapshotStatus) {}
func (r *stepRecorder) MemberID() uint64                               { return r.id }
func (r *stepRecorder) ClusterID() uint64                              { return 7 }

// servedTransport is member id's transport, serving on a loopback port.
// The returned func stops serving, as a member that stops does.
func servedTransport(t *testing.T, id uint64) (*Transport, *stepRecorder, func(), string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return serveTransport(t, id, l)
}

// serveTransport is member id's transport, serving on l.
func serveTransport(t *testing.T, id uint64, l net.Listener) (*Transport, *stepRecorder, func(), string) {
	t.Helper()
	tr := New(Config{RetryInterval: 10 * time.Millisecond})
	r := &stepRecorder{id: id, steps: make(chan *raftpb.Message, 1024)}
	tr.SetRaft(r)
	srv := grpc.NewServer(ServerOptions()...)
	tr.Register(srv)
	go func() { _ = tr.Serve(l, srv) }()
	stop := func() {
		srv.Stop()
		_ = l.Close()
	}
	t.Cleanup(stop)
	t.Cleanup(tr.Stop)
	return tr, r, stop, "http://" + l.Addr().String()
}

func statsOf(tr *Transport, id uint64) PeerStats {
	for _, s := range tr.Stats() {
		if s.ID == id {
			return s
		}
	}
	return PeerStats{ID: id}
}

func app(from, to uint64, data string) *raftpb.Message {
	return &raftpb.Message{Type: raftpb.MsgApp.Enum(), From: proto.Uint64(from), To: proto.Uint64(to),
		Entries: []*raftpb.Entry{{Data: []byte(data)}}}
}

// The bytes one member counts as sent are the bytes its peer counts as
// received; the connection is active while the peer serves and counted
// as lost once when the peer goes away, after which messages to it fail.
func TestStatsCountBytesConnectionsAndFailures(t *testing.T) {
	a, _, _, _ := servedTransport(t, 1)
	b, rb, stopB, urlB := servedTransport(t, 2)
	a.SetPeer(2, []string{urlB})

	const n = 20
	for i := range n {
		a.Send([]*raftpb.Message{app(1, 2, "payload")})
		select {
		case m := <-rb.steps:
			require.Equal(t, "payload", string(m.GetEntries()[0].GetData()), "message %d", i)
		case <-time.After(10 * time.Second):
			t.Fatalf("message %d not delivered", i)
		}
	}
	require.Eventually(t, func() bool { return statsOf(a, 2).Active }, 10*time.Second, 10*time.Millisecond)
	// The sender counts a frame once its write returns, which may be
	// after the receiver has counted and stepped it.
	var sent, received PeerStats
	require.Eventually(t, func() bool {
		sent, received = statsOf(a, 2), statsOf(b, 1)
		return sent.SentBytes == received.ReceivedBytes
	}, 10*time.Second, 10*time.Millisecond)
	require.GreaterOrEqual(t, sent.SentBytes, uint64(n*len("payload")))
	require.Equal(t, sent.SentBytes, received.ReceivedBytes)
	require.Zero(t, sent.SentFailures)
	require.Zero(t, sent.Disconnects)

	stopB()
	require.Eventually(t, func() bool { return !statsOf(a, 2).Active }, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, uint64(1), statsOf(a, 2).Disconnects)
	require.Eventually(t, func() bool {
		a.Send([]*raftpb.Message{app(1, 2, "lost")})
		return statsOf(a, 2).SentFailures > 0
	}, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, sent.SentBytes, statsOf(a, 2).SentBytes, "nothing counts as sent to a peer that is gone")
}

// A send observer sees every message, whatever its peer.
func TestObserveSendSeesEveryMessage(t *testing.T) {
	tr := New(Config{})
	t.Cleanup(tr.Stop)
	var seen []raftpb.MessageType
	tr.ObserveSend(func(m *raftpb.Message) { seen = append(seen, m.GetType()) })
	hb := &raftpb.Message{Type: raftpb.MsgHeartbeat.Enum(), From: proto.Uint64(1), To: proto.Uint64(9)}
	tr.Send([]*raftpb.Message{app(1, 9, "x"), hb})
	require.Equal(t, []raftpb.MessageType{raftpb.MsgApp, raftpb.MsgHeartbeat}, seen)
	tr.ObserveSend(nil)
	tr.Send([]*raftpb.Message{hb})
	require.Len(t, seen, 2)
}

// Snapshot transfers that end before any observer is set, as when a
// member that was behind receives one as it starts, reach the first
// observer; later ones reach it directly.
func TestSnapshotObserverGetsTransfersBeforeIt(t *testing.T) {
	tr := New(Config{})
	t.Cleanup(tr.Stop)
	tr.snapshotDone(2, false, time.Second)
	tr.snapshotDone(3, true, 2*time.Second)
	type ev struct {
		peer uint64
		sent bool
		took time.Duration
	}
	var seen []ev
	tr.ObserveSnapshots(func(peer uint64, sent bool, took time.Duration) { seen = append(seen, ev{peer, sent, took}) })
	tr.snapshotDone(4, true, 3*time.Second)
	require.Equal(t, []ev{{2, false, time.Second}, {3, true, 2 * time.Second}, {4, true, 3 * time.Second}}, seen)
}
