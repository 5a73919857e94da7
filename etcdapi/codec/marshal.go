package codec

import (
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// fast is one message of the fast path: size measures it as protobuf
// would write it (ok is false when the fast path cannot write it exactly
// so), and appendTo writes it.
//
// Only a message decoded from bytes can hold fields unknown to its type,
// which the fast path cannot write, and asking a message for them goes
// through protobuf's reflection: on a reply of a thousand KVs that was an
// eighth of the member's CPU. So size looks for them only when check is
// set, and the writers, after size, never.
type fast struct {
	v     any
	check bool
}

// fastMessageOf returns the fast path of v, if it has one.
func fastMessageOf(v any) (fast, bool) {
	switch v.(type) {
	case *pb.RangeResponse, *pb.WatchResponse, *pb.PutResponse, *pb.DeleteRangeResponse, *pb.TxnResponse,
		*pb.LeaseKeepAliveResponse:
		return fast{v: v, check: true}, true
	}
	return fast{}, false
}

func (f fast) size() (int, bool) {
	switch m := f.v.(type) {
	case *pb.RangeResponse:
		return sizeRange(m, f.check)
	case *pb.WatchResponse:
		return sizeWatch(m, f.check)
	case *pb.PutResponse:
		return sizePut(m, f.check)
	case *pb.DeleteRangeResponse:
		return sizeDelete(m, f.check)
	case *pb.TxnResponse:
		return sizeTxn(m, f.check)
	case *pb.LeaseKeepAliveResponse:
		return sizeKeepAlive(m, f.check)
	}
	return 0, false
}

func (f fast) appendTo(b []byte) []byte {
	switch m := f.v.(type) {
	case *pb.RangeResponse:
		return appendRange(b, m)
	case *pb.WatchResponse:
		return appendWatch(b, m)
	case *pb.PutResponse:
		return appendPut(b, m)
	case *pb.DeleteRangeResponse:
		return appendDelete(b, m)
	case *pb.TxnResponse:
		return appendTxn(b, m)
	case *pb.LeaseKeepAliveResponse:
		return appendKeepAlive(b, m)
	}
	return b
}

// Field writers of proto3 without presence: a zero value is not written.

func hasUnknown(m protoreflect.ProtoMessage) bool { return len(m.ProtoReflect().GetUnknown()) > 0 }

func sizeVarint(num protowire.Number, v uint64) int {
	if v == 0 {
		return 0
	}
	return 1 + protowire.SizeVarint(v)
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	return varint(append(b, tag(num, protowire.VarintType)), v)
}

// tag is the one-byte tag of field num: every field the fast path writes
// is numbered below 16.
func tag(num protowire.Number, typ protowire.Type) byte { return byte(num)<<3 | byte(typ) }

// varint appends v in base 128, low group first; protowire.AppendVarint
// does the same but is not inlined.
func varint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func boolValue(v bool) uint64 {
	if v {
		return 1
	}
	return 0
}

func sizeBytes(num protowire.Number, n int) int {
	if n == 0 {
		return 0
	}
	return 1 + protowire.SizeBytes(n)
}

func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	return append(varint(append(b, tag(num, protowire.BytesType)), uint64(len(v))), v...)
}

func appendString(b []byte, num protowire.Number, v string) []byte {
	if len(v) == 0 {
		return b
	}
	return append(varint(append(b, tag(num, protowire.BytesType)), uint64(len(v))), v...)
}

// sizeMessage is the size of a present message field whose body is n
// bytes.
func sizeMessage(num protowire.Number, n int) int {
	return 1 + protowire.SizeBytes(n)
}

func appendMessageHeader(b []byte, num protowire.Number, n int) []byte {
	return varint(append(b, tag(num, protowire.BytesType)), uint64(n))
}

// sizeField sizes message field num holding m, absent when m is nil;
// size measures m's body.
func sizeField[T any](num protowire.Number, m *T, check bool, size func(*T, bool) (int, bool)) (int, bool) {
	if m == nil {
		return 0, true
	}
	n, ok := size(m, check)
	return sizeMessage(num, n), ok
}

// appendField writes message field num holding m. The size pass has
// checked m, so its length is measured without looking again.
func appendField[T any](b []byte, num protowire.Number, m *T, size func(*T, bool) (int, bool), write func([]byte, *T) []byte) []byte {
	if m == nil {
		return b
	}
	n, _ := size(m, false)
	return write(appendMessageHeader(b, num, n), m)
}

// sizeRepeated sizes repeated message field num; a nil element is not for
// the fast path.
func sizeRepeated[T any](num protowire.Number, ms []*T, check bool, size func(*T, bool) (int, bool)) (int, bool) {
	total := 0
	for _, m := range ms {
		if m == nil {
			return 0, false
		}
		n, ok := size(m, check)
		if !ok {
			return 0, false
		}
		total += sizeMessage(num, n)
	}
	return total, true
}

