package raftwire

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

func randU64(r *rand.Rand) *uint64 {
	if r.IntN(4) == 0 {
		return nil
	}
	v := []uint64{0, 1, uint64(r.IntN(300)), r.Uint64()}[r.IntN(4)]
	return &v
}

func randBytes(r *rand.Rand) []byte {
	switch r.IntN(4) {
	case 0:
		return nil
	case 1:
		return []byte{}
	}
	b := make([]byte, r.IntN(300))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func randEntry(r *rand.Rand) *raftpb.Entry {
	e := &raftpb.Entry{Term: randU64(r), Index: randU64(r), Data: randBytes(r)}
	if r.IntN(4) != 0 {
		e.Type = raftpb.EntryType(r.IntN(3)).Enum()
	}
	return e
}

func randMessage(r *rand.Rand) *raftpb.Message {
	m := &raftpb.Message{
		To: randU64(r), From: randU64(r), Term: randU64(r), LogTerm: randU64(r), Index: randU64(r),
		Commit: randU64(r), RejectHint: randU64(r), Vote: randU64(r), Context: randBytes(r),
	}
	if r.IntN(4) != 0 {
		m.Type = raftpb.MessageType(r.IntN(len(raftpb.MessageType_name))).Enum()
	}
	if r.IntN(3) == 0 {
		m.Reject = proto.Bool(r.IntN(2) == 0)
	}
	for range r.IntN(5) {
		m.Entries = append(m.Entries, randEntry(r))
	}
	switch r.IntN(20) {
	case 0:
		m.Snapshot = &raftpb.Snapshot{Data: randBytes(r), Metadata: &raftpb.SnapshotMetadata{Index: randU64(r)}}
	case 1:
		m.Responses = []*raftpb.Message{{To: randU64(r)}}
	}
	return m
}

// TestEntriesAsProtobuf: entries are written as protobuf writes them and
// read back equal.
func TestEntriesAsProtobuf(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		e := randEntry(r)
		want, err := proto.Marshal(e)
		require.NoError(t, err)
		got, err := AppendEntry([]byte("prefix"), e)
		require.NoError(t, err)
		require.Equal(t, want, got[len("prefix"):], "%v", e)
		back, err := UnmarshalEntry(want)
		require.NoError(t, err)
		require.True(t, proto.Equal(e, back), "%v\n%v", e, back)
	}
}

// TestMessagesAsProtobuf: messages, with and without entries, are written
// as protobuf writes them and read back equal; those with a snapshot or
// responses go through protobuf.
func TestMessagesAsProtobuf(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		m := randMessage(r)
		want, err := proto.Marshal(m)
		require.NoError(t, err)
		got, err := AppendMessage(nil, m)
		require.NoError(t, err)
		require.Equal(t, want, got, "%v", m)
		require.Equal(t, len(want), MessageSize(m), "%v", m)
		back, err := UnmarshalMessage(want)
		require.NoError(t, err)
		require.True(t, proto.Equal(m, back), "%v\n%v", m, back)
	}
}

// TestReadsOwnTheirBytes: a decoded entry or message keeps its data when
// the buffer it came from is reused.
func TestReadsOwnTheirBytes(t *testing.T) {
	m := &raftpb.Message{Type: raftpb.MsgApp.Enum(), Context: []byte("ctx"), Entries: []*raftpb.Entry{
		{Index: proto.Uint64(1), Data: []byte("one")}, {Index: proto.Uint64(2), Data: []byte("two")},
	}}
	b, err := proto.Marshal(m)
	require.NoError(t, err)
	back, err := UnmarshalMessage(b)
	require.NoError(t, err)
	eb, err := proto.Marshal(m.Entries[0])
	require.NoError(t, err)
	e, err := UnmarshalEntry(eb)
	require.NoError(t, err)
	clear(b)
	clear(eb)
	require.True(t, proto.Equal(m, back), "%v", back)
	require.Equal(t, "one", string(e.Data))
}

