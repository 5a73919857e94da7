package etcdapi

import (
	"testing"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/protobuf/proto"
)

func opPut(k string) *pb.RequestOp {
	return &pb.RequestOp{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: []byte(k)}}}
}

func opDel(k, end string) *pb.RequestOp {
	return &pb.RequestOp{Request: &pb.RequestOp_RequestDeleteRange{RequestDeleteRange: &pb.DeleteRangeRequest{Key: []byte(k), RangeEnd: []byte(end)}}}
}

func opTxn(then, els []*pb.RequestOp) *pb.RequestOp {
	return &pb.RequestOp{Request: &pb.RequestOp_RequestTxn{RequestTxn: &pb.TxnRequest{Success: then, Failure: els}}}
}

func TestCheckTxnConflicts(t *testing.T) {
	tests := []struct {
		name string
		ops  []*pb.RequestOp
		dup  bool
	}{
		{"distinct puts", []*pb.RequestOp{opPut("a"), opPut("b")}, false},
		{"same key twice", []*pb.RequestOp{opPut("a"), opPut("a")}, true},
		{"put inside deleted range", []*pb.RequestOp{opDel("a", "c"), opPut("b")}, true},
		{"put at deleted key", []*pb.RequestOp{opDel("a", ""), opPut("a")}, true},
		{"put at range end is outside", []*pb.RequestOp{opDel("a", "c"), opPut("c")}, false},
		{"from-key delete covers nothing, as etcd", []*pb.RequestOp{opDel("a", "\x00"), opPut("b")}, false},
		{"nested put vs outer put", []*pb.RequestOp{opPut("a"), opTxn([]*pb.RequestOp{opPut("a")}, nil)}, true},
		{"nested then and else may share", []*pb.RequestOp{opTxn([]*pb.RequestOp{opPut("a")}, []*pb.RequestOp{opPut("a")})}, false},
		{"two nested txns same key", []*pb.RequestOp{opTxn([]*pb.RequestOp{opPut("a")}, nil), opTxn(nil, []*pb.RequestOp{opPut("a")})}, true},
		{"nested delete vs outer put", []*pb.RequestOp{opTxn([]*pb.RequestOp{opDel("a", "z")}, nil), opPut("m")}, true},
		{"outer delete vs nested put", []*pb.RequestOp{opDel("a", "z"), opTxn([]*pb.RequestOp{opPut("m")}, nil)}, true},
		{"two deletes overlap", []*pb.RequestOp{opDel("a", "z"), opDel("b", "c")}, false},
		{"one put alone", []*pb.RequestOp{opPut("a")}, false},
		{"one put beside a read of it", []*pb.RequestOp{{Request: &pb.RequestOp_RequestRange{RequestRange: &pb.RangeRequest{Key: []byte("a")}}}, opPut("a")}, false},
		{"a put and a delete of it", []*pb.RequestOp{opPut("a"), opDel("a", "")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkTxnConflicts(&pb.TxnRequest{Success: tt.ops})
			if tt.dup {
				require.ErrorIs(t, err, rpctypes.ErrGRPCDuplicateKey)
			} else {
				require.NoError(t, err)
			}
		})
	}
}

func TestCheckTxnRequest(t *testing.T) {
	many := func(n int) []*pb.RequestOp {
		ops := make([]*pb.RequestOp, n)
		for i := range ops {
			ops[i] = opPut("k")
		}
		return ops
	}
	tests := []struct {
		name string
		req  *pb.TxnRequest
		want error
	}{
		{"ok", &pb.TxnRequest{Success: many(3)}, nil},
		{"at limit", &pb.TxnRequest{Success: many(4)}, nil},
		{"over limit", &pb.TxnRequest{Success: many(5)}, rpctypes.ErrGRPCTooManyOps},
		{"compares over limit", &pb.TxnRequest{Compare: make([]*pb.Compare, 5)}, rpctypes.ErrGRPCTooManyOps},
		{"nested over what is left", &pb.TxnRequest{Success: []*pb.RequestOp{opTxn(many(4), nil)}}, rpctypes.ErrGRPCTooManyOps},
		{"empty compare key", &pb.TxnRequest{Compare: []*pb.Compare{{}}}, rpctypes.ErrGRPCEmptyKey},
		{"empty op", &pb.TxnRequest{Failure: []*pb.RequestOp{{}}}, rpctypes.ErrGRPCKeyNotFound},
		{"empty put key", &pb.TxnRequest{Success: []*pb.RequestOp{opPut("")}}, rpctypes.ErrGRPCEmptyKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkTxnRequest(tt.req, 4)
			if tt.want == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tt.want)
			}
		})
	}
}

// FuzzValidateTxn feeds arbitrary bytes, decoded as a TxnRequest, through
// validation: it must never panic, and a request it accepts must have only
// non-empty keys.
func FuzzValidateTxn(f *testing.F) {
	seed, _ := proto.Marshal(&pb.TxnRequest{
		Compare: []*pb.Compare{{Key: []byte("a"), Target: pb.Compare_VALUE}},
		Success: []*pb.RequestOp{opPut("a"), opDel("b", "c"), opTxn([]*pb.RequestOp{opPut("d")}, []*pb.RequestOp{opPut("d")})},
	})
	f.Add(seed)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var r pb.TxnRequest
		if proto.Unmarshal(data, &r) != nil {
			return
		}
		if checkTxnRequest(&r, 128) != nil {
			return
		}
		_ = checkTxnConflicts(&r)
		for _, ops := range [][]*pb.RequestOp{r.Success, r.Failure} {
			for _, op := range ops {
				if p := op.GetRequestPut(); p != nil && len(p.Key) == 0 {
					t.Fatalf("accepted a put with an empty key")
				}
			}
		}
	})
}
