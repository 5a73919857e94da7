package etcdapi

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/raft/v3/raftpb"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/metastore/metastore/etcdapi/admission"
	"github.com/metastore/metastore/etcdapi/alarm"
	"github.com/metastore/metastore/etcdapi/apply"
	"github.com/metastore/metastore/etcdapi/auth"
	"github.com/metastore/metastore/etcdapi/codec"
	"github.com/metastore/metastore/etcdapi/compactor"
	"github.com/metastore/metastore/etcdapi/lease"
	"github.com/metastore/metastore/etcdapi/membership"
	"github.com/metastore/metastore/mvcc"
	"github.com/metastore/metastore/pluginapi/quota"
	"github.com/metastore/metastore/pluginapi/storage"
)

// Raft is the replicated log as the API needs it. The host adapts its raft
// node to it.
type Raft interface {
	// ProposeQueued hands data to raft for the log; the applier sees it
	// once committed. It returns once raft has it queued, and calls
	// dropped (without blocking) if raft drops it. It gives up when ctx
	// ends or expire is closed.
	ProposeQueued(ctx context.Context, data []byte, expire <-chan struct{}, dropped func(error)) error
	// ReadIndex returns an index that, once applied locally, makes a read
	// linearizable.
	ReadIndex(ctx context.Context) (uint64, error)
	// WaitApplied blocks until index has been applied.
	WaitApplied(ctx context.Context, index uint64) error
	// Status reports the member's view of raft.
	Status() RaftStatus
	// MemberID and ClusterID identify this member and its cluster.
	MemberID() uint64
	ClusterID() uint64
}

// RaftStatus is a member's view of raft.
type RaftStatus struct {
	Leader       uint64
	Term         uint64
	CommitIndex  uint64
	AppliedIndex uint64
	IsLearner    bool
}

// Config sets the limits of the API.
type Config struct {
	// StrictReconfigCheck refuses membership changes that could cost the
	// cluster its quorum (--strict-reconfig-check, on by default).
	StrictReconfigCheck bool
	// MaxTxnOps bounds the ops of each txn branch (--max-txn-ops).
	MaxTxnOps int
	// MaxRequestBytes bounds a proposed request (--max-request-bytes).
	MaxRequestBytes int
	// RequestTimeout bounds the wait for a proposal to apply.
	RequestTimeout time.Duration
	// QuotaBackendBytes is reported by Status (--quota-backend-bytes).
	QuotaBackendBytes int64
	// Version is the server version Status reports.
	Version string
	// WatchProgressNotifyInterval is how often a watcher that asked for
	// progress notifications and got no events hears the current
	// revision (--watch-progress-notify-interval); 0 means 10 minutes.
	WatchProgressNotifyInterval time.Duration
	// MaxLearners is how many learners the cluster may have, checked as
	// each member applies a learner's addition (--max-learners); 0 means
	// DefaultMaxLearners, a negative value none.
	MaxLearners int
}

// Server serves the etcd v3 API of one member.
type Server struct {
	lg    *zap.Logger
	cfg   Config
	store *mvcc.Store
	raft  Raft
	waits *waitRegistry
	// deadlines bound the wait for a proposal to apply.
	deadlines *deadlines
	applier   *apply.Applier
	leases    *lease.Lessor
	leaseRun  leaseRunner
	members   *membership.Cluster
	nextID    atomic.Uint64
	stopped   chan struct{}
	dbSize    func() (size, inUse int64)
	// tracer traces proposals (nil: none); traces holds the span of each
	// traced proposal in flight by id, for the applier.
	tracer trace.Tracer
	traces sync.Map
	maint  maintenance
	auth   *auth.Store
	// cluster serves the Cluster service to clients and to followers
	// that forward calls, so that its reconfigurations are serialised.
	cluster *ClusterServer
	// peerCaller reaches the leader for forwarded calls.
	peerCaller PeerCaller
}

