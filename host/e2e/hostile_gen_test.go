package e2e

import (
	"math"
	"math/rand/v2"
	"strings"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The hostile-input generator writes request messages of etcd's API as
// raw protobuf bytes, guided by the messages' descriptors but not bound by
// them: fields of the right type with edge values (negative and enormous
// revisions and limits, empty, huge and invalid UTF-8 strings), unknown
// fields, fields with the wrong wire type, deep and wide txns, and
// well-formed requests with bytes flipped, cut or inserted.

// hostileMethod is one gRPC method of etcd's API.
type hostileMethod struct {
	name         string // /etcdserverpb.KV/Range
	in           protoreflect.MessageDescriptor
	clientStream bool
	serverStream bool
}

// hostileMethods lists every method of etcd's six services.
func hostileMethods() []hostileMethod {
	var out []hostileMethod
	svcs := pb.File_rpc_proto.Services()
	for i := range svcs.Len() {
		svc := svcs.Get(i)
		for j := range svc.Methods().Len() {
			m := svc.Methods().Get(j)
			out = append(out, hostileMethod{
				name:         "/" + string(svc.FullName()) + "/" + string(m.Name()),
				in:           m.Input(),
				clientStream: m.IsStreamingClient(),
				serverStream: m.IsStreamingServer(),
			})
		}
	}
	return out
}

// hostileGen draws requests from a seeded source, so that a run can be
// replayed by its seed.
type hostileGen struct {
	rnd *rand.Rand
	// budget bounds the bytes of one message, so that a wide txn of wide
	// txns stays a few MiB at most.
	budget int
}

func newHostileGen(seed uint64) *hostileGen {
	return &hostileGen{rnd: rand.New(rand.NewPCG(seed, seed^0x5eed))}
}

// edgeInts are the integers most likely to find a missing check.
var edgeInts = []int64{0, 1, -1, 2, 3, 10, 127, 128, 1000, math.MaxInt32, math.MinInt32,
	math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, 1 << 40, -(1 << 40), 1 << 53}

// message returns the bytes of a request of type md: mostly structured,
// sometimes a mutated structured one, now and then pure noise.
func (g *hostileGen) message(md protoreflect.MessageDescriptor) []byte {
	g.budget = 4 << 20
	if md.FullName() == "etcdserverpb.TxnRequest" && g.rnd.IntN(20) == 0 {
		return g.deepTxn(1 + g.rnd.IntN(300))
	}
	switch p := g.rnd.IntN(100); {
	case p < 70:
		return g.fields(md, 0)
	case p < 95:
		return g.mutate(g.fields(md, 0))
	default:
		return g.noise(g.rnd.IntN(512))
	}
}

// deepTxn is a txn whose success branch holds a txn, n levels down, with
// a put at the bottom.
func (g *hostileGen) deepTxn(n int) []byte {
	put := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), []byte("k0"))
	op := protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), put) // RequestOp.request_put
	var txn []byte
	for range n {
		txn = protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), op) // TxnRequest.success
		op = protowire.AppendBytes(protowire.AppendTag(nil, 4, protowire.BytesType), txn) // RequestOp.request_txn
	}
	return txn
}

// fields encodes a random selection of md's fields, and sometimes fields
// md does not have.
func (g *hostileGen) fields(md protoreflect.MessageDescriptor, depth int) []byte {
	var b []byte
	fds := md.Fields()
	for i := range fds.Len() {
		fd := fds.Get(i)
		if g.rnd.IntN(3) == 0 || g.budget <= 0 {
			continue
		}
		n := 1
		if fd.IsList() {
			n = g.count(fd, depth)
		}
		for range n {
			b = g.field(b, fd, depth)
		}
	}
	if g.rnd.IntN(8) == 0 { // an unknown field
		num := protowire.Number(1000 + g.rnd.IntN(100000))
		b = protowire.AppendTag(b, num, protowire.BytesType)
		b = protowire.AppendBytes(b, g.noise(g.rnd.IntN(64)))
	}
	g.budget -= len(b)
	return b
}

// count is how many elements a repeated field gets: usually a few, now
// and then more than any limit allows (a txn's ops).
func (g *hostileGen) count(fd protoreflect.FieldDescriptor, depth int) int {
	if depth > 2 {
		return g.rnd.IntN(2)
	}
	switch p := g.rnd.IntN(100); {
	case p < 85:
		return g.rnd.IntN(4)
	case p < 97:
		return 100 + g.rnd.IntN(60) // around etcd's 128 ops per txn
	default:
		if fd.Kind() == protoreflect.MessageKind {
			return 1000 + g.rnd.IntN(5000)
		}
		return 10000
	}
}

