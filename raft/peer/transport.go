package peer

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/types"
	etcdraft "go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
)

// Raft is the local raft node as the transport needs it; *raft.Node
// implements it.
type Raft interface {
	// Step hands raft a message from a peer.
	Step(ctx context.Context, m *raftpb.Message) error
	// ReportUnreachable tells raft a message to id was not delivered.
	ReportUnreachable(id uint64)
	// ReportSnapshot tells raft whether a snapshot reached id.
	ReportSnapshot(id uint64, status etcdraft.SnapshotStatus)
	// MemberID and ClusterID identify this member and its cluster.
	MemberID() uint64
	ClusterID() uint64
}

// Snapshotter moves the state behind a raft snapshot, which raft itself
// sends without data.
type Snapshotter interface {
	// WriteSnapshot writes to w the state a follower needs to install the
	// snapshot of m (a MsgSnap), at its index or later.
	WriteSnapshot(ctx context.Context, m *raftpb.Message, w io.Writer) error
	// ReceiveSnapshot reads that state from r and keeps it durably until
	// the node applies the snapshot of m. The transport steps m into raft
	// only once ReceiveSnapshot has returned nil.
	ReceiveSnapshot(ctx context.Context, m *raftpb.Message, r io.Reader) error
}

// Config configures a Transport.
type Config struct {
	// Logger; nil means zap.NewNop().
	Logger *zap.Logger
	// Snapshotter sends and receives snapshot state; nil refuses
	// snapshots in both directions.
	Snapshotter Snapshotter
	// IsRemoved reports whether member id was removed from the cluster;
	// such a member's streams are refused. Nil means none is.
	IsRemoved func(id uint64) bool
	// OnRemoved is called (once) when a peer refuses this member because
	// it was removed from the cluster.
	OnRemoved func()
	// Members lists the cluster for members that join it; nil answers an
	// empty list.
	Members func() []ListedMember
	// QueueSize is the number of messages queued per peer; 0 means 4096.
	QueueSize int
	// RetryInterval is the pause after a failed stream; 0 means 100ms.
	RetryInterval time.Duration
	// TLS is the client configuration for peers' https URLs: the
	// certificate this member presents and the CAs that verify the
	// peer's. Nil refuses to dial https URLs (ErrNoTLS). The transport
	// never modifies it.
	TLS *tls.Config
}

// ErrNoTLS is returned for an https peer URL when the transport has no
// TLS configuration.
var ErrNoTLS = errors.New("peer: https peer URL but no peer TLS configured")

// ListedMember is a cluster member as the peer Members call lists it (the
// JSON etcd serves a joining member): distinct from the replicated member
// record (etcdapi/membership.Member) it is made from.
type ListedMember struct {
	ID        uint64   `json:"id"`
	Name      string   `json:"name,omitempty"`
	PeerURLs  []string `json:"peerURLs"`
	IsLearner bool     `json:"isLearner,omitempty"`
}

// Transport connects the local raft node with its peers. It implements
// raft's Transport; its methods are safe for concurrent use.
type Transport struct {
	lg      *zap.Logger
	cfg     Config
	raft    atomic.Pointer[raftRef]
	removed atomic.Bool

	stats      statsTable
	onSnapshot atomic.Pointer[SnapshotObserver]
	snapMu     sync.Mutex      // orders earlySnaps with setting onSnapshot
	earlySnaps []snapshotEvent // transfers before any observer was set
	onSend     atomic.Pointer[SendObserver]

	mu    sync.Mutex
	peers map[uint64]*peer
	batch []*raftpb.Message // Send's scratch
	stopc chan struct{}
	wg    sync.WaitGroup
}

type raftRef struct{ Raft }

// New returns a Transport with no peers. Messages arriving before SetRaft
// are refused.
func New(cfg Config) *Transport {
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 4096
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = 100 * time.Millisecond
	}
	return &Transport{lg: cfg.Logger, cfg: cfg, peers: map[uint64]*peer{}, stopc: make(chan struct{})}
}

