package txn

import (
	"context"
	"fmt"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/metastore/metastore/mvcc"
)

// Writer is the write side a transaction executes against.
type Writer interface {
	Reader
	Put(key, value []byte, lease int64) int64
	DeleteRange(key, end []byte) (n, rev int64)
}

// RevBounds gives the revisions a range may read: up to the current one and
// not below the compacted one.
type RevBounds interface {
	Rev() int64
	CompactRev() int64
}

// Leases tells whether a lease exists: a put may only attach one that does.
type Leases interface {
	Exists(id int64) bool
}

// Check finds, before anything is written, every error the taken path
// would meet: ranges at a future or compacted revision, puts on a missing
// lease, and ignore_value or ignore_lease puts on a missing key. A txn that
// fails here writes nothing.
func Check(rd Reader, rb RevBounds, leases Leases, r *pb.TxnRequest, path []bool) error {
	_, err := checkOps(rd, rb, leases, branch(r, path[0]), path[1:])
	return err
}

func checkOps(rd Reader, rb RevBounds, leases Leases, ops []*pb.RequestOp, path []bool) (int, error) {
	used := 0
	for _, op := range ops {
		var err error
		switch v := op.GetRequest().(type) {
		case *pb.RequestOp_RequestRange:
			err = checkRangeRev(rb, v.RequestRange.Revision)
		case *pb.RequestOp_RequestPut:
			err = checkPut(rd, leases, v.RequestPut)
		case *pb.RequestOp_RequestTxn:
			var n int
			n, err = checkOps(rd, rb, leases, branch(v.RequestTxn, path[0]), path[1:])
			used += n + 1
			path = path[n+1:]
		}
		if err != nil {
			return 0, err
		}
	}
	return used, nil
}

func checkRangeRev(rb RevBounds, rev int64) error {
	switch {
	case rev == 0:
		return nil
	case rev > rb.Rev():
		return mvcc.ErrFutureRev
	case rev < rb.CompactRev():
		return mvcc.ErrCompacted
	}
	return nil
}

func checkPut(rd Reader, leases Leases, p *pb.PutRequest) error {
	if p.Lease != 0 && !leases.Exists(p.Lease) {
		return ErrLeaseNotFound
	}
	if !p.IgnoreValue && !p.IgnoreLease {
		return nil
	}
	prev, err := rd.Range(context.Background(), p.Key, nil, mvcc.RangeOptions{})
	if err != nil {
		return err
	}
	if len(prev.KVs) == 0 {
		return ErrKeyNotFound
	}
	return nil
}

// NewResponse builds the response skeleton for the taken path: the
// header, one ResponseOp per op, and the nested txns' responses; Execute
// sets the others' results.
func NewResponse(r *pb.TxnRequest, path []bool) *pb.TxnResponse {
	resp, _ := newTxnResponseAt(r, path)
	return resp
}

// txnResponseOne holds in one allocation the pieces of the response of a
// txn of one op, the shape of every put and delete (each applied as a
// txn of one op) and of most txns: one allocation where there were five.
type txnResponseOne struct {
	resp   pb.TxnResponse
	header pb.ResponseHeader
	ptrs   [1]*pb.ResponseOp
	ops    [1]pb.ResponseOp
}

func newTxnResponseAt(r *pb.TxnRequest, path []bool) (*pb.TxnResponse, int) {
	ops := branch(r, path[0])
	var resp *pb.TxnResponse
	var outs []pb.ResponseOp
	if len(ops) == 1 {
		one := &txnResponseOne{}
		one.resp.Header, one.resp.Responses, one.ptrs[0] = &one.header, one.ptrs[:], &one.ops[0]
		resp, outs = &one.resp, one.ops[:]
	} else {
		resp = &pb.TxnResponse{Header: &pb.ResponseHeader{}, Responses: make([]*pb.ResponseOp, len(ops))}
		outs = make([]pb.ResponseOp, len(ops))
		for i := range outs {
			resp.Responses[i] = &outs[i]
		}
	}
	resp.Succeeded = path[0]
	used := 0
	rest := path[1:]
	for i, op := range ops {
		if v, ok := op.GetRequest().(*pb.RequestOp_RequestTxn); ok {
			nested, n := newTxnResponseAt(v.RequestTxn, rest)
			outs[i].Response = &pb.ResponseOp_ResponseTxn{ResponseTxn: nested}
			rest = rest[n+1:]
			used += n + 1
		}
	}
	return resp, used
}

