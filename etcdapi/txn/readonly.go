package txn

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/metastore/metastore/mvcc"
)

// pinnedView reads the store at one revision: the reads of a read-only txn
// all see the same state.
type pinnedView struct {
	store *mvcc.Store
	rev   int64
}

func (v pinnedView) Range(ctx context.Context, key, end []byte, ro mvcc.RangeOptions) (*mvcc.RangeResult, error) {
	if ro.Rev == 0 {
		ro.Rev = v.rev
	}
	rr, err := v.store.Range(ctx, key, end, ro)
	if err != nil {
		return nil, err
	}
	rr.Rev = v.rev
	return rr, nil
}

func (v pinnedView) Rev() int64        { return v.rev }
func (v pinnedView) CompactRev() int64 { return v.store.CompactRev() }

// readOnlyWriter runs a read-only txn through the txn executor. The
// executor only calls Put or DeleteRange for ops a read-only txn does not
// have, so reaching them is a bug.
type readOnlyWriter struct{ pinnedView }

func (readOnlyWriter) Put([]byte, []byte, int64) int64 {
	panic("txn: put in a read-only txn")
}

func (readOnlyWriter) DeleteRange([]byte, []byte) (int64, int64) {
	panic("txn: delete in a read-only txn")
}

// ReadOnly runs a txn of ranges only (IsReadOnly) against store, every
// read pinned to the store's current revision, so the txn sees one state
// even while writes are applied.
func ReadOnly(ctx context.Context, store *mvcc.Store, r *pb.TxnRequest) (*pb.TxnResponse, error) {
	view := pinnedView{store: store, rev: store.Rev()}
	path, err := Path(ctx, view, r)
	if err != nil {
		return nil, err
	}
	// A txn of ranges only has no put to check a lease of.
	if err := Check(view, view, nil, r, path); err != nil {
		return nil, err
	}
	resp := NewResponse(r, path)
	if err := Execute(ctx, readOnlyWriter{view}, r, path, resp); err != nil {
		return nil, err
	}
	resp.Header.Revision = view.rev
	return resp, nil
}