// Deps are what a Server is built from: its settings, the store and
// engine it serves, and the policies and hooks the host chooses.
type Deps struct {
	// Log is the server's logger; nil logs nothing.
	Log    *zap.Logger
	Config Config
	// Store is the MVCC store served, Engine the storage engine under it,
	// which the Maintenance service snapshots, hashes and defragments.
	Store  *mvcc.Store
	Engine storage.Engine
	// DBSize measures the engine: its size and the part of it in use.
	DBSize func() (size, inUse int64)
	// Leases configures the lessor; Now is its clock (nil: time.Now).
	Leases lease.Config
	Now    func() time.Time
	// Auth configures authentication.
	Auth AuthConfig
	// Quota decides whether a write may grow the store, QuotaFallback
	// when Quota cannot answer, and QuotaUsage keeps the usage of the
	// prefixes Quota declared; each may be nil. Without Quota every write
	// is admitted but those that grow the store while NOSPACE is active.
	Quota, QuotaFallback quota.Policy
	QuotaUsage           QuotaUsage
	// OnAlarm is told of each alarm this member raises by itself; nil:
	// nobody is.
	OnAlarm AlarmObserver
	// OnMembershipChange is called by the apply loop with the new member
	// list after every change (the host keeps its peers in step); nil:
	// nobody is.
	OnMembershipChange func([]Member)
	// Tracer, when set, traces each proposal made in a sampled span, from
	// its proposal to its apply (and the apply's engine flush). Nil
	// traces nothing and costs nothing.
	Tracer trace.Tracer
}

// New builds the Server of d and rebuilds its state from the store, in
// this order: alarms, members, leases, then users and roles. The server
// applies the raft log from then on (Apply); it serves once Start has
// given it the raft node.
func New(ctx context.Context, d Deps) (*Server, error) {
	lg := d.Log
	if lg == nil {
		lg = zap.NewNop()
	}
	now := d.Now
	if now == nil {
		now = time.Now
	}
	s := &Server{
		lg: lg, cfg: d.Config, store: d.Store, waits: newWaitRegistry(),
		stopped: make(chan struct{}), dbSize: d.DBSize, tracer: d.Tracer,
	}
	s.deadlines = newDeadlines(d.Config.RequestTimeout, s.waits.expire)
	s.members = membership.New(d.Config.MaxLearners)
	s.leases = lease.New(lg.Named("lessor"), d.Leases, now)
	s.maint.engine = d.Engine
	s.maint.alarms = alarm.NewStore()
	s.maint.observeAlarms = d.OnAlarm
	s.maint.quota = admission.New(lg.Named("quota"), d.Quota, d.QuotaFallback, func() quota.Usage {
		size, inUse := s.dbSize()
		return quota.Usage{BackendBytes: size, BackendBytesInUse: inUse}
	})
	if d.QuotaUsage != nil {
		s.maint.quota.SetPrefixUsage(d.QuotaUsage)
	}
	s.auth = auth.NewStore(lg.Named("auth"))
	s.applier = apply.New(apply.Deps{
		Log: lg, Store: d.Store, Leases: s.leases, Members: s.members, Alarms: s.maint.alarms, Auth: s.auth,
		LeaseRole: s.syncLeaseRole, Done: s.waits.trigger, Proposed: s.waits.proposed, Tracer: d.Tracer,
		TraceOf: s.proposalTrace,
	})
	s.cluster = &ClusterServer{s: s}

	if err := s.maint.alarms.Load(ctx, d.Store); err != nil {
		return nil, err
	}
	if err := s.members.Load(ctx, d.Store); err != nil {
		return nil, err
	}
	if err := s.leases.Load(ctx, d.Store); err != nil {
		return nil, err
	}
	if err := s.auth.Configure(d.Auth, s.waitApplied); err != nil {
		return nil, err
	}
	if err := s.auth.Load(ctx, d.Store); err != nil {
		return nil, err
	}
	s.members.SetOnChange(d.OnMembershipChange)
	return s, nil
}

// Start attaches the raft node, which applies through s, and the way to
// reach the leader for the calls a follower forwards (nil: a follower
// answers them "not leader"), then follows this member's raft role with
// the lease loop, and starts auto-compaction (a zero Mode starts none).
// Call it once the node runs and before serving; StopLeases and Stop end
// what it started.
func (s *Server) Start(r Raft, peers PeerCaller, compaction compactor.Config) {
	s.attachRaft(r)
	s.peerCaller = peers
	s.startLeases()
	s.maint.compactor = compactor.Start(s.lg.Named("compactor"), compaction, s.store.Rev,
		func() bool { return s.raft.Status().Leader == s.raft.MemberID() },
		func(ctx context.Context, rev int64) error {
			res, err := s.propose(ctx, &pb.InternalRaftRequest{Compaction: &pb.CompactionRequest{Revision: rev}})
			return firstErr(err, res.Err)
		})
}

