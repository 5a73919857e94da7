package apply

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/raft/v3/raftpb"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/metastore/metastore/etcdapi/alarm"
	"github.com/metastore/metastore/etcdapi/auth"
	"github.com/metastore/metastore/etcdapi/codec"
	"github.com/metastore/metastore/etcdapi/lease"
	"github.com/metastore/metastore/etcdapi/membership"
	"github.com/metastore/metastore/etcdapi/txn"
	"github.com/metastore/metastore/mvcc"
	"github.com/metastore/metastore/pluginapi/storage"
)

// Deps are the state machines the applier drives and what it reports to.
type Deps struct {
	Log     *zap.Logger
	Store   *mvcc.Store
	Leases  *lease.Lessor
	Members *membership.Cluster
	Alarms  *alarm.Store
	Auth    *auth.Store
	// LeaseRole makes the lessor primary exactly when this member leads;
	// see applyLeaseGrant. Nil: the lessor's role is left alone.
	LeaseRole func() bool
	// Done receives the result of every applied request that carries a
	// proposal id (its header's ID, or a conf change's ID), for the
	// request waiting on it.
	Done func(id uint64, res Result)
	// Proposed, when set, returns the request this member proposed under
	// a proposal id while its proposer waits for the result, if data (a
	// committed entry's) is what it was encoded into; nil otherwise. The
	// applier reads a key space write so, and changes nothing in it, in
	// place of decoding the entry; other kinds it decodes.
	Proposed func(id uint64, data []byte) *pb.InternalRaftRequest
	// Tracer, when set, traces the apply of each request whose proposal
	// TraceOf knows the span of, as that span's child; the store's next
	// flush continues the apply's span. Nil traces nothing.
	Tracer  trace.Tracer
	TraceOf func(id uint64) (trace.SpanContext, bool)
}

// Applier is the state machine: it executes committed raft entries, in
// log order, against the MVCC store and the domain state machines, and
// hands each result to Done. Only the raft apply goroutine calls Apply.
type Applier struct {
	lg        *zap.Logger
	store     *mvcc.Store
	leases    *lease.Lessor
	members   *membership.Cluster
	alarms    *alarm.Store
	auth      *auth.Store
	leaseRole func() bool
	done      func(id uint64, res Result)
	proposed  func(id uint64, data []byte) *pb.InternalRaftRequest
	observe   atomic.Pointer[Observer]
	tracer    trace.Tracer
	traceOf   func(id uint64) (trace.SpanContext, bool)
}

// New returns the applier of d.
func New(d Deps) *Applier {
	return &Applier{
		lg: d.Log, store: d.Store, leases: d.Leases, members: d.Members, alarms: d.Alarms,
		auth: d.Auth, leaseRole: d.LeaseRole, done: d.Done, proposed: d.Proposed, tracer: d.Tracer,
		traceOf: d.TraceOf,
	}
}

// Apply executes entries. Entries the store already holds (after a
// snapshot from the leader brought it past them) are skipped; conf changes
// update the membership; other entries that carry no request (leader
// no-ops) only advance the consistent index.
func (a *Applier) Apply(entries []*raftpb.Entry) {
	for _, e := range entries {
		index := e.GetIndex()
		switch {
		case index <= a.store.ConsistentIndex():
			continue
		case e.GetType() == raftpb.EntryConfChange:
			a.applyConfChange(e)
			continue
		case e.GetType() != raftpb.EntryNormal || len(e.GetData()) == 0:
			a.store.SetConsistentIndex(index)
			continue
		}
		r := a.request(e)
		start := time.Now()
		var res Result
		if a.tracer != nil {
			res = a.applyTraced(index, r)
		} else {
			res = a.applyRequest(index, r)
		}
		a.observed(r, res, start)
		a.done(r.GetHeader().GetID(), res)
	}
}

// request returns the request entry e carries: the one its proposer
// waits with (Deps.Proposed), if this member proposed it and it is a key
// space write, whose apply reads it and changes nothing in it, else
// decoded from the entry.
func (a *Applier) request(e *raftpb.Entry) *pb.InternalRaftRequest {
	if a.proposed != nil {
		if id, ok := codec.RaftRequestID(e.GetData()); ok {
			if r := a.proposed(id, e.GetData()); r != nil && (r.Put != nil || r.DeleteRange != nil || r.Txn != nil) {
				return r
			}
		}
	}
	r := new(pb.InternalRaftRequest)
	if err := codec.UnmarshalRaftRequest(e.GetData(), r); err != nil {
		// The entry was marshalled by this package and passed the WAL
		// checksum: failing to decode it is a bug, not bad input.
		a.lg.Panic("cannot decode committed entry", zap.Uint64("index", e.GetIndex()), zap.Error(err))
	}
	return r
}