func appendRepeated[T any](b []byte, num protowire.Number, ms []*T, size func(*T, bool) (int, bool), write func([]byte, *T) []byte) []byte {
	for _, m := range ms {
		n, _ := size(m, false)
		b = write(appendMessageHeader(b, num, n), m)
	}
	return b
}

// ResponseHeader.

func sizeHeader(h *pb.ResponseHeader, check bool) (int, bool) {
	if check && hasUnknown(h) {
		return 0, false
	}
	return sizeVarint(1, h.ClusterId) + sizeVarint(2, h.MemberId) + sizeVarint(3, uint64(h.Revision)) +
		sizeVarint(4, h.RaftTerm), true
}

func appendHeader(b []byte, h *pb.ResponseHeader) []byte {
	b = appendVarint(b, 1, h.ClusterId)
	b = appendVarint(b, 2, h.MemberId)
	b = appendVarint(b, 3, uint64(h.Revision))
	return appendVarint(b, 4, h.RaftTerm)
}

// mvccpb.KeyValue.

func sizeKV(kv *mvccpb.KeyValue, check bool) (int, bool) {
	if check && hasUnknown(kv) {
		return 0, false
	}
	return sizeBytes(1, len(kv.Key)) + sizeVarint(2, uint64(kv.CreateRevision)) + sizeVarint(3, uint64(kv.ModRevision)) +
		sizeVarint(4, uint64(kv.Version)) + sizeBytes(5, len(kv.Value)) + sizeVarint(6, uint64(kv.Lease)), true
}

func appendKV(b []byte, kv *mvccpb.KeyValue) []byte {
	b = appendBytes(b, 1, kv.Key)
	b = appendVarint(b, 2, uint64(kv.CreateRevision))
	b = appendVarint(b, 3, uint64(kv.ModRevision))
	b = appendVarint(b, 4, uint64(kv.Version))
	b = appendBytes(b, 5, kv.Value)
	return appendVarint(b, 6, uint64(kv.Lease))
}

// RangeResponse.

func sizeRange(m *pb.RangeResponse, check bool) (int, bool) {
	if check && hasUnknown(m) {
		return 0, false
	}
	h, ok1 := sizeField(1, m.Header, check, sizeHeader)
	kvs, ok2 := sizeRepeated(2, m.Kvs, check, sizeKV)
	return h + kvs + sizeVarint(3, boolValue(m.More)) + sizeVarint(4, uint64(m.Count)), ok1 && ok2
}

func appendRange(b []byte, m *pb.RangeResponse) []byte {
	b = appendField(b, 1, m.Header, sizeHeader, appendHeader)
	b = appendRepeated(b, 2, m.Kvs, sizeKV, appendKV)
	b = appendVarint(b, 3, boolValue(m.More))
	return appendVarint(b, 4, uint64(m.Count))
}

// PutResponse.

func sizePut(m *pb.PutResponse, check bool) (int, bool) {
	if check && hasUnknown(m) {
		return 0, false
	}
	h, ok1 := sizeField(1, m.Header, check, sizeHeader)
	prev, ok2 := sizeField(2, m.PrevKv, check, sizeKV)
	return h + prev, ok1 && ok2
}

func appendPut(b []byte, m *pb.PutResponse) []byte {
	b = appendField(b, 1, m.Header, sizeHeader, appendHeader)
	return appendField(b, 2, m.PrevKv, sizeKV, appendKV)
}

// DeleteRangeResponse.

func sizeDelete(m *pb.DeleteRangeResponse, check bool) (int, bool) {
	if check && hasUnknown(m) {
		return 0, false
	}
	h, ok1 := sizeField(1, m.Header, check, sizeHeader)
	prev, ok2 := sizeRepeated(3, m.PrevKvs, check, sizeKV)
	return h + sizeVarint(2, uint64(m.Deleted)) + prev, ok1 && ok2
}

func appendDelete(b []byte, m *pb.DeleteRangeResponse) []byte {
	b = appendField(b, 1, m.Header, sizeHeader, appendHeader)
	b = appendVarint(b, 2, uint64(m.Deleted))
	return appendRepeated(b, 3, m.PrevKvs, sizeKV, appendKV)
}

// TxnResponse and its ResponseOps.

func sizeTxn(m *pb.TxnResponse, check bool) (int, bool) {
	if check && hasUnknown(m) {
		return 0, false
	}
	h, ok1 := sizeField(1, m.Header, check, sizeHeader)
	ops, ok2 := sizeRepeated(3, m.Responses, check, sizeOp)
	return h + sizeVarint(2, boolValue(m.Succeeded)) + ops, ok1 && ok2
}