// Execute runs the ops of the taken path in order, filling resp (made by
// NewResponse for the same path). Check must have passed: an error here
// is the storage engine's.
func Execute(ctx context.Context, w Writer, r *pb.TxnRequest, path []bool, resp *pb.TxnResponse) error {
	_, err := execute(ctx, w, r, path, resp)
	return err
}

// execute runs the ops of the taken path in order, filling resp. It
// returns how many nested txns it walked, to advance the path.
func execute(ctx context.Context, tw Writer, r *pb.TxnRequest, path []bool, resp *pb.TxnResponse) (int, error) {
	used := 0
	rest := path[1:]
	for i, op := range branch(r, path[0]) {
		out := resp.Responses[i]
		switch v := op.GetRequest().(type) {
		case *pb.RequestOp_RequestRange:
			rr, err := Range(ctx, tw, v.RequestRange)
			if err != nil {
				return 0, fmt.Errorf("txn range: %w", err)
			}
			out.Response = &pb.ResponseOp_ResponseRange{ResponseRange: rr}
		case *pb.RequestOp_RequestPut:
			pr, err := executePut(ctx, tw, v.RequestPut)
			if err != nil {
				return 0, fmt.Errorf("txn put: %w", err)
			}
			out.Response = &pr.op
		case *pb.RequestOp_RequestDeleteRange:
			dr, err := executeDelete(ctx, tw, v.RequestDeleteRange)
			if err != nil {
				return 0, fmt.Errorf("txn delete: %w", err)
			}
			out.Response = &pb.ResponseOp_ResponseDeleteRange{ResponseDeleteRange: dr}
		case *pb.RequestOp_RequestTxn:
			n, err := execute(ctx, tw, v.RequestTxn, rest, out.GetResponseTxn())
			if err != nil {
				return 0, err
			}
			rest = rest[n+1:]
			used += n + 1
		}
	}
	return used, nil
}

// putResponse holds in one allocation a put's response, its header and
// the ResponseOp's field that carries it.
type putResponse struct {
	resp   pb.PutResponse
	header pb.ResponseHeader
	op     pb.ResponseOp_ResponsePut
}

func executePut(ctx context.Context, tw Writer, p *pb.PutRequest) (*putResponse, error) {
	pr := &putResponse{}
	resp := &pr.resp
	resp.Header, pr.op.ResponsePut = &pr.header, resp
	var prev *mvccpb.KeyValue
	if p.PrevKv || p.IgnoreValue || p.IgnoreLease {
		rr, err := tw.Range(ctx, p.Key, nil, mvcc.RangeOptions{})
		if err != nil {
			return nil, err
		}
		if len(rr.KVs) > 0 {
			prev = rr.KVs[0]
		}
	}
	value, lease := p.Value, p.Lease
	if p.IgnoreValue {
		value = prev.GetValue()
	}
	if p.IgnoreLease {
		lease = prev.GetLease()
	}
	if p.PrevKv {
		resp.PrevKv = prev
	}
	resp.Header.Revision = tw.Put(p.Key, value, lease)
	return pr, nil
}

func executeDelete(ctx context.Context, tw Writer, d *pb.DeleteRangeRequest) (*pb.DeleteRangeResponse, error) {
	resp := &pb.DeleteRangeResponse{Header: &pb.ResponseHeader{}}
	end := RangeEnd(d.RangeEnd)
	if d.PrevKv {
		rr, err := tw.Range(ctx, d.Key, end, mvcc.RangeOptions{})
		if err != nil {
			return nil, err
		}
		resp.PrevKvs = rr.KVs
	}
	resp.Deleted, resp.Header.Revision = tw.DeleteRange(d.Key, end)
	return resp, nil
}
