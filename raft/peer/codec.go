package peer

import (
	"fmt"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/grpc/encoding"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/metastore/metastore/raft/raftwire"
)

// frame is one message of the peer service. The service encodes its own
// payloads (a batch of raft messages, a snapshot chunk, JSON), so the gRPC
// codec only moves bytes.
type frame struct{ b []byte }

// frameCodec is the gRPC codec of the peer service.
type frameCodec struct{}

var _ encoding.Codec = frameCodec{}

func (frameCodec) Marshal(v any) ([]byte, error) {
	f, ok := v.(*frame)
	if !ok {
		return nil, fmt.Errorf("peer: cannot encode %T", v)
	}
	return f.b, nil
}

func (frameCodec) Unmarshal(data []byte, v any) error {
	f, ok := v.(*frame)
	if !ok {
		return fmt.Errorf("peer: cannot decode into %T", v)
	}
	f.b = append([]byte(nil), data...)
	return nil
}

func (frameCodec) Name() string { return "metastore-peer" }

// encodeBatch encodes msgs as the protobuf message
// `message Batch { repeated raftpb.Message msgs = 1; }`.
func encodeBatch(msgs []*raftpb.Message) ([]byte, error) {
	sizes := make([]int, len(msgs))
	total := 0
	for i, m := range msgs {
		sizes[i] = raftwire.MessageSize(m)
		total += 1 + protowire.SizeBytes(sizes[i])
	}
	b := make([]byte, 0, total)
	for i, m := range msgs {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(sizes[i]))
		start := len(b)
		var err error
		if b, err = raftwire.AppendMessage(b, m); err != nil {
			return nil, fmt.Errorf("peer: encode %v: %w", m.GetType(), err)
		}
		if len(b)-start != sizes[i] {
			return nil, fmt.Errorf("peer: encode %v: %d bytes written, %d sized", m.GetType(), len(b)-start, sizes[i])
		}
	}
	return b, nil
}

// decodeBatch is the inverse of encodeBatch.
func decodeBatch(b []byte) ([]*raftpb.Message, error) {
	var out []*raftpb.Message
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num != 1 || typ != protowire.BytesType {
			return nil, fmt.Errorf("peer: malformed batch")
		}
		b = b[n:]
		mb, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return nil, fmt.Errorf("peer: malformed batch")
		}
		b = b[n:]
		m, err := raftwire.UnmarshalMessage(mb)
		if err != nil {
			return nil, fmt.Errorf("peer: decode message: %w", err)
		}
		out = append(out, m)
	}
	return out, nil
}
