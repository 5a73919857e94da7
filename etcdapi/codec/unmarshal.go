package codec

import (
	"iter"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/protobuf/encoding/protowire"
)

// The requests most sent (puts, ranges, keepalives) are read without
// protobuf's reflection. A request the fast path does not fully know (an
// unknown field, a field of another wire type, malformed bytes) is read
// by protobuf instead, from the start: the message is only written once
// the whole request has been read, so protobuf gets it untouched.

// field is one field of a request as read from the wire.
type field struct {
	num   protowire.Number
	typ   protowire.Type // VarintType or BytesType
	bytes []byte         // for a length-delimited field
	value uint64         // for a varint field
}

func (f field) is(num protowire.Number, typ protowire.Type) bool { return f.num == num && f.typ == typ }

// nextField reads the field at the start of b and returns it with what
// follows; ok is false for malformed bytes or a wire type the fast path
// does not read.
func nextField(b []byte) (f field, rest []byte, ok bool) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return field{}, nil, false
	}
	b = b[n:]
	f = field{num: num, typ: typ}
	switch typ {
	case protowire.VarintType:
		f.value, n = protowire.ConsumeVarint(b)
	case protowire.BytesType:
		f.bytes, n = protowire.ConsumeBytes(b)
	default:
		return field{}, nil, false
	}
	if n < 0 {
		return field{}, nil, false
	}
	return f, b[n:], true
}

// fields yields the fields of b in order; at malformed bytes or a wire
// type the fast path does not read it stops and sets *ok to false.
func fields(b []byte, ok *bool) iter.Seq[field] {
	return func(yield func(field) bool) {
		for len(b) > 0 {
			f, rest, good := nextField(b)
			if !good {
				*ok = false
				return
			}
			if !yield(f) {
				return
			}
			b = rest
		}
	}
}

// owned copies the byte fields a request keeps out of the receive buffer,
// which gRPC reuses, into one allocation. A field absent or empty on the
// wire stays nil, as protobuf leaves it.
func owned(fields ...*[]byte) {
	total := 0
	for _, f := range fields {
		total += len(*f)
	}
	if total == 0 {
		for _, f := range fields {
			*f = nil
		}
		return
	}
	buf := make([]byte, 0, total)
	for _, f := range fields {
		if len(*f) == 0 {
			*f = nil
			continue
		}
		start := len(buf)
		buf = append(buf, *f...)
		*f = buf[start:len(buf):len(buf)]
	}
}

// unmarshalPut reads a PutRequest; false leaves m untouched.
func unmarshalPut(b []byte, m *pb.PutRequest) bool {
	var (
		key, value                       []byte
		lease                            int64
		prevKv, ignoreValue, ignoreLease bool
	)
	read := true
	for f := range fields(b, &read) {
		switch {
		case f.is(1, protowire.BytesType):
			key = f.bytes
		case f.is(2, protowire.BytesType):
			value = f.bytes
		case f.is(3, protowire.VarintType):
			lease = int64(f.value)
		case f.is(4, protowire.VarintType):
			prevKv = f.value != 0
		case f.is(5, protowire.VarintType):
			ignoreValue = f.value != 0
		case f.is(6, protowire.VarintType):
			ignoreLease = f.value != 0
		default:
			return false
		}
	}
	if !read {
		return false
	}
	owned(&key, &value)
	m.Key, m.Value, m.Lease = key, value, lease
	m.PrevKv, m.IgnoreValue, m.IgnoreLease = prevKv, ignoreValue, ignoreLease
	return true
}

// unmarshalRange reads a RangeRequest; false leaves m untouched.
func unmarshalRange(b []byte, m *pb.RangeRequest) bool {
	var (
		key, end                             []byte
		limit, revision                      int64
		order                                pb.RangeRequest_SortOrder
		target                               pb.RangeRequest_SortTarget
		serializable, keysOnly, countOnly    bool
		minMod, maxMod, minCreate, maxCreate int64
	)
	read := true
	for f := range fields(b, &read) {
		switch {
		case f.is(1, protowire.BytesType):
			key = f.bytes
		case f.is(2, protowire.BytesType):
			end = f.bytes
		case f.typ != protowire.VarintType:
			return false
		case f.num == 3:
			limit = int64(f.value)
		case f.num == 4:
			revision = int64(f.value)
		case f.num == 5:
			order = pb.RangeRequest_SortOrder(int32(f.value))
		case f.num == 6:
			target = pb.RangeRequest_SortTarget(int32(f.value))
		case f.num == 7:
			serializable = f.value != 0
		case f.num == 8:
			keysOnly = f.value != 0
		case f.num == 9:
			countOnly = f.value != 0
		case f.num == 10:
			minMod = int64(f.value)
		case f.num == 11:
			maxMod = int64(f.value)
		case f.num == 12:
			minCreate = int64(f.value)
		case f.num == 13:
			maxCreate = int64(f.value)
		default:
			return false
		}
	}
	if !read {
		return false
	}
	owned(&key, &end)
	m.Key, m.RangeEnd, m.Limit, m.Revision = key, end, limit, revision
	m.SortOrder, m.SortTarget = order, target
	m.Serializable, m.KeysOnly, m.CountOnly = serializable, keysOnly, countOnly
	m.MinModRevision, m.MaxModRevision, m.MinCreateRevision, m.MaxCreateRevision = minMod, maxMod, minCreate, maxCreate
	return true
}

// unmarshalKeepAlive reads a LeaseKeepAliveRequest; false leaves m
// untouched.
func unmarshalKeepAlive(b []byte, m *pb.LeaseKeepAliveRequest) bool {
	var id int64
	read := true
	for f := range fields(b, &read) {
		if !f.is(1, protowire.VarintType) {
			return false
		}
		id = int64(f.value)
	}
	if read {
		m.ID = id
	}
	return read
}