// mutations returns encodings near b: cut, with a byte changed, with a
// field repeated, an unknown field or an enum out of range added.
func mutations(r *rand.Rand, b []byte) [][]byte {
	var out [][]byte
	if len(b) > 0 {
		out = append(out, b[:r.IntN(len(b))])
		c := append([]byte(nil), b...)
		c[r.IntN(len(c))] = byte(r.Uint32())
		out = append(out, c)
	}
	out = append(out,
		append(append([]byte(nil), b...), b...),
		protowire.AppendVarint(protowire.AppendTag(append([]byte(nil), b...), 99, protowire.VarintType), 7),
		protowire.AppendVarint(protowire.AppendTag(append([]byte(nil), b...), 1, protowire.VarintType), 1000),
		protowire.AppendVarint(protowire.AppendTag(append([]byte(nil), b...), 1, protowire.VarintType), 1<<32+1),
		protowire.AppendBytes(protowire.AppendTag(append([]byte(nil), b...), 2, protowire.BytesType), []byte{1}),
		protowire.AppendVarint(protowire.AppendTag(append([]byte(nil), b...), 7, protowire.VarintType), 1),
		protowire.AppendBytes(protowire.AppendTag(append([]byte(nil), b...), 7, protowire.BytesType),
			protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 9)),
		protowire.AppendVarint(protowire.AppendTag(append([]byte(nil), b...), 10, protowire.VarintType), 2),
	)
	return out
}

// TestReadsAsProtobufReads: whatever the bytes, entries and messages are
// read as protobuf reads them, or fail where it fails.
func TestReadsAsProtobufReads(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 1000 {
		mb, err := proto.Marshal(randMessage(r))
		require.NoError(t, err)
		for _, b := range mutations(r, mb) {
			want := &raftpb.Message{}
			werr := proto.Unmarshal(b, want)
			got, err := UnmarshalMessage(b)
			require.Equal(t, werr == nil, err == nil, "%x: %v / %v", b, werr, err)
			if err == nil {
				require.True(t, proto.Equal(want, got), "%x\n%v\n%v", b, want, got)
			}
		}
		eb, err := proto.Marshal(randEntry(r))
		require.NoError(t, err)
		for _, b := range mutations(r, eb) {
			want := &raftpb.Entry{}
			werr := proto.Unmarshal(b, want)
			got, err := UnmarshalEntry(b)
			require.Equal(t, werr == nil, err == nil, "%x: %v / %v", b, werr, err)
			if err == nil {
				require.True(t, proto.Equal(want, got), "%x\n%v\n%v", b, want, got)
			}
		}
	}
}

// TestKnowsEveryField: the fields of Entry and Message are the ones this
// package writes and reads, or leaves to protobuf, so a field added to
// raft's proto fails here until it is handled.
func TestKnowsEveryField(t *testing.T) {
	numbers := func(md protoreflect.MessageDescriptor) []protoreflect.FieldNumber {
		var out []protoreflect.FieldNumber
		for i := range md.Fields().Len() {
			out = append(out, md.Fields().Get(i).Number())
		}
		return out
	}
	require.ElementsMatch(t, []protoreflect.FieldNumber{entryType, entryTerm, entryIndex, entryData},
		numbers((&raftpb.Entry{}).ProtoReflect().Descriptor()))
	require.ElementsMatch(t, []protoreflect.FieldNumber{
		msgType, msgTo, msgFrom, msgTerm, msgLogTerm, msgIndex, msgEntries, msgCommit,
		msgSnapshot, msgReject, msgRejectHint, msgContext, msgVote, msgResponses,
	}, numbers((&raftpb.Message{}).ProtoReflect().Descriptor()))
}

// TestReadingAMessageAllocatesLittle: a message of entries decodes into a
// few blocks, where protobuf allocates each entry, each scalar field and
// each entry's data on its own (26 allocations for this one).
func TestReadingAMessageAllocatesLittle(t *testing.T) {
	m := &raftpb.Message{Type: raftpb.MsgApp.Enum(), To: proto.Uint64(2), From: proto.Uint64(1),
		Term: proto.Uint64(3), LogTerm: proto.Uint64(3), Index: proto.Uint64(10), Commit: proto.Uint64(9)}
	for i := range 3 {
		m.Entries = append(m.Entries, &raftpb.Entry{Term: proto.Uint64(3), Index: proto.Uint64(uint64(11 + i)),
			Type: raftpb.EntryNormal.Enum(), Data: []byte("put key value")})
	}
	b, err := proto.Marshal(m)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := UnmarshalMessage(b); err != nil {
			t.Fatal(err)
		}
	})
	require.LessOrEqual(t, allocs, 6.0)
}
