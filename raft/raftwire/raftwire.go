// Package raftwire writes and reads raft's log entries and messages in
// their protobuf encoding without protobuf's reflection: the WAL's entry
// records and the batches peers send each other are most of what a member
// encodes and decodes, and raftpb, being proto2, also allocates each of a
// message's scalar fields on its own.
//
// What it writes is byte for byte what proto.Marshal writes, and what it
// reads is what proto.Unmarshal reads. Anything it does not fully know (a
// snapshot, storage responses, unknown fields or enum values, a field
// given in an unexpected wire type) is left to protobuf.
package raftwire

import (
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Field numbers of raftpb.Entry and raftpb.Message.
const (
	entryType  = 1
	entryTerm  = 2
	entryIndex = 3
	entryData  = 4

	msgType       = 1
	msgTo         = 2
	msgFrom       = 3
	msgTerm       = 4
	msgLogTerm    = 5
	msgIndex      = 6
	msgEntries    = 7
	msgCommit     = 8
	msgSnapshot   = 9
	msgReject     = 10
	msgRejectHint = 11
	msgContext    = 12
	msgVote       = 13
	msgResponses  = 14
)

// AppendEntry appends the encoding of e to b.
func AppendEntry(b []byte, e *raftpb.Entry) ([]byte, error) {
	if !entryKnown(e) {
		return proto.MarshalOptions{}.MarshalAppend(b, e)
	}
	return appendEntry(b, e), nil
}

// AppendMessage appends the encoding of m to b.
func AppendMessage(b []byte, m *raftpb.Message) ([]byte, error) {
	if !messageKnown(m) {
		return proto.MarshalOptions{}.MarshalAppend(b, m)
	}
	if m.Type != nil {
		b = protowire.AppendTag(b, msgType, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(int64(*m.Type)))
	}
	b = appendOptVarint(b, msgTo, m.To)
	b = appendOptVarint(b, msgFrom, m.From)
	b = appendOptVarint(b, msgTerm, m.Term)
	b = appendOptVarint(b, msgLogTerm, m.LogTerm)
	b = appendOptVarint(b, msgIndex, m.Index)
	for _, e := range m.Entries {
		b = protowire.AppendTag(b, msgEntries, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(entrySize(e)))
		b = appendEntry(b, e)
	}
	b = appendOptVarint(b, msgCommit, m.Commit)
	if m.Reject != nil {
		b = protowire.AppendTag(b, msgReject, protowire.VarintType)
		b = protowire.AppendVarint(b, protowire.EncodeBool(*m.Reject))
	}
	b = appendOptVarint(b, msgRejectHint, m.RejectHint)
	if m.Context != nil {
		b = protowire.AppendTag(b, msgContext, protowire.BytesType)
		b = protowire.AppendBytes(b, m.Context)
	}
	b = appendOptVarint(b, msgVote, m.Vote)
	return b, nil
}

// MessageSize returns the size of m's encoding.
func MessageSize(m *raftpb.Message) int {
	if !messageKnown(m) {
		return proto.Size(m)
	}
	n := 0
	if m.Type != nil {
		n += 1 + protowire.SizeVarint(uint64(int64(*m.Type)))
	}
	for _, v := range [...]*uint64{m.To, m.From, m.Term, m.LogTerm, m.Index, m.Commit, m.RejectHint, m.Vote} {
		if v != nil {
			n += 1 + protowire.SizeVarint(*v)
		}
	}
	for _, e := range m.Entries {
		n += 1 + protowire.SizeBytes(entrySize(e))
	}
	if m.Reject != nil {
		n += 2
	}
	if m.Context != nil {
		n += 1 + protowire.SizeBytes(len(m.Context))
	}
	return n
}

// entryKnown reports whether every field e has set is one the fast path
// writes.
func entryKnown(e *raftpb.Entry) bool {
	return e != nil && len(e.ProtoReflect().GetUnknown()) == 0
}

func messageKnown(m *raftpb.Message) bool {
	if m.Snapshot != nil || m.Responses != nil || len(m.ProtoReflect().GetUnknown()) != 0 {
		return false
	}
	for _, e := range m.Entries {
		if !entryKnown(e) {
			return false
		}
	}
	return true
}

// appendOptVarint appends an optional varint field when it is set.
func appendOptVarint(b []byte, num protowire.Number, v *uint64) []byte {
	if v == nil {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, *v)
}

func appendEntry(b []byte, e *raftpb.Entry) []byte {
	if e.Type != nil {
		b = protowire.AppendTag(b, entryType, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(int64(*e.Type)))
	}
	b = appendOptVarint(b, entryTerm, e.Term)
	b = appendOptVarint(b, entryIndex, e.Index)
	if e.Data != nil {
		b = protowire.AppendTag(b, entryData, protowire.BytesType)
		b = protowire.AppendBytes(b, e.Data)
	}
	return b
}

func entrySize(e *raftpb.Entry) int {
	n := 0
	if e.Type != nil {
		n += 1 + protowire.SizeVarint(uint64(int64(*e.Type)))
	}
	if e.Term != nil {
		n += 1 + protowire.SizeVarint(*e.Term)
	}
	if e.Index != nil {
		n += 1 + protowire.SizeVarint(*e.Index)
	}
	if e.Data != nil {
		n += 1 + protowire.SizeBytes(len(e.Data))
	}
	return n
}

// UnmarshalEntry decodes b into a new entry. Its Data is a copy: b may be
// reused.
func UnmarshalEntry(b []byte) (*raftpb.Entry, error) {
	e := &entrySlab{}
	if err := e.read(b); err != nil {
		pe := &raftpb.Entry{}
		if err := proto.Unmarshal(b, pe); err != nil {
			return nil, err
		}
		return pe, nil
	}
	e.link()
	if e.e.Data != nil {
		e.e.Data = append(make([]byte, 0, len(e.e.Data)), e.e.Data...)
	}
	return &e.e, nil
}

// entrySlab is an entry with room for its scalar fields, so that decoding
// one allocates once.
type entrySlab struct {
	e           raftpb.Entry
	term, index uint64
	typ         raftpb.EntryType
	has         uint8 // bits: 1 type, 2 term, 4 index
}

// errFallback sends a decode to protobuf.
type errFallback struct{}

func (errFallback) Error() string { return "raftwire: left to protobuf" }

// read decodes b into s, its Data aliasing b. It fails, for protobuf to
// decode b, on anything it does not fully know.
func (s *entrySlab) read(b []byte) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errFallback{}
		}
		b = b[n:]
		switch {
		case num == entryData && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return errFallback{}
			}
			s.e.Data = v[:len(v):len(v)]
			b = b[n:]
			continue
		case typ != protowire.VarintType:
			return errFallback{}
		}
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return errFallback{}
		}
		b = b[n:]
		switch num {
		case entryType:
			if !knownEnum(v, raftpb.EntryType_name) {
				return errFallback{}
			}
			s.typ, s.has = raftpb.EntryType(int32(v)), s.has|1
		case entryTerm:
			s.term, s.has = v, s.has|2
		case entryIndex:
			s.index, s.has = v, s.has|4
		default:
			return errFallback{}
		}
	}
	return nil
}

