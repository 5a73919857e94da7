package txn

import (
	"bytes"
	"context"
	"math"
	"slices"
	"sort"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/metastore/metastore/mvcc"
)

// Reader is what a range executes against: the store itself for plain
// and read-only requests, or an open write txn inside a transaction.
type Reader interface {
	Range(ctx context.Context, key, end []byte, ro mvcc.RangeOptions) (*mvcc.RangeResult, error)
}

// RangeEnd normalizes a request's range end for mvcc: empty means the single
// key; "\x00" (from-key) passes through, mvcc reads it as "no upper bound".
func RangeEnd(end []byte) []byte {
	if len(end) == 0 {
		return nil
	}
	return end
}

// Range runs r as etcd does: revision filters and custom sort orders
// read the whole range, then prune, sort and cut to the limit; otherwise the
// limit is pushed down and one extra key tells whether there are more.
func Range(ctx context.Context, rd Reader, r *pb.RangeRequest) (*pb.RangeResponse, error) {
	resp, _, err := rangeKVs(ctx, rd, r, false)
	return resp, err
}

// RangePooled is Range whose large answers take their KVs from a pool.
// release, when not nil, hands them back: call it once nothing reads the
// response any more.
func RangePooled(ctx context.Context, rd Reader, r *pb.RangeRequest) (resp *pb.RangeResponse, release func(), err error) {
	return rangeKVs(ctx, rd, r, true)
}

func rangeKVs(ctx context.Context, rd Reader, r *pb.RangeRequest, pooled bool) (*pb.RangeResponse, func(), error) {
	ro := mvcc.RangeOptions{
		Limit:     pushedLimit(r),
		Rev:       r.Revision,
		CountOnly: r.CountOnly,
		KeysOnly:  r.KeysOnly && r.SortTarget != pb.RangeRequest_VALUE,
		Pooled:    pooled,
	}
	rr, err := rd.Range(ctx, r.Key, RangeEnd(r.RangeEnd), ro)
	if err != nil {
		return nil, nil, err
	}
	var release func()
	if rr.Pooled() {
		release = rr.Release
	}
	kvs := filterKVs(rr.KVs, r)
	sortKVs(kvs, r)
	resp := &pb.RangeResponse{Header: &pb.ResponseHeader{Revision: rr.Rev}, Count: int64(rr.Count)}
	if r.Limit > 0 && len(kvs) > int(r.Limit) {
		kvs = kvs[:r.Limit]
		resp.More = true
	}
	if r.KeysOnly {
		for _, kv := range kvs {
			kv.Value = nil
		}
	}
	resp.Kvs = kvs
	return resp, release, nil
}

func pushedLimit(r *pb.RangeRequest) int64 {
	if !IsDefaultOrdering(r.SortTarget, r.SortOrder) || HasRevisionFilters(r) {
		return 0
	}
	if r.Limit > 0 && r.Limit < math.MaxInt64 {
		return r.Limit + 1
	}
	return r.Limit
}

// IsDefaultOrdering reports whether a range in order t, o comes out in
// key order, the order the store reads in.
func IsDefaultOrdering(t pb.RangeRequest_SortTarget, o pb.RangeRequest_SortOrder) bool {
	return o == pb.RangeRequest_NONE || (t == pb.RangeRequest_KEY && o == pb.RangeRequest_ASCEND)
}

// HasRevisionFilters reports whether r filters keys by their create or
// mod revision, which needs the whole range read first.
func HasRevisionFilters(r *pb.RangeRequest) bool {
	return r.MinModRevision != 0 || r.MaxModRevision != 0 ||
		r.MinCreateRevision != 0 || r.MaxCreateRevision != 0
}

func filterKVs(kvs []*mvccpb.KeyValue, r *pb.RangeRequest) []*mvccpb.KeyValue {
	if !HasRevisionFilters(r) {
		return kvs
	}
	return slices.DeleteFunc(kvs, func(kv *mvccpb.KeyValue) bool {
		return (r.MaxModRevision != 0 && kv.ModRevision > r.MaxModRevision) ||
			(r.MinModRevision != 0 && kv.ModRevision < r.MinModRevision) ||
			(r.MaxCreateRevision != 0 && kv.CreateRevision > r.MaxCreateRevision) ||
			(r.MinCreateRevision != 0 && kv.CreateRevision < r.MinCreateRevision)
	})
}

// sortKVs orders kvs as the request asks. A non-key target without an order
// sorts ascending, as etcd does. sort.Sort (not a stable sort) is used on
// purpose: elements that compare equal then come out in the same order as
// from etcd.
func sortKVs(kvs []*mvccpb.KeyValue, r *pb.RangeRequest) {
	order := r.SortOrder
	if r.SortTarget != pb.RangeRequest_KEY && order == pb.RangeRequest_NONE {
		order = pb.RangeRequest_ASCEND
	}
	if IsDefaultOrdering(r.SortTarget, order) {
		return
	}
	s := kvSorter{kvs: kvs, less: sortLess(r.SortTarget)}
	if order == pb.RangeRequest_DESCEND {
		sort.Sort(sort.Reverse(s))
		return
	}
	sort.Sort(s)
}

func sortLess(t pb.RangeRequest_SortTarget) func(a, b *mvccpb.KeyValue) bool {
	switch t {
	case pb.RangeRequest_VERSION:
		return func(a, b *mvccpb.KeyValue) bool { return a.Version < b.Version }
	case pb.RangeRequest_CREATE:
		return func(a, b *mvccpb.KeyValue) bool { return a.CreateRevision < b.CreateRevision }
	case pb.RangeRequest_MOD:
		return func(a, b *mvccpb.KeyValue) bool { return a.ModRevision < b.ModRevision }
	case pb.RangeRequest_VALUE:
		return func(a, b *mvccpb.KeyValue) bool { return bytes.Compare(a.Value, b.Value) < 0 }
	default:
		return func(a, b *mvccpb.KeyValue) bool { return bytes.Compare(a.Key, b.Key) < 0 }
	}
}

type kvSorter struct {
	kvs  []*mvccpb.KeyValue
	less func(a, b *mvccpb.KeyValue) bool
}

func (s kvSorter) Len() int           { return len(s.kvs) }
func (s kvSorter) Swap(i, j int)      { s.kvs[i], s.kvs[j] = s.kvs[j], s.kvs[i] }
func (s kvSorter) Less(i, j int) bool { return s.less(s.kvs[i], s.kvs[j]) }
