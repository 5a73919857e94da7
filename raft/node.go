package raft

import (
	"context"
	"sync"
	"sync/atomic"

	"go.etcd.io/etcd/client/pkg/v3/types"
	etcdraft "go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/metastore/metastore/raft/wal"
)

// Status is a point-in-time view of a Node.
type Status struct {
	ID           uint64
	Leader       uint64 // 0 when no leader is known
	Term         uint64
	CommitIndex  uint64
	AppliedIndex uint64
	IsLeader     bool
	IsLearner    bool
}

// Node runs one raft member: the raft loop persists and sends, the apply
// loop hands committed entries to the Applier, and the read loop batches
// ReadIndex requests. All methods are safe for concurrent use.
type Node struct {
	lg           *zap.Logger
	cfg          Config
	applier      Applier
	md           wal.Metadata
	startApplied uint64 // entries at or below it are never passed to Apply

	// Owned by the raft loop.
	rn        *etcdraft.RawNode
	storage   *etcdraft.MemoryStorage
	wal       *wal.WAL
	confs     confLog
	snapIndex uint64 // index of the latest raft snapshot
	snapAfter uint64 // applied index at which the next snapshot is due
	// handedOut is the last committed entry a Ready has handed out (the
	// snapshot's index until one has). After a restart raft hands out the
	// entries after the WAL's snapshot again, the engine may already be
	// far past them, and raft must still find them in the log.
	handedOut  uint64
	lead       uint64
	campaigned bool

	propc chan proposal
	// batch holds the proposals taken from propc since the raft loop last
	// stepped them into raft, and batchBytes their data's size (raft loop
	// only).
	batch      []proposal
	batchBytes uint64
	recvc      chan *raftpb.Message
	ctlc       chan func(*etcdraft.RawNode)
	applyc     chan applyTask

	applied   appliedIndex
	status    atomic.Pointer[Status]
	isLearner atomic.Bool
	leaderCh  notifier
	reads     *readIndexBatcher
	// walTraces are the spans of proposals stepped into raft and not yet
	// persisted, when the node traces (raft loop only).
	walTraces []trace.SpanContext
	activity  peerActivity // raft messages received, by peer
	holds     *commitHolds // raft loop only
	reached   peerActivity // probes answered, by peer

	stopc    chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
	done     chan struct{}
	errMu    sync.Mutex
	err      error
}

// proposal is a Propose or ProposeConfChange call waiting for raft to
// take or drop it, or a ProposeQueued one that is told only of a drop.
type proposal struct {
	data []byte
	cc   raftpb.ConfChangeI // set for a conf change
	errc chan error
	// dropped, for a ProposeQueued proposal (errc nil), is told why raft
	// dropped it.
	dropped func(error)
	// trace is the sampled span the proposal was made in, when the node
	// traces (Config.Tracer); nil otherwise.
	trace *trace.SpanContext
}

// Start opens the WAL in cfg.WALDir (creating it and bootstrapping
// cfg.Peers for a new cluster), restores raft's log from it and starts the
// node's loops. appliedIndex is the storage engine's consistent index:
// committed entries above it are passed to applier, those at or below it
// never are. It is an error (ErrIndexMismatch) for appliedIndex to be below
// the WAL's snapshot index, or above its last entry unless the WAL records
// a snapshot (then the engine was restored from one). A new cluster whose only
// voter is this member elects itself at once.
func Start(cfg Config, applier Applier, appliedIndex uint64) (*Node, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r, err := openStorage(cfg, appliedIndex)
	if err != nil {
		return nil, err
	}
	rn, err := newRawNode(cfg, r)
	if err != nil {
		r.wal.Close()
		return nil, err
	}
	n := newNode(cfg, applier, appliedIndex, r, rn)
	n.lg.Info("raft: node started",
		zap.Stringer("member-id", types.ID(n.md.MemberID)),
		zap.Stringer("cluster-id", types.ID(n.md.ClusterID)),
		zap.Bool("bootstrap", r.bootstrap),
		zap.Uint64("snapshot-index", n.snapIndex),
		zap.Uint64("applied-index", appliedIndex))
	n.wg.Add(3)
	go n.runRaftLoop()
	go n.runApplyLoop()
	go n.reads.run()
	go n.closeWhenDone()
	return n, nil
}