// knownEnum reports whether v is one of an enum's values. Others, which a
// proto2 enum keeps among the unknown fields, are left to protobuf.
func knownEnum(v uint64, names map[int32]string) bool {
	if v > 1<<31-1 {
		return false
	}
	_, ok := names[int32(v)]
	return ok
}

// link points the entry's scalar fields at the slab's.
func (s *entrySlab) link() {
	if s.has&1 != 0 {
		s.e.Type = &s.typ
	}
	if s.has&2 != 0 {
		s.e.Term = &s.term
	}
	if s.has&4 != 0 {
		s.e.Index = &s.index
	}
}

// messageSlab is a message with room for its scalar fields.
type messageSlab struct {
	m                                                        raftpb.Message
	to, from, term, logTerm, index, commit, rejectHint, vote uint64
	typ                                                      raftpb.MessageType
	reject                                                   bool
	has                                                      uint16
}

const (
	hasType = 1 << iota
	hasTo
	hasFrom
	hasTerm
	hasLogTerm
	hasIndex
	hasCommit
	hasReject
	hasRejectHint
	hasVote
)

// UnmarshalMessage decodes b into a new message. The message's entries'
// Data and its Context are copies: b may be reused.
func UnmarshalMessage(b []byte) (*raftpb.Message, error) {
	s := &messageSlab{}
	if err := s.read(b); err != nil {
		m := &raftpb.Message{}
		if err := proto.Unmarshal(b, m); err != nil {
			return nil, err
		}
		return m, nil
	}
	return s.link(), nil
}

