package etcdapi

import (
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// Request validation, done before anything is proposed: a request that fails
// here changes nothing. Each check returns exactly the rpctypes error etcd
// returns for the same request.

func checkRangeRequest(r *pb.RangeRequest) error {
	if len(r.Key) == 0 {
		return rpctypes.ErrGRPCEmptyKey
	}
	if _, ok := pb.RangeRequest_SortOrder_name[int32(r.SortOrder)]; !ok {
		return rpctypes.ErrGRPCInvalidSortOption
	}
	if _, ok := pb.RangeRequest_SortTarget_name[int32(r.SortTarget)]; !ok {
		return rpctypes.ErrGRPCInvalidSortOption
	}
	return nil
}

func checkPutRequest(r *pb.PutRequest) error {
	if len(r.Key) == 0 {
		return rpctypes.ErrGRPCEmptyKey
	}
	if r.IgnoreValue && len(r.Value) != 0 {
		return rpctypes.ErrGRPCValueProvided
	}
	if r.IgnoreLease && r.Lease != 0 {
		return rpctypes.ErrGRPCLeaseProvided
	}
	return nil
}

func checkDeleteRequest(r *pb.DeleteRangeRequest) error {
	if len(r.Key) == 0 {
		return rpctypes.ErrGRPCEmptyKey
	}
	return nil
}

// checkTxnRequest bounds every branch by maxTxnOps; nested transactions get
// what their parent left of the budget, as etcd does.
func checkTxnRequest(r *pb.TxnRequest, maxTxnOps int) error {
	opc := max(len(r.Compare), len(r.Success), len(r.Failure))
	if opc > maxTxnOps {
		return rpctypes.ErrGRPCTooManyOps
	}
	for _, c := range r.Compare {
		if len(c.Key) == 0 {
			return rpctypes.ErrGRPCEmptyKey
		}
	}
	for _, ops := range [][]*pb.RequestOp{r.Success, r.Failure} {
		for _, op := range ops {
			if err := checkRequestOp(op, maxTxnOps-opc); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkRequestOp(op *pb.RequestOp, maxTxnOps int) error {
	switch v := op.GetRequest().(type) {
	case *pb.RequestOp_RequestRange:
		return checkRangeRequest(v.RequestRange)
	case *pb.RequestOp_RequestPut:
		return checkPutRequest(v.RequestPut)
	case *pb.RequestOp_RequestDeleteRange:
		return checkDeleteRequest(v.RequestDeleteRange)
	case *pb.RequestOp_RequestTxn:
		return checkTxnRequest(v.RequestTxn, maxTxnOps)
	default:
		// An empty op: etcd answers key not found.
		return rpctypes.ErrGRPCKeyNotFound
	}
}

// checkTxnConflicts rejects a txn that writes one key twice in one branch
// (counting nested txns), or puts a key that one of its deletes covers.
func checkTxnConflicts(r *pb.TxnRequest) error {
	for _, ops := range [][]*pb.RequestOp{r.Success, r.Failure} {
		if !mayConflict(ops) {
			continue
		}
		if _, _, err := checkIntervals(ops); err != nil {
			return err
		}
	}
	return nil
}

// mayConflict reports whether ops hold a nested txn or more than one write:
// one put or delete alone conflicts with nothing, and most txns (a compare
// and one put) need no sets of keys built to show it.
func mayConflict(ops []*pb.RequestOp) bool {
	writes := 0
	for _, op := range ops {
		switch op.GetRequest().(type) {
		case *pb.RequestOp_RequestTxn:
			return true
		case *pb.RequestOp_RequestPut, *pb.RequestOp_RequestDeleteRange:
			writes++
		}
	}
	return writes > 1
}

// keyInterval is [start, end) compared bytewise; an empty end is the single
// key start. As in etcd, a from-key end ("\x00") covers nothing here.
type keyInterval struct{ start, end string }

func (iv keyInterval) contains(k string) bool {
	if iv.end == "" {
		return k == iv.start
	}
	return iv.start <= k && k < iv.end
}

type intervalSet []keyInterval

func (s intervalSet) contains(k string) bool {
	for _, iv := range s {
		if iv.contains(k) {
			return true
		}
	}
	return false
}

// checkIntervals returns the keys put and the ranges deleted by ops and their
// nested txns. Deletes of this level are collected first so that puts below
// are checked against them; a key put in both branches of one nested txn is
// fine, since only one branch runs.
func checkIntervals(ops []*pb.RequestOp) (map[string]struct{}, intervalSet, error) {
	var dels intervalSet
	for _, op := range ops {
		if d := op.GetRequestDeleteRange(); d != nil {
			dels = append(dels, keyInterval{string(d.Key), string(d.RangeEnd)})
		}
	}
	puts := make(map[string]struct{})
	for _, op := range ops {
		t := op.GetRequestTxn()
		if t == nil {
			continue
		}
		putsThen, delsThen, err := checkIntervals(t.Success)
		if err != nil {
			return nil, dels, err
		}
		putsElse, delsElse, err := checkIntervals(t.Failure)
		if err != nil {
			return nil, dels, err
		}
		for k := range putsThen {
			if _, dup := puts[k]; dup || dels.contains(k) {
				return nil, dels, rpctypes.ErrGRPCDuplicateKey
			}
			puts[k] = struct{}{}
		}
		for k := range putsElse {
			if _, dup := puts[k]; dup {
				if _, inThen := putsThen[k]; !inThen {
					return nil, dels, rpctypes.ErrGRPCDuplicateKey
				}
			}
			if dels.contains(k) {
				return nil, dels, rpctypes.ErrGRPCDuplicateKey
			}
			puts[k] = struct{}{}
		}
		dels = append(dels, delsThen...)
		dels = append(dels, delsElse...)
	}
	for _, op := range ops {
		p := op.GetRequestPut()
		if p == nil {
			continue
		}
		k := string(p.Key)
		if _, dup := puts[k]; dup || dels.contains(k) {
			return nil, dels, rpctypes.ErrGRPCDuplicateKey
		}
		puts[k] = struct{}{}
	}
	return puts, dels, nil
}
