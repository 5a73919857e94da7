package txn

import (
	"bytes"
	"cmp"
	"context"
	"fmt"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/metastore/metastore/mvcc"
)

// Path records, depth first, which branch every (nested) txn of a request
// takes: path[0] is the top level, then the nested txns of the taken branch
// in order, each followed by its own nested ones. All compares are evaluated
// against the state before the txn, as etcd does. A compare whose keys
// cannot be read (the storage engine failed) fails the whole txn with that
// error: taking the failure branch instead would run ops the state does not
// call for.
func Path(ctx context.Context, rd Reader, r *pb.TxnRequest) ([]bool, error) {
	ok, err := compareAll(ctx, rd, r.Compare)
	if err != nil {
		return nil, err
	}
	path := []bool{ok}
	for _, op := range branch(r, ok) {
		if t := op.GetRequestTxn(); t != nil {
			nested, err := Path(ctx, rd, t)
			if err != nil {
				return nil, err
			}
			path = append(path, nested...)
		}
	}
	return path, nil
}

func branch(r *pb.TxnRequest, succeeded bool) []*pb.RequestOp {
	if succeeded {
		return r.Success
	}
	return r.Failure
}

func compareAll(ctx context.Context, rd Reader, cs []*pb.Compare) (bool, error) {
	for _, c := range cs {
		ok, err := compare(ctx, rd, c)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// compare holds when it holds for every key in its range. A missing key
// compares as a zero KeyValue, except that a value compare then fails. An
// error reading the range is returned as is.
func compare(ctx context.Context, rd Reader, c *pb.Compare) (bool, error) {
	rr, err := rd.Range(ctx, c.Key, RangeEnd(c.RangeEnd), mvcc.RangeOptions{})
	if err != nil {
		return false, fmt.Errorf("txn compare: %w", err)
	}
	if len(rr.KVs) == 0 {
		if c.Target == pb.Compare_VALUE {
			return false, nil
		}
		return compareKV(c, &mvccpb.KeyValue{}), nil
	}
	for _, kv := range rr.KVs {
		if !compareKV(c, kv) {
			return false, nil
		}
	}
	return true, nil
}

func compareKV(c *pb.Compare, kv *mvccpb.KeyValue) bool {
	var result int
	switch c.Target {
	case pb.Compare_VALUE:
		result = bytes.Compare(kv.Value, c.GetValue())
	case pb.Compare_CREATE:
		result = cmp.Compare(kv.CreateRevision, c.GetCreateRevision())
	case pb.Compare_MOD:
		result = cmp.Compare(kv.ModRevision, c.GetModRevision())
	case pb.Compare_VERSION:
		result = cmp.Compare(kv.Version, c.GetVersion())
	case pb.Compare_LEASE:
		result = cmp.Compare(kv.Lease, c.GetLease())
	}
	switch c.Result {
	case pb.Compare_EQUAL:
		return result == 0
	case pb.Compare_NOT_EQUAL:
		return result != 0
	case pb.Compare_GREATER:
		return result > 0
	case pb.Compare_LESS:
		return result < 0
	}
	return true
}

// IsReadOnly reports whether r holds nothing but ranges, in which case it
// is served without raft, like a range.
func IsReadOnly(r *pb.TxnRequest) bool {
	for _, ops := range [][]*pb.RequestOp{r.Success, r.Failure} {
		for _, op := range ops {
			if op.GetRequestRange() == nil {
				return false
			}
		}
	}
	return true
}

// IsSerializable reports whether every op of r is a serializable range.
func IsSerializable(r *pb.TxnRequest) bool {
	for _, ops := range [][]*pb.RequestOp{r.Success, r.Failure} {
		for _, op := range ops {
			if rr := op.GetRequestRange(); rr == nil || !rr.Serializable {
				return false
			}
		}
	}
	return true
}