// field appends one value of fd, of its own wire type or, rarely, another.
func (g *hostileGen) field(b []byte, fd protoreflect.FieldDescriptor, depth int) []byte {
	num := fd.Number()
	if g.rnd.IntN(50) == 0 { // the wrong wire type
		switch g.rnd.IntN(3) {
		case 0:
			return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), g.rnd.Uint64())
		case 1:
			return protowire.AppendFixed32(protowire.AppendTag(b, num, protowire.Fixed32Type), g.rnd.Uint32())
		default:
			return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), g.noise(g.rnd.IntN(16)))
		}
	}
	switch fd.Kind() {
	case protoreflect.BoolKind:
		v := uint64(g.rnd.IntN(2))
		if g.rnd.IntN(20) == 0 {
			v = g.rnd.Uint64() // a bool that is not 0 or 1
		}
		return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), v)
	case protoreflect.EnumKind:
		v := int64(g.rnd.IntN(fd.Enum().Values().Len() + 1))
		if g.rnd.IntN(10) == 0 {
			v = g.int()
		}
		return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), uint64(v))
	case protoreflect.Int32Kind, protoreflect.Int64Kind, protoreflect.Uint32Kind, protoreflect.Uint64Kind:
		return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), uint64(g.int()))
	case protoreflect.StringKind:
		return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), g.text())
	case protoreflect.BytesKind:
		return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), g.key())
	case protoreflect.MessageKind:
		// Txns nest deeper than other messages.
		name := fd.Message().FullName()
		limit := 4
		if name == "etcdserverpb.TxnRequest" || name == "etcdserverpb.RequestOp" {
			limit = 12
		}
		if depth > limit || g.budget <= 0 {
			return b
		}
		return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), g.fields(fd.Message(), depth+1))
	}
	return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), uint64(g.int()))
}

// int draws an integer: an edge value, a small one, or any.
func (g *hostileGen) int() int64 {
	switch p := g.rnd.IntN(10); {
	case p < 5:
		return edgeInts[g.rnd.IntN(len(edgeInts))]
	case p < 8:
		return int64(g.rnd.IntN(40)) - 5
	default:
		return int64(g.rnd.Uint64())
	}
}

// key draws a key or value: few keys, so that requests meet each other's
// data, or an empty, a zero byte, a huge or a random one.
func (g *hostileGen) key() []byte {
	switch p := g.rnd.IntN(100); {
	case p < 60:
		return []byte{'k', byte('0' + g.rnd.IntN(10))}
	case p < 70:
		return nil
	case p < 75:
		return []byte{0}
	case p < 80:
		return []byte("\xff\xfe\xfd")
	case p < 82:
		n := (1 << 20) + g.rnd.IntN(1<<20) // over etcd's 1.5 MiB request limit, sometimes
		g.budget -= n
		if g.budget < 0 {
			return []byte("k9")
		}
		return []byte(strings.Repeat("v", n))
	default:
		return g.noise(g.rnd.IntN(40))
	}
}

// text draws a string field's bytes, valid UTF-8 or not.
func (g *hostileGen) text() []byte {
	switch p := g.rnd.IntN(10); {
	case p < 3:
		return []byte("\xc3\x28\xff") // invalid UTF-8
	case p < 5:
		return nil
	case p < 6:
		return []byte(strings.Repeat("é", 300))
	default:
		return []byte{'u', byte('0' + g.rnd.IntN(4))}
	}
}

// noise is n random bytes.
func (g *hostileGen) noise(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.rnd.Uint32())
	}
	return b
}

// mutate flips, cuts, duplicates or inserts bytes of a message.
func (g *hostileGen) mutate(b []byte) []byte {
	for range 1 + g.rnd.IntN(4) {
		if len(b) == 0 {
			return g.noise(g.rnd.IntN(32))
		}
		i := g.rnd.IntN(len(b))
		switch g.rnd.IntN(5) {
		case 0:
			b[i] ^= byte(1 << g.rnd.IntN(8))
		case 1:
			b = b[:i]
		case 2:
			b[i] = byte(g.rnd.Uint32())
		case 3:
			b = append(b[:i:i], append(g.noise(1+g.rnd.IntN(8)), b[i:]...)...)
		default:
			b = append(b, b[:i]...)
		}
	}
	return b
}
