package etcdapi

import (
	"context"

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
	panic("etcdapi: put in a read-only txn")
}

func (readOnlyWriter) DeleteRange([]byte, []byte) (int64, int64) {
	panic("etcdapi: delete in a read-only txn")
}
