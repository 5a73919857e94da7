package peer

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
)

// PeerStats counts this member's traffic with one peer since the
// transport started. Bytes are those of the frames carrying raft
// messages and snapshots; a message counts as a failure when it did not
// go out (a full queue, a stream that could not be opened or written) or,
// received, when it could not be decoded or handed to raft.
type PeerStats struct {
	ID               uint64
	SentBytes        uint64
	ReceivedBytes    uint64
	SentFailures     uint64
	ReceivedFailures uint64
	// Active reports whether the transport has a working connection to
	// the peer now; Disconnects counts the times such a connection was
	// lost.
	Active      bool
	Disconnects uint64

	SnapshotsSent           uint64
	SnapshotSendFailures    uint64
	SnapshotsSending        int64
	SnapshotsReceived       uint64
	SnapshotReceiveFailures uint64
	SnapshotsReceiving      int64
}

// SnapshotObserver is told about every snapshot transfer that succeeded:
// the peer, whether this member sent it (or received it), and how long it
// took.
type SnapshotObserver func(peer uint64, sent bool, took time.Duration)

// SendObserver sees every message Send is given, on the raft loop, so it
// must be quick and must not modify m.
type SendObserver func(m *raftpb.Message)

// peerCounters are the live counters behind a PeerStats.
type peerCounters struct {
	sentBytes, receivedBytes, sentFailures, receivedFailures     atomic.Uint64
	active                                                       atomic.Bool
	disconnects                                                  atomic.Uint64
	snapsSent, snapSendFailures, snapsReceived, snapRecvFailures atomic.Uint64
	snapsSending, snapsReceiving                                 atomic.Int64
}

// statsTable holds the counters of every peer the transport has talked
// to, removed peers included, as counters never go back.
type statsTable struct {
	mu    sync.Mutex
	peers map[uint64]*peerCounters
}

func (s *statsTable) of(id uint64) *peerCounters {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.peers == nil {
		s.peers = map[uint64]*peerCounters{}
	}
	c := s.peers[id]
	if c == nil {
		c = &peerCounters{}
		s.peers[id] = c
	}
	return c
}

// Stats returns the counters of every peer the transport has sent to or
// received from, ordered by id.
func (t *Transport) Stats() []PeerStats {
	t.stats.mu.Lock()
	defer t.stats.mu.Unlock()
	out := make([]PeerStats, 0, len(t.stats.peers))
	for id, c := range t.stats.peers {
		out = append(out, PeerStats{
			ID:                      id,
			SentBytes:               c.sentBytes.Load(),
			ReceivedBytes:           c.receivedBytes.Load(),
			SentFailures:            c.sentFailures.Load(),
			ReceivedFailures:        c.receivedFailures.Load(),
			Active:                  c.active.Load(),
			Disconnects:             c.disconnects.Load(),
			SnapshotsSent:           c.snapsSent.Load(),
			SnapshotSendFailures:    c.snapSendFailures.Load(),
			SnapshotsSending:        c.snapsSending.Load(),
			SnapshotsReceived:       c.snapsReceived.Load(),
			SnapshotReceiveFailures: c.snapRecvFailures.Load(),
			SnapshotsReceiving:      c.snapsReceiving.Load(),
		})
	}
	slices.SortFunc(out, func(a, b PeerStats) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out
}

// ObserveSnapshots makes f receive every later successful snapshot
// transfer, and first the ones that ended before any observer was set
// (up to maxEarlySnapshots: a member that was behind may receive one as
// soon as it starts, before its metrics are up); nil removes it. It is
// safe to call at any time.
func (t *Transport) ObserveSnapshots(f SnapshotObserver) {
	t.snapMu.Lock()
	defer t.snapMu.Unlock()
	if f == nil {
		t.onSnapshot.Store(nil)
		return
	}
	for _, e := range t.earlySnaps {
		f(e.peer, e.sent, e.took)
	}
	t.earlySnaps = nil
	t.onSnapshot.Store(&f)
}

// maxEarlySnapshots bounds the transfers kept for the first observer.
const maxEarlySnapshots = 16

// snapshotEvent is one successful transfer, as a SnapshotObserver sees it.
type snapshotEvent struct {
	peer uint64
	sent bool
	took time.Duration
}

// ObserveSend makes f see every message later given to Send; nil removes
// it. It is safe to call at any time.
func (t *Transport) ObserveSend(f SendObserver) {
	if f == nil {
		t.onSend.Store(nil)
		return
	}
	t.onSend.Store(&f)
}

func (t *Transport) snapshotDone(peer uint64, sent bool, took time.Duration) {
	if f := t.onSnapshot.Load(); f != nil {
		(*f)(peer, sent, took)
		return
	}
	t.snapMu.Lock()
	defer t.snapMu.Unlock()
	if f := t.onSnapshot.Load(); f != nil { // set meanwhile
		(*f)(peer, sent, took)
		return
	}
	if len(t.earlySnaps) < maxEarlySnapshots {
		t.earlySnaps = append(t.earlySnaps, snapshotEvent{peer, sent, took})
	}
}

// watchConnectivity follows conn's state until it shuts down: the peer is
// active while conn is ready.
func (p *peer) watchConnectivity(conn *grpc.ClientConn) {
	state := conn.GetState()
	for {
		p.noteState(conn, state)
		if state == connectivity.Shutdown {
			return
		}
		// Returns false only for a canceled context; with Background it
		// returns once the state changes.
		conn.WaitForStateChange(context.Background(), state)
		state = conn.GetState()
	}
}

// noteState records conn's state. Only the connection that made the peer
// active can make it inactive again.
func (p *peer) noteState(conn *grpc.ClientConn, state connectivity.State) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case state == connectivity.Ready:
		p.activeConn = conn
	case p.activeConn == conn:
		p.activeConn = nil
	}
	p.noteActiveLocked()
}

// noteMsgConn records that message connection c is open (up), or that it
// closed. Only the connection that made the peer active can make it
// inactive again.
func (p *peer) noteMsgConn(c *msgConn, up bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case up:
		p.msgConn = c
	case p.msgConn == c:
		p.msgConn = nil
	}
	p.noteActiveLocked()
}

// noteActiveLocked makes the peer active while its gRPC connection is
// ready or a message connection is open, and counts a disconnect when
// neither is any longer, unless the peer is being stopped.
func (p *peer) noteActiveLocked() {
	active := p.activeConn != nil || p.msgConn != nil
	if p.stats.active.Swap(active) && !active {
		select {
		case <-p.stopc:
		default:
			p.stats.disconnects.Add(1)
		}
	}
}