// applyRequest applies one request, in this order, each step's side
// effects as listed:
//
//  1. The corruption guard: while CORRUPT is active, a request that changes
//     the key space or leases is refused (ErrCorrupt) and only advances the
//     consistent index.
//  2. Auth: the request is checked again with the identity and auth
//     revision its proposer recorded, so that a permission revoked between
//     proposal and apply is honoured; a refused request only advances the
//     consistent index.
//  3. Dispatch by kind. Each kind writes through one mvcc write at index,
//     so its changes, key space and meta namespaces alike, land in the
//     batch of its raft entry with the consistent index; a kind refused by
//     its own state machine (a lease grant that exists, a compaction of a
//     compacted revision) only advances the consistent index.
//
// etcd applies in the same order (its corrupt applier, its auth applier,
// then its backend applier).
func (a *Applier) applyRequest(index uint64, r *pb.InternalRaftRequest) Result {
	if res, ok := a.refuseWhileCorrupt(index, r); !ok {
		return res
	}
	if res, ok := a.authorizeEntry(index, r); !ok {
		return res
	}
	switch {
	case r.Put != nil:
		return a.applyTxn(index, putAsTxn(r.Put), unwrapPut)
	case r.DeleteRange != nil:
		return a.applyTxn(index, deleteAsTxn(r.DeleteRange), unwrapDelete)
	case r.Txn != nil:
		return a.applyTxn(index, r.Txn, nil)
	case r.Compaction != nil:
		return a.applyCompaction(index, r.Compaction)
	case r.LeaseGrant != nil:
		return a.applyLeaseGrant(index, r.LeaseGrant)
	case r.LeaseRevoke != nil:
		return a.applyLeaseRevoke(index, r.LeaseRevoke)
	case r.LeaseCheckpoint != nil:
		return a.applyLeaseCheckpoint(index, r.LeaseCheckpoint)
	case r.Alarm != nil:
		return a.applyAlarm(index, r.Alarm)
	case auth.IsRequest(r):
		return a.applyAuth(index, r)
	case r.ClusterMemberAttrSet != nil:
		return a.applyMemberAttrs(index, r.ClusterMemberAttrSet)
	default:
		a.store.SetConsistentIndex(index)
		a.lg.Warn("ignoring unknown committed request", zap.Uint64("index", index))
		return Result{}
	}
}

// applyTxn runs one transaction as one mvcc write: compares and checks see
// the state before it, ops see the writes of earlier ops. A Put or a
// DeleteRange travels as a one-op txn so that there is one write path.
func (a *Applier) applyTxn(index uint64, r *pb.TxnRequest, unwrap func(*pb.TxnResponse) proto.Message) Result {
	tw := a.store.Write(index)
	path, err := txn.Path(context.Background(), tw, r)
	if err != nil {
		// Nothing is written. Only an engine that is away may leave an
		// entry unapplied: a plugin engine's failure stops the member,
		// which applies this entry again from the WAL once the engine is
		// back. Any other read failure would make this member's state
		// differ from the others', so the member stops here, as etcd
		// does on a backend failure in its apply path.
		if !errors.Is(err, storage.ErrUnavailable) {
			a.lg.Panic("reading a txn's compares failed", zap.Uint64("index", index), zap.Error(err))
		}
		a.lg.Error("reading a txn's compares failed", zap.Uint64("index", index), zap.Error(err))
		tw.End()
		return Result{Err: err}
	}
	if err := txn.Check(tw, a.store, a.leases, r, path); err != nil {
		tw.End()
		return Result{Err: err}
	}
	resp := txn.NewResponse(r, path)
	if err := txn.Execute(context.Background(), tw, r, path, resp); err != nil {
		// txn.Check ruled out every error a write can meet.
		a.lg.Panic("unexpected error during txn with writes", zap.Error(err))
	}
	resp.Header.Revision = tw.Rev()
	a.leases.Track(tw.End())
	if unwrap != nil {
		return Result{Resp: unwrap(resp)}
	}
	return Result{Resp: resp}
}

func (a *Applier) applyCompaction(index uint64, r *pb.CompactionRequest) Result {
	physc, err := a.store.Compact(index, r.Revision)
	if err != nil {
		a.store.SetConsistentIndex(index)
		// A revision compacted already comes with a barrier that closes
		// once the compactions before it have finished: a physical
		// compaction refused so still waits for them, as etcd's does,
		// and a HashKV after it finds their hashes.
		return Result{Err: err, Physc: physc}
	}
	resp := &pb.CompactionResponse{Header: &pb.ResponseHeader{Revision: a.store.Rev()}}
	return Result{Resp: resp, Physc: physc}
}

// oneOpTxn is a txn of one put or one delete in one allocation instead
// of four.
type oneOpTxn struct {
	txn pb.TxnRequest
	ops [1]*pb.RequestOp
	op  pb.RequestOp
	put pb.RequestOp_RequestPut
	del pb.RequestOp_RequestDeleteRange
}

// request returns the txn of t.op.
func (t *oneOpTxn) request() *pb.TxnRequest {
	t.ops[0], t.txn.Success = &t.op, t.ops[:]
	return &t.txn
}

func putAsTxn(p *pb.PutRequest) *pb.TxnRequest {
	t := &oneOpTxn{}
	t.put.RequestPut, t.op.Request = p, &t.put
	return t.request()
}

func deleteAsTxn(d *pb.DeleteRangeRequest) *pb.TxnRequest {
	t := &oneOpTxn{}
	t.del.RequestDeleteRange, t.op.Request = d, &t.del
	return t.request()
}

func unwrapPut(t *pb.TxnResponse) proto.Message {
	resp := t.Responses[0].GetResponsePut()
	resp.Header = t.Header
	return resp
}

func unwrapDelete(t *pb.TxnResponse) proto.Message {
	resp := t.Responses[0].GetResponseDeleteRange()
	resp.Header = t.Header
	return resp
}
