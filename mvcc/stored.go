package mvcc

import (
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// The remaining field of mvccpb.KeyValue (see restore.go for the others).
const kvFieldModified = 3

// storedSize returns the size of kv's encoding.
func storedSize(kv *mvccpb.KeyValue) int {
	n := 0
	if len(kv.Key) > 0 {
		n += 1 + protowire.SizeBytes(len(kv.Key))
	}
	for _, v := range []int64{kv.CreateRevision, kv.ModRevision, kv.Version} {
		if v != 0 {
			n += 1 + protowire.SizeVarint(uint64(v))
		}
	}
	if len(kv.Value) > 0 {
		n += 1 + protowire.SizeBytes(len(kv.Value))
	}
	if kv.Lease != 0 {
		n += 1 + protowire.SizeVarint(uint64(kv.Lease))
	}
	return n
}

// appendStored appends the encoding of kv that the engine stores, the
// bytes proto.Marshal writes (and etcd stores, which HashKV covers),
// without protobuf's reflection.
func appendStored(b []byte, kv *mvccpb.KeyValue) []byte {
	if len(kv.ProtoReflect().GetUnknown()) != 0 {
		out, err := proto.MarshalOptions{}.MarshalAppend(b, kv)
		if err != nil {
			panic("mvcc: marshaling a KeyValue: " + err.Error())
		}
		return out
	}
	if len(kv.Key) > 0 {
		b = protowire.AppendTag(b, kvFieldKey, protowire.BytesType)
		b = protowire.AppendBytes(b, kv.Key)
	}
	for _, f := range [...]struct {
		num protowire.Number
		v   int64
	}{{kvFieldCreated, kv.CreateRevision}, {kvFieldModified, kv.ModRevision}, {kvFieldVersion, kv.Version}} {
		if f.v != 0 {
			b = protowire.AppendTag(b, f.num, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(f.v))
		}
	}
	if len(kv.Value) > 0 {
		b = protowire.AppendTag(b, kvFieldValue, protowire.BytesType)
		b = protowire.AppendBytes(b, kv.Value)
	}
	if kv.Lease != 0 {
		b = protowire.AppendTag(b, kvFieldLease, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(kv.Lease))
	}
	return b
}