func newNode(cfg Config, applier Applier, appliedIndex uint64, r *restored, rn *etcdraft.RawNode) *Node {
	n := &Node{
		lg:           cfg.Logger,
		cfg:          cfg,
		applier:      applier,
		md:           r.md,
		startApplied: appliedIndex,
		rn:           rn,
		storage:      r.storage,
		wal:          r.wal,
		confs:        newConfLog(r.snapshot.GetIndex(), r.snapshot.GetConfState()),
		snapIndex:    r.snapshot.GetIndex(),
		handedOut:    r.snapshot.GetIndex(),
		propc:        make(chan proposal, 1024),
		recvc:        make(chan *raftpb.Message, 1024),
		ctlc:         make(chan func(*etcdraft.RawNode), 16),
		applyc:       make(chan applyTask, 128),
		stopc:        make(chan struct{}),
		done:         make(chan struct{}),
	}
	n.snapAfter = n.snapIndex + cfg.SnapshotCount
	n.applied.init(appliedIndex)
	n.leaderCh.init()
	n.reads = newReadIndexBatcher(n)
	n.holds = newCommitHolds(cfg.CommitHold)
	n.updateLearner(n.confs.current())
	n.publishStatus()
	return n
}

// Propose proposes data for the log. It returns once raft has taken the
// proposal (not when it is committed; wait for Apply for that), ctx.Err()
// if ctx ends first, ErrProposalDropped if raft dropped it (no leader is
// known, or leadership is being transferred) and ErrStopped after Stop.
func (n *Node) Propose(ctx context.Context, data []byte) error {
	p := proposal{data: data, errc: make(chan error, 1)}
	if n.cfg.Tracer != nil {
		p.trace = sampledSpan(ctx)
	}
	return n.submit(ctx, p)
}

// ProposeQueued is Propose without the wait for raft to take the
// proposal: it returns once the raft loop has it queued, and the loop
// calls dropped (which must not block) if raft drops it. When expire is
// closed it gives up as if ctx's deadline had passed
// (context.DeadlineExceeded). A caller that waits for the entry's apply
// anyway saves a wake-up of its goroutine per proposal, which kept the
// raft loop waiting for a core: a lone client's puts went from 1,615 to
// 1,790 a second (medians of six runs each on two cores).
func (n *Node) ProposeQueued(ctx context.Context, data []byte, expire <-chan struct{}, dropped func(error)) error {
	p := proposal{data: data, dropped: dropped}
	if n.cfg.Tracer != nil {
		p.trace = sampledSpan(ctx)
	}
	return n.enqueue(ctx, p, expire)
}

// ProposeConfChange proposes a membership change. It returns as Propose
// does; the change takes effect in raft when its entry is committed, and
// the Applier sees the entry after that.
func (n *Node) ProposeConfChange(ctx context.Context, cc raftpb.ConfChangeI) error {
	return n.submit(ctx, proposal{cc: cc, errc: make(chan error, 1)})
}

// submit queues p for the raft loop and waits for raft to take or drop
// it.
func (n *Node) submit(ctx context.Context, p proposal) error {
	if err := n.enqueue(ctx, p, nil); err != nil {
		return err
	}
	select {
	case err := <-p.errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-n.stopc:
		return ErrStopped
	}
}

// enqueue queues p for the raft loop; a closed expire gives up as ctx's
// deadline would.
func (n *Node) enqueue(ctx context.Context, p proposal, expire <-chan struct{}) error {
	if n.stopped() {
		return ErrStopped
	}
	// Queued at once when there is room: a send on one channel locks
	// that channel alone, where the select below locks all four.
	select {
	case n.propc <- p:
		return nil
	default:
	}
	select {
	case n.propc <- p:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-expire:
		return context.DeadlineExceeded
	case <-n.stopc:
		return ErrStopped
	}
}

// Step hands raft a message from a peer. It returns once the message is
// queued for the raft loop; messages raft rejects are logged and dropped.
func (n *Node) Step(ctx context.Context, m *raftpb.Message) error {
	if n.stopped() {
		return ErrStopped
	}
	select {
	case n.recvc <- m:
		return nil
	default:
	}
	select {
	case n.recvc <- m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-n.stopc:
		return ErrStopped
	}
}