// attachRaft attaches the raft node.
func (s *Server) attachRaft(r Raft) {
	s.raft = r
	// Proposal ids: the member id's low 16 bits, then 40 bits of
	// milliseconds, then a counter, so ids neither repeat across restarts
	// of this member nor collide with other members' in one log.
	ms := uint64(time.Now().UnixMilli()) & (1<<40 - 1)
	s.nextID.Store(r.MemberID()<<48 | ms<<8)
}

// Apply implements the raft node's applier.
func (s *Server) Apply(entries []*raftpb.Entry) { s.applier.Apply(entries) }

// PersistedIndex implements the raft node's applier: the WAL may drop what
// the engine holds durably.
func (s *Server) PersistedIndex() uint64 { return s.store.PersistedIndex() }

// Stop stops auto-compaction, waiting for a compaction in flight, and
// fails pending and future proposals with ErrStopped. StopLeases comes
// before it, while raft still runs.
func (s *Server) Stop() {
	s.maint.compactor.Stop()
	select {
	case <-s.stopped:
	default:
		close(s.stopped)
	}
	s.waits.stop()
}

// propose replicates r and waits for the applier's result.
func (s *Server) propose(ctx context.Context, r *pb.InternalRaftRequest) (apply.Result, error) {
	hdr, err := s.authorizeProposal(ctx, r)
	if err != nil {
		return apply.Result{}, err
	}
	if err := s.admit(ctx, r); err != nil {
		return apply.Result{}, err
	}
	id := s.nextID.Add(1)
	hdr.ID = id
	r.Header = hdr
	data, err := codec.MarshalRaftRequest(r)
	if err != nil {
		return apply.Result{}, err
	}
	if len(data) > s.cfg.MaxRequestBytes {
		return apply.Result{}, ErrRequestTooLarge
	}
	if s.tracer != nil {
		var end func()
		ctx, end = s.traceProposal(ctx, id)
		defer end()
	}
	dl := s.deadlines.after()
	ch := s.waits.registerUntil(id, dl, r, data)
	onDrop := func(err error) { s.waits.trigger(id, apply.Result{Err: dropped{err}}) }
	if err := s.raft.ProposeQueued(ctx, data, dl.expired, onDrop); err != nil {
		s.waits.cancel(id)
		return apply.Result{}, s.proposeError(ctx, err)
	}
	// The deadline and Stop fail the wait through ch.
	select {
	case res := <-ch:
		s.waits.release(ch)
		if d, ok := res.Err.(dropped); ok {
			s.waits.canceled.Add(1)
			return apply.Result{}, s.proposeError(ctx, d.err)
		}
		return res, nil
	case <-ctx.Done():
		s.waits.cancel(id)
		return apply.Result{}, ctx.Err()
	}
}

// dropped carries, in place of an apply result, why raft dropped a
// proposal.
type dropped struct{ err error }

func (d dropped) Error() string { return d.err.Error() }

// proposeError tells the caller's own cancellation apart from our timeout.
func (s *Server) proposeError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ErrTimeout
	}
	return err
}

// linearizableBarrier waits until this member has applied everything
// committed when the read arrived.
func (s *Server) linearizableBarrier(ctx context.Context) error {
	index, err := s.raft.ReadIndex(ctx)
	if err != nil {
		return s.proposeError(ctx, err)
	}
	return s.raft.WaitApplied(ctx, index)
}

// fillHeader completes a response header; a zero revision becomes the
// current one.
func (s *Server) fillHeader(h *pb.ResponseHeader) {
	h.ClusterId = s.raft.ClusterID()
	h.MemberId = s.raft.MemberID()
	h.RaftTerm = s.raft.Status().Term
	if h.Revision == 0 {
		h.Revision = s.store.Rev()
	}
}