// read decodes b into s, entries and context aliasing b.
func (s *messageSlab) read(b []byte) error {
	var few [8][]byte
	entries := few[:0]
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errFallback{}
		}
		b = b[n:]
		if typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return errFallback{}
			}
			b = b[n:]
			switch num {
			case msgEntries:
				entries = append(entries, v)
			case msgContext:
				s.m.Context = v[:len(v):len(v)]
			default:
				return errFallback{}
			}
			continue
		}
		if typ != protowire.VarintType {
			return errFallback{}
		}
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return errFallback{}
		}
		b = b[n:]
		var bit uint16
		switch num {
		case msgType:
			if !knownEnum(v, raftpb.MessageType_name) {
				return errFallback{}
			}
			s.typ, bit = raftpb.MessageType(int32(v)), hasType
		case msgTo:
			s.to, bit = v, hasTo
		case msgFrom:
			s.from, bit = v, hasFrom
		case msgTerm:
			s.term, bit = v, hasTerm
		case msgLogTerm:
			s.logTerm, bit = v, hasLogTerm
		case msgIndex:
			s.index, bit = v, hasIndex
		case msgCommit:
			s.commit, bit = v, hasCommit
		case msgReject:
			s.reject, bit = protowire.DecodeBool(v), hasReject
		case msgRejectHint:
			s.rejectHint, bit = v, hasRejectHint
		case msgVote:
			s.vote, bit = v, hasVote
		default:
			return errFallback{}
		}
		s.has |= bit
	}
	if len(entries) == 0 {
		return s.copyContext(nil)
	}
	slabs := make([]entrySlab, len(entries))
	size := 0
	for i, eb := range entries {
		if err := slabs[i].read(eb); err != nil {
			return err
		}
		size += len(slabs[i].e.Data)
	}
	// The entries' data go to one block of their own.
	data := make([]byte, 0, size+len(s.m.Context))
	s.m.Entries = make([]*raftpb.Entry, len(slabs))
	for i := range slabs {
		sl := &slabs[i]
		sl.link()
		if sl.e.Data != nil {
			start := len(data)
			data = append(data, sl.e.Data...)
			sl.e.Data = data[start:len(data):len(data)]
		}
		s.m.Entries[i] = &sl.e
	}
	return s.copyContext(data)
}

// copyContext copies the context into block, or a block of its own.
func (s *messageSlab) copyContext(block []byte) error {
	if s.m.Context != nil {
		if block == nil {
			block = make([]byte, 0, len(s.m.Context)) // not nil, even when empty
		}
		start := len(block)
		block = append(block, s.m.Context...)
		s.m.Context = block[start:len(block):len(block)]
	}
	return nil
}

// link points the message's scalar fields at the slab's and returns it.
func (s *messageSlab) link() *raftpb.Message {
	m := &s.m
	if s.has&hasType != 0 {
		m.Type = &s.typ
	}
	if s.has&hasReject != 0 {
		m.Reject = &s.reject
	}
	for _, f := range [...]struct {
		bit uint16
		dst **uint64
		v   *uint64
	}{
		{hasTo, &m.To, &s.to}, {hasFrom, &m.From, &s.from}, {hasTerm, &m.Term, &s.term},
		{hasLogTerm, &m.LogTerm, &s.logTerm}, {hasIndex, &m.Index, &s.index}, {hasCommit, &m.Commit, &s.commit},
		{hasRejectHint, &m.RejectHint, &s.rejectHint}, {hasVote, &m.Vote, &s.vote},
	} {
		if s.has&f.bit != 0 {
			*f.dst = f.v
		}
	}
	return m
}