func appendTxn(b []byte, m *pb.TxnResponse) []byte {
	b = appendField(b, 1, m.Header, sizeHeader, appendHeader)
	b = appendVarint(b, 2, boolValue(m.Succeeded))
	return appendRepeated(b, 3, m.Responses, sizeOp, appendOp)
}

// sizeOp sizes one ResponseOp: its one response, as field 1 to 4. A set
// response holding a nil message is not for the fast path.
func sizeOp(op *pb.ResponseOp, check bool) (int, bool) {
	if check && hasUnknown(op) {
		return 0, false
	}
	switch r := op.Response.(type) {
	case nil:
		return 0, true
	case *pb.ResponseOp_ResponseRange:
		return sizeOneof(1, r.ResponseRange, check, sizeRange)
	case *pb.ResponseOp_ResponsePut:
		return sizeOneof(2, r.ResponsePut, check, sizePut)
	case *pb.ResponseOp_ResponseDeleteRange:
		return sizeOneof(3, r.ResponseDeleteRange, check, sizeDelete)
	case *pb.ResponseOp_ResponseTxn:
		return sizeOneof(4, r.ResponseTxn, check, sizeTxn)
	}
	return 0, false
}

// sizeOneof sizes the message a oneof holds; a set oneof holding nil is
// not for the fast path.
func sizeOneof[T any](num protowire.Number, m *T, check bool, size func(*T, bool) (int, bool)) (int, bool) {
	if m == nil {
		return 0, false
	}
	return sizeField(num, m, check, size)
}

func appendOp(b []byte, op *pb.ResponseOp) []byte {
	switch r := op.Response.(type) {
	case *pb.ResponseOp_ResponseRange:
		return appendField(b, 1, r.ResponseRange, sizeRange, appendRange)
	case *pb.ResponseOp_ResponsePut:
		return appendField(b, 2, r.ResponsePut, sizePut, appendPut)
	case *pb.ResponseOp_ResponseDeleteRange:
		return appendField(b, 3, r.ResponseDeleteRange, sizeDelete, appendDelete)
	case *pb.ResponseOp_ResponseTxn:
		return appendField(b, 4, r.ResponseTxn, sizeTxn, appendTxn)
	}
	return b
}

// WatchResponse and its events.

func sizeWatch(m *pb.WatchResponse, check bool) (int, bool) {
	if check && hasUnknown(m) {
		return 0, false
	}
	n, ok := sizeField(1, m.Header, check, sizeHeader)
	n += sizeVarint(2, uint64(m.WatchId)) + sizeVarint(3, boolValue(m.Created)) + sizeVarint(4, boolValue(m.Canceled)) +
		sizeVarint(5, uint64(m.CompactRevision)) + sizeBytes(6, len(m.CancelReason)) + sizeVarint(7, boolValue(m.Fragment))
	events, evOK := sizeRepeated(11, m.Events, check, sizeEvent)
	return n + events, ok && evOK
}

func appendWatch(b []byte, m *pb.WatchResponse) []byte {
	b = appendField(b, 1, m.Header, sizeHeader, appendHeader)
	b = appendVarint(b, 2, uint64(m.WatchId))
	b = appendVarint(b, 3, boolValue(m.Created))
	b = appendVarint(b, 4, boolValue(m.Canceled))
	b = appendVarint(b, 5, uint64(m.CompactRevision))
	b = appendString(b, 6, m.CancelReason)
	b = appendVarint(b, 7, boolValue(m.Fragment))
	return appendRepeated(b, 11, m.Events, sizeEvent, appendEvent)
}

func sizeEvent(ev *mvccpb.Event, check bool) (int, bool) {
	if check && hasUnknown(ev) {
		return 0, false
	}
	kv, ok1 := sizeField(2, ev.Kv, check, sizeKV)
	prev, ok2 := sizeField(3, ev.PrevKv, check, sizeKV)
	return sizeVarint(1, uint64(int64(ev.Type))) + kv + prev, ok1 && ok2
}

func appendEvent(b []byte, ev *mvccpb.Event) []byte {
	b = appendVarint(b, 1, uint64(int64(ev.Type)))
	b = appendField(b, 2, ev.Kv, sizeKV, appendKV)
	return appendField(b, 3, ev.PrevKv, sizeKV, appendKV)
}

// LeaseKeepAliveResponse.

func sizeKeepAlive(m *pb.LeaseKeepAliveResponse, check bool) (int, bool) {
	if check && hasUnknown(m) {
		return 0, false
	}
	h, ok := sizeField(1, m.Header, check, sizeHeader)
	return h + sizeVarint(2, uint64(m.ID)) + sizeVarint(3, uint64(m.TTL)), ok
}

func appendKeepAlive(b []byte, m *pb.LeaseKeepAliveResponse) []byte {
	b = appendField(b, 1, m.Header, sizeHeader, appendHeader)
	b = appendVarint(b, 2, uint64(m.ID))
	return appendVarint(b, 3, uint64(m.TTL))
}
