// Package codec is the gRPC codec of MetaStore's client API: etcd's
// protobuf messages on the wire, byte for byte what google.golang.org/
// protobuf writes, with the responses that carry many keys (ranges, watch
// events, txns, deletes with their previous KVs) and the most frequent
// small ones (puts, lease keepalives) marshalled without protobuf's
// reflection tables, into buffers the size of the message, and the most
// frequent requests (puts, ranges, txns, deletes, keepalives) read without
// them. Everything else goes through the proto codec. The writes a member
// proposes to raft are written and read the same way
// (MarshalRaftRequest, UnmarshalRaftRequest).
//
// A message the fast path does not know how to write exactly as protobuf
// would (one carrying unknown fields, or a nil element in a repeated
// field) is marshalled by protobuf too, and a request it does not fully
// know is read by protobuf. marshal_test.go and unmarshal_test.go check
// both against protobuf on random messages.
//
// It imports etcd's protos and gRPC's encoding alone.
package codec

import (
	"fmt"
	"math/bits"
	"sync"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers the proto codec, which New falls back to
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// Codec is the gRPC codec; register it on a server with
// grpc.ForceServerCodecV2(codec.New(sent, received)).
type Codec struct {
	proto          encoding.CodecV2
	sent, received Counter
}

// Counter counts bytes; a prometheus.Counter is one.
type Counter interface{ Add(float64) }

// New returns the codec, which answers to gRPC's name "proto". It adds
// the size of every message it writes to sent and of every message it
// reads to received, as etcd's codec feeds its
// etcd_network_client_grpc_{sent,received}_bytes_total; nil counts
// nothing.
func New(sent, received Counter) *Codec {
	if sent == nil {
		sent = noCounter{}
	}
	if received == nil {
		received = noCounter{}
	}
	return &Codec{proto: encoding.GetCodecV2("proto"), sent: sent, received: received}
}

type noCounter struct{}

func (noCounter) Add(float64) {}

// Name is the content subtype the codec serves: protobuf.
func (c *Codec) Name() string { return "proto" }

// Unmarshal decodes a request: puts, ranges, txns, deletes and
// keepalives directly,
// others, and any the fast path does not fully know, with protobuf.
func (c *Codec) Unmarshal(data mem.BufferSlice, v any) error {
	c.received.Add(float64(data.Len()))
	switch v.(type) {
	case *pb.PutRequest, *pb.RangeRequest, *pb.LeaseKeepAliveRequest, *pb.TxnRequest, *pb.DeleteRangeRequest:
	default:
		return c.proto.Unmarshal(data, v)
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	b := buf.ReadOnlyData()
	if unmarshalFast(b, v) {
		return nil
	}
	return proto.Unmarshal(b, v.(proto.Message))
}

// unmarshalFast reads b into v on the fast path; false leaves v untouched.
func unmarshalFast(b []byte, v any) bool {
	switch m := v.(type) {
	case *pb.PutRequest:
		return unmarshalPut(b, m)
	case *pb.RangeRequest:
		return unmarshalRange(b, m)
	case *pb.LeaseKeepAliveRequest:
		return unmarshalKeepAlive(b, m)
	case *pb.TxnRequest:
		return unmarshalTxn(b, m)
	case *pb.DeleteRangeRequest:
		return unmarshalDelete(b, m)
	}
	return false
}

// Marshal encodes v: the messages of the fast path directly, the others
// with protobuf.
func (c *Codec) Marshal(v any) (mem.BufferSlice, error) {
	var pooled bool
	if r, ok := v.(*pb.RangeResponse); ok {
		if release := recycling.take(r); release != nil {
			defer release() // once its bytes are written
			pooled = true
		}
	}
	m, ok := fastMessageOf(v)
	if !ok {
		return c.protoMarshal(v)
	}
	// A pooled reply was built by the server, none of it decoded
	// (ReleaseAfterMarshal), so it holds no unknown fields.
	m.check = !pooled
	size, ok := m.size()
	if !ok {
		return c.protoMarshal(v)
	}
	c.sent.Add(float64(size))
	if r, ok := v.(*pb.RangeResponse); ok && size > 2*chunkSize {
		return marshalRangeInChunks(r, size)
	}
	if mem.IsBelowBufferPoolingThreshold(size) {
		buf := m.appendTo(make([]byte, 0, size))
		if len(buf) != size {
			return nil, fmt.Errorf("codec: %T wrote %d bytes, sized %d", v, len(buf), size)
		}
		return mem.BufferSlice{mem.SliceBuffer(buf)}, nil
	}
	p := buffers.Get(size)
	buf := m.appendTo((*p)[:0])
	if len(buf) != size {
		buffers.Put(p)
		return nil, fmt.Errorf("codec: %T wrote %d bytes, sized %d", v, len(buf), size)
	}
	*p = buf
	return mem.BufferSlice{mem.NewBuffer(p, buffers)}, nil
}

func (c *Codec) protoMarshal(v any) (mem.BufferSlice, error) {
	out, err := c.proto.Marshal(v)
	if err == nil {
		c.sent.Add(float64(out.Len()))
	}
	return out, err
}

// chunkSize is the size of the pieces a large range reply is written in.
// gRPC's transport frees each piece of a reply once it has written the
// piece to the connection, so a reply waiting on its reader's flow-control
// window holds what it has yet to send, not all of it: the replies in
// flight are most of a member's heap when many clients range over many
// keys. Measured on range-1000 (twenty clients, 290 KB replies), with the
// heap floor off to see the heap alone: peak RSS 48 to 50 MiB whole, 44
// to 45 in pieces.
const chunkSize = 32 << 10

// marshalRangeInChunks writes m, size bytes, into pooled buffers of
// chunkSize, a KV never split between two (one longer than chunkSize
// starts a buffer that holds it).
func marshalRangeInChunks(m *pb.RangeResponse, size int) (mem.BufferSlice, error) {
	var (
		out     mem.BufferSlice
		p       *[]byte
		b       []byte
		written int
	)
	// end ends the piece being written, kept if it holds anything; next
	// starts one with room for at least need bytes.
	end := func() {
		if len(b) == 0 {
			buffers.Put(p)
			return
		}
		*p = b
		out = append(out, mem.NewBuffer(p, buffers))
		written += len(b)
	}
	next := func(need int) {
		if p != nil {
			end()
		}
		p = buffers.Get(max(chunkSize, need))
		b = (*p)[:0]
	}
	next(0)
	b = appendField(b, 1, m.Header, sizeHeader, appendHeader)
	for _, kv := range m.Kvs {
		n, _ := sizeKV(kv, false)
		if need := sizeMessage(2, n); len(b)+need > cap(b) {
			next(need)
		}
		b = appendKV(appendMessageHeader(b, 2, n), kv)
	}
	if tail := sizeVarint(3, boolValue(m.More)) + sizeVarint(4, uint64(m.Count)); len(b)+tail > cap(b) {
		next(tail)
	}
	b = appendVarint(b, 3, boolValue(m.More))
	b = appendVarint(b, 4, uint64(m.Count))
	end()
	if written != size {
		out.Free()
		return nil, fmt.Errorf("codec: %T wrote %d bytes, sized %d", m, written, size)
	}
	return out, nil
}

// buffers pools marshal buffers by size class. A buffer is written in
// full before it is sent, so, unlike gRPC's default pool, it is not
// cleared when taken: a 300 KB reply no longer zeroes a 1 MB buffer.
var buffers = &sizedPool{}

// sizedPool's classes step by a quarter of a power of two (1 KiB, 1.25,
// 1.5, 1.75, 2, 2.5 KiB, ...), so a buffer is at most a quarter larger
// than what it holds: with powers of two, a range reply of 290 KB took a
// 512 KB buffer, and twenty such replies in flight held twice the memory.
type sizedPool struct {
	classes [64 * 4]sync.Pool
}

// classOf returns the smallest class that holds size bytes, and that
// class's capacity.
func classOf(size int) (class, capacity int) {
	if size <= 4 {
		return 0, 4
	}
	k := bits.Len(uint(size-1)) - 1 // 2^k < size <= 2^(k+1)
	step := 1 << (k - 2)
	q := (size - 1<<k + step - 1) / step // 1..4
	return 4*k + q, 1<<k + q*step
}

// Get returns a buffer of length size.
func (p *sizedPool) Get(size int) *[]byte {
	c, capacity := classOf(size)
	if b, ok := p.classes[c].Get().(*[]byte); ok {
		*b = (*b)[:size]
		return b
	}
	b := make([]byte, size, capacity)
	return &b
}

// Put returns b to the pool of its capacity.
func (p *sizedPool) Put(b *[]byte) {
	c, capacity := classOf(cap(*b))
	if cap(*b) != capacity {
		return // not one of ours
	}
	p.classes[c].Put(b)
}
