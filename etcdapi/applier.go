package etcdapi

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/metastore/metastore/etcdapi/alarm"
	"github.com/metastore/metastore/etcdapi/auth"
	"github.com/metastore/metastore/etcdapi/lease"
	"github.com/metastore/metastore/etcdapi/membership"
	"github.com/metastore/metastore/etcdapi/txn"
	"github.com/metastore/metastore/mvcc"
	"github.com/metastore/metastore/pluginapi/storage"
)

// applier is the state machine: it executes committed raft entries, in log
// order, against the MVCC store and completes the requests waiting on them.
// Only the raft apply goroutine calls it.
type applier struct {
	lg      *zap.Logger
	store   *mvcc.Store
	leases  *lease.Lessor
	waits   *waitRegistry
	members *membership.Cluster
	alarms  *alarm.Store
	auth    *auth.Store
	// leaseRole makes the lessor primary exactly when this member leads;
	// see applyLeaseGrant.
	leaseRole func() bool
	observe   atomic.Pointer[RequestApplyObserver]
}

// Apply executes entries. Entries the store already holds (after a
// snapshot from the leader brought it past them) are skipped; conf changes
// update the membership; other entries that carry no request (leader
// no-ops) only advance the consistent index.
func (a *applier) Apply(entries []*raftpb.Entry) {
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
		var r pb.InternalRaftRequest
		if err := proto.Unmarshal(e.GetData(), &r); err != nil {
			// The entry was marshalled by this package and passed the WAL
			// checksum: failing to decode it is a bug, not bad input.
			a.lg.Panic("cannot decode committed entry", zap.Uint64("index", index), zap.Error(err))
		}
		start := time.Now()
		res := a.applyRequest(index, &r)
		a.observed(&r, res, start)
		a.waits.trigger(r.GetHeader().GetID(), res)
	}
}

func (a *applier) applyRequest(index uint64, r *pb.InternalRaftRequest) applyResult {
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
		return applyResult{}
	}
}

// applyTxn runs one transaction as one mvcc write: compares and checks see
// the state before it, ops see the writes of earlier ops. A Put or a
// DeleteRange travels as a one-op txn so that there is one write path.
func (a *applier) applyTxn(index uint64, r *pb.TxnRequest, unwrap func(*pb.TxnResponse) proto.Message) applyResult {
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
		return applyResult{err: err}
	}
	if err := txn.Check(tw, a.store, a.leases, r, path); err != nil {
		tw.End()
		return applyResult{err: err}
	}
	resp := txn.NewResponse(r, path)
	if err := txn.Execute(context.Background(), tw, r, path, resp); err != nil {
		// txn.Check ruled out every error a write can meet.
		a.lg.Panic("unexpected error during txn with writes", zap.Error(err))
	}
	resp.Header.Revision = tw.Rev()
	a.leases.Track(tw.End())
	if unwrap != nil {
		return applyResult{resp: unwrap(resp)}
	}
	return applyResult{resp: resp}
}

func (a *applier) applyCompaction(index uint64, r *pb.CompactionRequest) applyResult {
	physc, err := a.store.Compact(index, r.Revision)
	if err != nil {
		a.store.SetConsistentIndex(index)
		return applyResult{err: err}
	}
	resp := &pb.CompactionResponse{Header: &pb.ResponseHeader{Revision: a.store.Rev()}}
	return applyResult{resp: resp, physc: physc}
}

func putAsTxn(p *pb.PutRequest) *pb.TxnRequest {
	return &pb.TxnRequest{Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestPut{RequestPut: p}}}}
}

func deleteAsTxn(d *pb.DeleteRangeRequest) *pb.TxnRequest {
	return &pb.TxnRequest{Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestDeleteRange{RequestDeleteRange: d}}}}
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