// SetRaft attaches the local node, which starts receiving messages.
func (t *Transport) SetRaft(r Raft) { t.raft.Store(&raftRef{r}) }

func (t *Transport) node() Raft {
	if r := t.raft.Load(); r != nil {
		return r.Raft
	}
	return nil
}

// Send hands msgs to their peers without blocking: a peer with nothing
// queued takes its messages of the call as one frame written at once, if
// its message connection's socket has room for it (see peer.sendNow);
// otherwise they queue for the peer's sender. Messages to unknown peers,
// or beyond a full queue, are dropped; raft retransmits.
func (t *Transport) Send(msgs []*raftpb.Message) {
	observe := t.onSend.Load()
	t.mu.Lock()
	defer t.mu.Unlock()
	if observe != nil {
		for _, m := range msgs {
			(*observe)(m)
		}
	}
	for i, m := range msgs {
		if m == nil {
			continue // taken with an earlier one to the same peer
		}
		p := t.peers[m.GetTo()]
		if p == nil {
			continue
		}
		if p.idle() {
			// The peer's messages of this call, in order, from m on;
			// they go out together or queue together.
			batch := append(t.batch[:0], m)
			for _, o := range msgs[i+1:] {
				if o != nil && o.GetTo() == m.GetTo() {
					batch = append(batch, o)
				}
			}
			t.batch = batch
			if p.sendNow(batch) {
				if len(batch) > 1 {
					dropSent(msgs[i+1:], m.GetTo())
				}
				clear(t.batch)
				continue
			}
			clear(t.batch)
		}
		p.enqueue(m)
	}
}

// dropSent clears the messages to id from msgs.
func dropSent(msgs []*raftpb.Message, id uint64) {
	for j, o := range msgs {
		if o != nil && o.GetTo() == id {
			msgs[j] = nil
		}
	}
}

// SetPeer adds peer id, or changes its URLs. The local member is never a
// peer of itself: a call for it is ignored.
func (t *Transport) SetPeer(id uint64, urls []string) {
	if r := t.node(); r != nil && r.MemberID() == id {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	select {
	case <-t.stopc:
		return
	default:
	}
	if p := t.peers[id]; p != nil {
		if !slices.Equal(p.getURLs(), urls) {
			p.setURLs(urls)
		}
		return
	}
	p := newPeer(t, id, urls)
	t.peers[id] = p
	t.wg.Add(2)
	go p.runMessages()
	go p.runSnapshots()
	t.lg.Info("peer added", zap.Stringer("peer-id", types.ID(id)), zap.Strings("urls", urls))
}

// RemovePeer stops sending to peer id.
func (t *Transport) RemovePeer(id uint64) {
	t.mu.Lock()
	p := t.peers[id]
	delete(t.peers, id)
	t.mu.Unlock()
	if p != nil {
		p.stop()
		t.lg.Info("peer removed", zap.Stringer("peer-id", types.ID(id)))
	}
}

// PeerIDs returns the ids of the current peers.
func (t *Transport) PeerIDs() []uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	ids := make([]uint64, 0, len(t.peers))
	for id := range t.peers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Stop closes every stream and waits for the peers' goroutines.
func (t *Transport) Stop() {
	t.mu.Lock()
	select {
	case <-t.stopc:
	default:
		close(t.stopc)
	}
	peers := t.peers
	t.peers = map[uint64]*peer{}
	t.mu.Unlock()
	for _, p := range peers {
		p.stop()
	}
	t.wg.Wait()
}

// noteRemoved handles a peer's answer that this member was removed.
func (t *Transport) noteRemoved() {
	if t.removed.Swap(true) {
		return
	}
	t.lg.Error("this member has been removed from the cluster")
	if t.cfg.OnRemoved != nil {
		go t.cfg.OnRemoved()
	}
}
