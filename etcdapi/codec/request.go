package codec

import (
	"unicode/utf8"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// The writes a member proposes (puts, deletes and txns, each in an
// InternalRaftRequest with its header) are written to the raft log and
// read back at apply without protobuf's reflection, as are txns and
// deletes from clients. The bytes written are those protobuf writes;
// anything the fast path does not know goes through protobuf.

// MarshalRaftRequest returns r's protobuf encoding.
func MarshalRaftRequest(r *pb.InternalRaftRequest) ([]byte, error) {
	n, ok := sizeRaftRequest(r)
	if !ok {
		return proto.Marshal(r)
	}
	return appendRaftRequest(make([]byte, 0, n), r), nil
}

// UnmarshalRaftRequest reads b into r, which must be empty.
func UnmarshalRaftRequest(b []byte, r *pb.InternalRaftRequest) error {
	if unmarshalRaftRequest(b, r) {
		return nil
	}
	return proto.Unmarshal(b, r)
}

// onlyKVWrite reports whether r carries nothing but its ID, header and
// one put, delete or txn: the requests of the fast path.
// TestRaftRequestFastPathKnowsEveryField sets each other field in turn,
// so a field added to etcd's proto is noticed.
func onlyKVWrite(r *pb.InternalRaftRequest) bool {
	writes := 0
	for _, set := range []bool{r.Put != nil, r.DeleteRange != nil, r.Txn != nil} {
		if set {
			writes++
		}
	}
	return writes == 1 && r.Range == nil && r.Compaction == nil && r.LeaseGrant == nil && r.LeaseRevoke == nil &&
		r.Alarm == nil && r.LeaseCheckpoint == nil && r.AuthEnable == nil && r.AuthDisable == nil &&
		r.AuthStatus == nil && r.Authenticate == nil && r.AuthUserAdd == nil && r.AuthUserDelete == nil &&
		r.AuthUserGet == nil && r.AuthUserChangePassword == nil && r.AuthUserGrantRole == nil &&
		r.AuthUserRevokeRole == nil && r.AuthUserList == nil && r.AuthRoleList == nil && r.AuthRoleAdd == nil &&
		r.AuthRoleDelete == nil && r.AuthRoleGet == nil && r.AuthRoleGrantPermission == nil &&
		r.AuthRoleRevokePermission == nil && r.ClusterVersionSet == nil && r.ClusterMemberAttrSet == nil &&
		r.DowngradeInfoSet == nil && r.DowngradeVersionTest == nil
}

// Field numbers of InternalRaftRequest the fast path writes and reads.
const (
	raftID          = 1
	raftPut         = 4
	raftDeleteRange = 5
	raftTxn         = 6
	raftHeader      = 100
	// compareRangeEnd is Compare's range_end.
	compareRangeEnd = 64
)

// sizeRaftRequest sizes r, whose parts a client's request may have
// brought with unknown fields, so it looks for them in every part.
func sizeRaftRequest(r *pb.InternalRaftRequest) (int, bool) {
	if !onlyKVWrite(r) || hasUnknown(r) {
		return 0, false
	}
	put, ok1 := sizeField(raftPut, r.Put, true, sizePutRequest)
	del, ok2 := sizeField(raftDeleteRange, r.DeleteRange, true, sizeDeleteRequest)
	txn, ok3 := sizeField(raftTxn, r.Txn, true, sizeTxnRequest)
	hdr := 0
	ok4 := true
	if r.Header != nil {
		var n int
		n, ok4 = sizeRequestHeader(r.Header, true)
		hdr = protowire.SizeTag(raftHeader) + protowire.SizeBytes(n)
	}
	return sizeVarint(raftID, r.ID) + put + del + txn + hdr, ok1 && ok2 && ok3 && ok4
}

func appendRaftRequest(b []byte, r *pb.InternalRaftRequest) []byte {
	b = appendVarint(b, raftID, r.ID)
	b = appendField(b, raftPut, r.Put, sizePutRequest, appendPutRequest)
	b = appendField(b, raftDeleteRange, r.DeleteRange, sizeDeleteRequest, appendDeleteRequest)
	b = appendField(b, raftTxn, r.Txn, sizeTxnRequest, appendTxnRequest)
	if r.Header != nil {
		n, _ := sizeRequestHeader(r.Header, false)
		b = protowire.AppendTag(b, raftHeader, protowire.BytesType)
		b = appendRequestHeader(varint(b, uint64(n)), r.Header)
	}
	return b
}

func sizeRequestHeader(h *pb.RequestHeader, check bool) (int, bool) {
	if check && hasUnknown(h) {
		return 0, false
	}
	return sizeVarint(1, h.ID) + sizeBytes(2, len(h.Username)) + sizeVarint(3, h.AuthRevision), true
}

func appendRequestHeader(b []byte, h *pb.RequestHeader) []byte {
	b = appendVarint(b, 1, h.ID)
	b = appendString(b, 2, h.Username)
	return appendVarint(b, 3, h.AuthRevision)
}

func sizePutRequest(m *pb.PutRequest, check bool) (int, bool) {
	if check && hasUnknown(m) {
		return 0, false
	}
	return sizeBytes(1, len(m.Key)) + sizeBytes(2, len(m.Value)) + sizeVarint(3, uint64(m.Lease)) +
		sizeVarint(4, boolValue(m.PrevKv)) + sizeVarint(5, boolValue(m.IgnoreValue)) +
		sizeVarint(6, boolValue(m.IgnoreLease)), true
}

func appendPutRequest(b []byte, m *pb.PutRequest) []byte {
	b = appendBytes(b, 1, m.Key)
	b = appendBytes(b, 2, m.Value)
	b = appendVarint(b, 3, uint64(m.Lease))
	b = appendVarint(b, 4, boolValue(m.PrevKv))
	b = appendVarint(b, 5, boolValue(m.IgnoreValue))
	return appendVarint(b, 6, boolValue(m.IgnoreLease))
}

func sizeRangeRequest(m *pb.RangeRequest, check bool) (int, bool) {
	if check && hasUnknown(m) {
		return 0, false
	}
	return sizeBytes(1, len(m.Key)) + sizeBytes(2, len(m.RangeEnd)) + sizeVarint(3, uint64(m.Limit)) +
		sizeVarint(4, uint64(m.Revision)) + sizeVarint(5, uint64(int64(m.SortOrder))) +
		sizeVarint(6, uint64(int64(m.SortTarget))) + sizeVarint(7, boolValue(m.Serializable)) +
		sizeVarint(8, boolValue(m.KeysOnly)) + sizeVarint(9, boolValue(m.CountOnly)) +
		sizeVarint(10, uint64(m.MinModRevision)) + sizeVarint(11, uint64(m.MaxModRevision)) +
		sizeVarint(12, uint64(m.MinCreateRevision)) + sizeVarint(13, uint64(m.MaxCreateRevision)), true
}

func appendRangeRequest(b []byte, m *pb.RangeRequest) []byte {
	b = appendBytes(b, 1, m.Key)
	b = appendBytes(b, 2, m.RangeEnd)
	b = appendVarint(b, 3, uint64(m.Limit))
	b = appendVarint(b, 4, uint64(m.Revision))
	b = appendVarint(b, 5, uint64(int64(m.SortOrder)))
	b = appendVarint(b, 6, uint64(int64(m.SortTarget)))
	b = appendVarint(b, 7, boolValue(m.Serializable))
	b = appendVarint(b, 8, boolValue(m.KeysOnly))
	b = appendVarint(b, 9, boolValue(m.CountOnly))
	b = appendVarint(b, 10, uint64(m.MinModRevision))
	b = appendVarint(b, 11, uint64(m.MaxModRevision))
	b = appendVarint(b, 12, uint64(m.MinCreateRevision))
	return appendVarint(b, 13, uint64(m.MaxCreateRevision))
}

func sizeDeleteRequest(m *pb.DeleteRangeRequest, check bool) (int, bool) {
	if check && hasUnknown(m) {
		return 0, false
	}
	return sizeBytes(1, len(m.Key)) + sizeBytes(2, len(m.RangeEnd)) + sizeVarint(3, boolValue(m.PrevKv)), true
}

func appendDeleteRequest(b []byte, m *pb.DeleteRangeRequest) []byte {
	b = appendBytes(b, 1, m.Key)
	b = appendBytes(b, 2, m.RangeEnd)
	return appendVarint(b, 3, boolValue(m.PrevKv))
}

func sizeTxnRequest(m *pb.TxnRequest, check bool) (int, bool) {
	if check && hasUnknown(m) {
		return 0, false
	}
	cmps, ok1 := sizeRepeated(1, m.Compare, check, sizeCompare)
	succ, ok2 := sizeRepeated(2, m.Success, check, sizeRequestOp)
	fail, ok3 := sizeRepeated(3, m.Failure, check, sizeRequestOp)
	return cmps + succ + fail, ok1 && ok2 && ok3
}

func appendTxnRequest(b []byte, m *pb.TxnRequest) []byte {
	b = appendRepeated(b, 1, m.Compare, sizeCompare, appendCompare)
	b = appendRepeated(b, 2, m.Success, sizeRequestOp, appendRequestOp)
	return appendRepeated(b, 3, m.Failure, sizeRequestOp, appendRequestOp)
}

// sizeCompare sizes a Compare; its target, a oneof, is written whenever
// set, zero or not, and, as protobuf writes it, after range_end (64)
// though numbered 4 to 8.
func sizeCompare(c *pb.Compare, check bool) (int, bool) {
	if check && hasUnknown(c) {
		return 0, false
	}
	n := sizeVarint(1, uint64(int64(c.Result))) + sizeVarint(2, uint64(int64(c.Target))) + sizeBytes(3, len(c.Key))
	switch t := c.TargetUnion.(type) {
	case nil:
	case *pb.Compare_Version:
		n += 1 + protowire.SizeVarint(uint64(t.Version))
	case *pb.Compare_CreateRevision:
		n += 1 + protowire.SizeVarint(uint64(t.CreateRevision))
	case *pb.Compare_ModRevision:
		n += 1 + protowire.SizeVarint(uint64(t.ModRevision))
	case *pb.Compare_Value:
		n += 1 + protowire.SizeBytes(len(t.Value))
	case *pb.Compare_Lease:
		n += 1 + protowire.SizeVarint(uint64(t.Lease))
	default:
		return 0, false
	}
	if len(c.RangeEnd) > 0 {
		n += protowire.SizeTag(compareRangeEnd) + protowire.SizeBytes(len(c.RangeEnd))
	}
	return n, true
}

func appendCompare(b []byte, c *pb.Compare) []byte {
	b = appendVarint(b, 1, uint64(int64(c.Result)))
	b = appendVarint(b, 2, uint64(int64(c.Target)))
	b = appendBytes(b, 3, c.Key)
	if len(c.RangeEnd) > 0 {
		b = protowire.AppendTag(b, compareRangeEnd, protowire.BytesType)
		b = append(varint(b, uint64(len(c.RangeEnd))), c.RangeEnd...)
	}
	switch t := c.TargetUnion.(type) {
	case *pb.Compare_Version:
		b = varint(append(b, tag(4, protowire.VarintType)), uint64(t.Version))
	case *pb.Compare_CreateRevision:
		b = varint(append(b, tag(5, protowire.VarintType)), uint64(t.CreateRevision))
	case *pb.Compare_ModRevision:
		b = varint(append(b, tag(6, protowire.VarintType)), uint64(t.ModRevision))
	case *pb.Compare_Value:
		b = append(varint(append(b, tag(7, protowire.BytesType)), uint64(len(t.Value))), t.Value...)
	case *pb.Compare_Lease:
		b = varint(append(b, tag(8, protowire.VarintType)), uint64(t.Lease))
	}
	return b
}

func sizeRequestOp(op *pb.RequestOp, check bool) (int, bool) {
	if check && hasUnknown(op) {
		return 0, false
	}
	switch r := op.Request.(type) {
	case nil:
		return 0, true
	case *pb.RequestOp_RequestRange:
		return sizeOneof(1, r.RequestRange, check, sizeRangeRequest)
	case *pb.RequestOp_RequestPut:
		return sizeOneof(2, r.RequestPut, check, sizePutRequest)
	case *pb.RequestOp_RequestDeleteRange:
		return sizeOneof(3, r.RequestDeleteRange, check, sizeDeleteRequest)
	case *pb.RequestOp_RequestTxn:
		return sizeOneof(4, r.RequestTxn, check, sizeTxnRequest)
	}
	return 0, false
}

func appendRequestOp(b []byte, op *pb.RequestOp) []byte {
	switch r := op.Request.(type) {
	case *pb.RequestOp_RequestRange:
		return appendField(b, 1, r.RequestRange, sizeRangeRequest, appendRangeRequest)
	case *pb.RequestOp_RequestPut:
		return appendField(b, 2, r.RequestPut, sizePutRequest, appendPutRequest)
	case *pb.RequestOp_RequestDeleteRange:
		return appendField(b, 3, r.RequestDeleteRange, sizeDeleteRequest, appendDeleteRequest)
	case *pb.RequestOp_RequestTxn:
		return appendField(b, 4, r.RequestTxn, sizeTxnRequest, appendTxnRequest)
	}
	return b
}

// Reading. Each reader returns false, leaving its message untouched
// except for fields of messages it allocated, on anything it does not
// know, including a singular message field given twice (which protobuf
// merges).

// RaftRequestID returns the proposal id in the header of the
// InternalRaftRequest encoded in b without decoding the rest, as protobuf
// would read it (the last one given wins); false if there is none or b
// is not one the fast path reads.
func RaftRequestID(b []byte) (uint64, bool) {
	var id uint64
	read := true
	for f := range fields(b, &read) {
		if !f.is(raftHeader, protowire.BytesType) {
			continue
		}
		for h := range fields(f.bytes, &read) {
			if h.is(1, protowire.VarintType) {
				id = h.value
			}
		}
	}
	return id, read && id != 0
}

// unmarshalRaftRequest reads an InternalRaftRequest of the fast path.
func unmarshalRaftRequest(b []byte, r *pb.InternalRaftRequest) bool {
	var (
		id         uint64
		hdr        *pb.RequestHeader
		put        *pb.PutRequest
		del        *pb.DeleteRangeRequest
		txn        *pb.TxnRequest
		fieldsRead = true
	)
	for f := range fields(b, &fieldsRead) {
		switch {
		case f.is(raftID, protowire.VarintType):
			id = f.value
			continue
		case f.typ != protowire.BytesType:
			return false
		case f.num == raftHeader && hdr == nil:
			hdr = &pb.RequestHeader{}
			if !unmarshalRequestHeader(f.bytes, hdr) {
				return false
			}
		case f.num == raftPut && put == nil:
			put = &pb.PutRequest{}
			if !unmarshalPut(f.bytes, put) {
				return false
			}
		case f.num == raftDeleteRange && del == nil:
			del = &pb.DeleteRangeRequest{}
			if !unmarshalDelete(f.bytes, del) {
				return false
			}
		case f.num == raftTxn && txn == nil:
			txn = &pb.TxnRequest{}
			if !unmarshalTxn(f.bytes, txn) {
				return false
			}
		default:
			return false
		}
	}
	if !fieldsRead {
		return false
	}
	r.ID, r.Header, r.Put, r.DeleteRange, r.Txn = id, hdr, put, del, txn
	return true
}

func unmarshalRequestHeader(b []byte, h *pb.RequestHeader) bool {
	var (
		id, authRev uint64
		user        []byte
	)
	read := true
	for f := range fields(b, &read) {
		switch {
		case f.is(1, protowire.VarintType):
			id = f.value
		case f.is(2, protowire.BytesType):
			user = f.bytes
		case f.is(3, protowire.VarintType):
			authRev = f.value
		default:
			return false
		}
	}
	if !read || !utf8.Valid(user) {
		return false
	}
	h.ID, h.Username, h.AuthRevision = id, string(user), authRev
	return true
}

// unmarshalDelete reads a DeleteRangeRequest.
func unmarshalDelete(b []byte, m *pb.DeleteRangeRequest) bool {
	var (
		key, end []byte
		prevKv   bool
	)
	read := true
	for f := range fields(b, &read) {
		switch {
		case f.is(1, protowire.BytesType):
			key = f.bytes
		case f.is(2, protowire.BytesType):
			end = f.bytes
		case f.is(3, protowire.VarintType):
			prevKv = f.value != 0
		default:
			return false
		}
	}
	if !read {
		return false
	}
	owned(&key, &end)
	m.Key, m.RangeEnd, m.PrevKv = key, end, prevKv
	return true
}

// unmarshalTxn reads a TxnRequest, its comparisons and operations.
func unmarshalTxn(b []byte, m *pb.TxnRequest) bool {
	var (
		cmps          []*pb.Compare
		success, fail []*pb.RequestOp
	)
	read := true
	for f := range fields(b, &read) {
		if f.typ != protowire.BytesType {
			return false
		}
		switch f.num {
		case 1:
			c := &pb.Compare{}
			if !unmarshalCompare(f.bytes, c) {
				return false
			}
			cmps = append(cmps, c)
		case 2, 3:
			op := &pb.RequestOp{}
			if !unmarshalRequestOp(f.bytes, op) {
				return false
			}
			if f.num == 2 {
				success = append(success, op)
			} else {
				fail = append(fail, op)
			}
		default:
			return false
		}
	}
	if !read {
		return false
	}
	m.Compare, m.Success, m.Failure = cmps, success, fail
	return true
}

func unmarshalCompare(b []byte, c *pb.Compare) bool {
	var (
		result   pb.Compare_CompareResult
		target   pb.Compare_CompareTarget
		key, end []byte
		// union is the field number of the target set last (4 to 8, 0
		// for none), with its value in number or value.
		union  protowire.Number
		number int64
		value  []byte
	)
	for len(b) > 0 {
		f, rest, ok := nextField(b)
		if !ok {
			return false
		}
		b = rest
		switch {
		case f.is(1, protowire.VarintType):
			result = pb.Compare_CompareResult(int32(f.value))
		case f.is(2, protowire.VarintType):
			target = pb.Compare_CompareTarget(int32(f.value))
		case f.is(3, protowire.BytesType):
			key = f.bytes
		case f.is(7, protowire.BytesType):
			union, value = 7, f.bytes
		case f.num >= 4 && f.num <= 8 && f.typ == protowire.VarintType:
			union, number = f.num, int64(f.value)
		case f.is(compareRangeEnd, protowire.BytesType):
			end = f.bytes
		default:
			return false
		}
	}
	owned(&key, &end)
	c.Result, c.Target, c.Key, c.RangeEnd = result, target, key, end
	switch union {
	case 4:
		c.TargetUnion = &pb.Compare_Version{Version: number}
	case 5:
		c.TargetUnion = &pb.Compare_CreateRevision{CreateRevision: number}
	case 6:
		c.TargetUnion = &pb.Compare_ModRevision{ModRevision: number}
	case 7:
		// Set, the value is kept even when empty, as protobuf does.
		c.TargetUnion = &pb.Compare_Value{Value: append([]byte{}, value...)}
	case 8:
		c.TargetUnion = &pb.Compare_Lease{Lease: number}
	}
	return true
}

// unmarshalRequestOp reads a RequestOp: its one request, a txn's read
// recursively. op is fresh, and dropped by the caller on false.
func unmarshalRequestOp(b []byte, op *pb.RequestOp) bool {
	read := true
	for f := range fields(b, &read) {
		if f.typ != protowire.BytesType || op.Request != nil {
			return false // protobuf would merge a request given twice
		}
		switch f.num {
		case 1:
			m := &pb.RangeRequest{}
			op.Request = &pb.RequestOp_RequestRange{RequestRange: m}
			read = unmarshalRange(f.bytes, m)
		case 2:
			m := &pb.PutRequest{}
			op.Request = &pb.RequestOp_RequestPut{RequestPut: m}
			read = unmarshalPut(f.bytes, m)
		case 3:
			m := &pb.DeleteRangeRequest{}
			op.Request = &pb.RequestOp_RequestDeleteRange{RequestDeleteRange: m}
			read = unmarshalDelete(f.bytes, m)
		case 4:
			m := &pb.TxnRequest{}
			op.Request = &pb.RequestOp_RequestTxn{RequestTxn: m}
			read = unmarshalTxn(f.bytes, m)
		default:
			return false
		}
		if !read {
			return false
		}
	}
	return read
}