// ReportUnreachable tells raft that the last message to peer id was not
// delivered. Transports call it; it never blocks for long.
func (n *Node) ReportUnreachable(id uint64) {
	n.control(func(rn *etcdraft.RawNode) { rn.ReportUnreachable(id) })
}

// ReportSnapshot tells raft whether the snapshot sent to peer id arrived.
// Transports must call it for every MsgSnap they are given.
func (n *Node) ReportSnapshot(id uint64, status etcdraft.SnapshotStatus) {
	n.control(func(rn *etcdraft.RawNode) { rn.ReportSnapshot(id, status) })
}

// control runs f on the raft loop, unless the node is stopped.
func (n *Node) control(f func(*etcdraft.RawNode)) bool {
	if n.stopped() {
		return false
	}
	select {
	case n.ctlc <- f:
		return true
	case <-n.stopc:
		return false
	}
}

// AppliedIndex returns the index of the last entry Apply has returned for.
func (n *Node) AppliedIndex() uint64 { return n.applied.load() }

// WaitApplied blocks until Apply has returned for index. It returns
// ctx.Err() if ctx ends first and ErrStopped after Stop.
func (n *Node) WaitApplied(ctx context.Context, index uint64) error {
	return n.applied.wait(ctx, index)
}

// Status returns the node's current status.
func (n *Node) Status() Status {
	st := *n.status.Load()
	st.AppliedIndex = n.applied.load()
	return st
}

// MemberID returns this member's id, as persisted in the WAL.
func (n *Node) MemberID() uint64 { return n.md.MemberID }

// ClusterID returns the cluster id, as persisted in the WAL.
func (n *Node) ClusterID() uint64 { return n.md.ClusterID }

// LeaderChanged returns a channel that is closed at the next change of the
// known leader (including to none). Call it again for the change after.
func (n *Node) LeaderChanged() <-chan struct{} { return n.leaderCh.wait() }

// WALSyncCount returns how many fsyncs the WAL has done; tests use it to
// check group commit.
func (n *Node) WALSyncCount() uint64 { return n.wal.SyncCount() }

// Done returns a channel closed once the node has stopped, either by Stop
// or because it failed; Err says which.
func (n *Node) Done() <-chan struct{} { return n.done }

// Err returns the error that stopped the node, or nil.
func (n *Node) Err() error {
	n.errMu.Lock()
	defer n.errMu.Unlock()
	return n.err
}

// Stop stops the loops, then syncs and closes the WAL (unsynced if a WAL
// write or fsync failed: see wal.ErrFailed). Entries committed but not
// yet applied are delivered again by the next Start. Stop is idempotent
// and safe to call concurrently.
func (n *Node) Stop() {
	n.stopOnce.Do(func() { close(n.stopc) })
	<-n.done
}

// stopped reports whether Stop was called or the node failed. Checking it
// first keeps a buffered send from winning over a closed stopc.
func (n *Node) stopped() bool {
	select {
	case <-n.stopc:
		return true
	default:
		return false
	}
}

// fail stops the node because of err, which the raft loop cannot recover
// from (a WAL write failed).
func (n *Node) fail(err error) {
	n.lg.Error("raft: node failed, stopping", zap.Error(err))
	n.errMu.Lock()
	if n.err == nil {
		n.err = err
	}
	n.errMu.Unlock()
	n.stopOnce.Do(func() { close(n.stopc) })
}

// closeWhenDone closes the WAL once every loop has exited, then Done.
func (n *Node) closeWhenDone() {
	<-n.stopc
	n.applied.stop()
	n.reads.stop()
	n.wg.Wait()
	if err := n.wal.Close(); err != nil {
		n.lg.Error("raft: close WAL", zap.Error(err))
	}
	n.lg.Info("raft: node stopped", zap.Stringer("member-id", types.ID(n.md.MemberID)))
	close(n.done)
}

// ReadIndex returns a linearizable read index: once the applied index
// reaches it (see WaitApplied), local state reflects every write committed
// before the call. Concurrent callers share one raft request. It returns
// ctx.Err() if ctx ends first, ErrTimeout if raft did not answer within
// Config.ReadIndexTimeout, and ErrStopped after Stop.
func (n *Node) ReadIndex(ctx context.Context) (uint64, error) {
	rb := n.reads.join()
	select {
	case <-rb.done: // closed with ErrStopped when the node stops
		return rb.index, rb.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
