package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/metastore/metastore/raft/raftwire"
)

// recordType tags the payload of a record.
type recordType uint8

// Record types. Zero is never valid, so zero-filled space is never a record.
const (
	recMetadata  recordType = 1
	recEntry     recordType = 2
	recHardState recordType = 3
	recSnapshot  recordType = 4
)

const (
	// headerSize is the length, CRC and type prefix of every record.
	headerSize = 9
	// maxPayloadSize bounds a record; a larger length field is damage.
	maxPayloadSize = 256 << 20
	// metadataSize is the payload size of a metadata record.
	metadataSize = 16
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Reasons a record does not decode. errShortRecord means the bytes end
// inside the record, which is what a torn write looks like.
var (
	errShortRecord = errors.New("record extends past the end of the segment")
	errBadLength   = errors.New("record length out of range")
	errBadType     = errors.New("unknown record type")
	errBadCRC      = errors.New("record checksum mismatch")
)

// record is one decoded record. payload aliases the decoded buffer.
type record struct {
	typ     recordType
	payload []byte
}

func validType(t recordType) bool {
	return t >= recMetadata && t <= recSnapshot
}

// decodeRecord decodes the record at the start of buf and returns it with
// its encoded size. It never panics, whatever buf holds.
func decodeRecord(buf []byte) (record, int, error) {
	if len(buf) < headerSize {
		return record{}, 0, errShortRecord
	}
	n := binary.LittleEndian.Uint32(buf[0:4])
	if n > maxPayloadSize {
		return record{}, 0, errBadLength
	}
	end := headerSize + int(n)
	if end > len(buf) {
		return record{}, 0, errShortRecord
	}
	typ := recordType(buf[8])
	if !validType(typ) {
		return record{}, 0, errBadType
	}
	if crc32.Checksum(buf[8:end], crcTable) != binary.LittleEndian.Uint32(buf[4:8]) {
		return record{}, 0, errBadCRC
	}
	return record{typ: typ, payload: buf[headerSize:end]}, end, nil
}

// appendRecord appends a record of type typ whose payload is written by
// fill (which appends to the slice it is given) and returns the result.
func appendRecord(buf []byte, typ recordType, fill func([]byte) ([]byte, error)) ([]byte, error) {
	start := len(buf)
	buf = append(buf, make([]byte, headerSize)...)
	buf[start+8] = byte(typ)
	buf, err := fill(buf)
	if err != nil {
		return buf[:start], err
	}
	n := len(buf) - start - headerSize
	if n > maxPayloadSize {
		return buf[:start], fmt.Errorf("wal: record of %d bytes exceeds the limit of %d", n, maxPayloadSize)
	}
	binary.LittleEndian.PutUint32(buf[start:], uint32(n))
	binary.LittleEndian.PutUint32(buf[start+4:], crc32.Checksum(buf[start+8:], crcTable))
	return buf, nil
}

// appendProto appends a record holding the marshalled message m.
func appendProto(buf []byte, typ recordType, m proto.Message) ([]byte, error) {
	return appendRecord(buf, typ, func(b []byte) ([]byte, error) {
		return proto.MarshalOptions{}.MarshalAppend(b, m)
	})
}

// appendMetadata appends a metadata record.
func appendMetadata(buf []byte, md Metadata) []byte {
	buf, _ = appendRecord(buf, recMetadata, func(b []byte) ([]byte, error) {
		b = binary.LittleEndian.AppendUint64(b, md.MemberID)
		return binary.LittleEndian.AppendUint64(b, md.ClusterID), nil
	})
	return buf
}

// decodeMetadata decodes the payload of a metadata record.
func decodeMetadata(p []byte) (Metadata, error) {
	if len(p) != metadataSize {
		return Metadata{}, fmt.Errorf("metadata payload of %d bytes, want %d", len(p), metadataSize)
	}
	return Metadata{
		MemberID:  binary.LittleEndian.Uint64(p[0:8]),
		ClusterID: binary.LittleEndian.Uint64(p[8:16]),
	}, nil
}

// appendEntry appends a record holding entry e.
func appendEntry(buf []byte, e *raftpb.Entry) ([]byte, error) {
	return appendRecord(buf, recEntry, func(b []byte) ([]byte, error) {
		return raftwire.AppendEntry(b, e)
	})
}

// decodeEntry decodes the payload of an entry record.
func decodeEntry(p []byte) (*raftpb.Entry, error) {
	e, err := raftwire.UnmarshalEntry(p)
	if err != nil {
		return nil, fmt.Errorf("entry payload: %w", err)
	}
	if e.GetIndex() == 0 {
		return nil, errors.New("entry with index 0")
	}
	return e, nil
}

// decodeHardState decodes the payload of a hardstate record.
func decodeHardState(p []byte) (*raftpb.HardState, error) {
	hs := &raftpb.HardState{}
	if err := proto.Unmarshal(p, hs); err != nil {
		return nil, fmt.Errorf("hardstate payload: %w", err)
	}
	return hs, nil
}

// decodeSnapshot decodes the payload of a snapshot record.
func decodeSnapshot(p []byte) (*raftpb.SnapshotMetadata, error) {
	md := &raftpb.SnapshotMetadata{}
	if err := proto.Unmarshal(p, md); err != nil {
		return nil, fmt.Errorf("snapshot payload: %w", err)
	}
	return md, nil
}

// hasValidRecord reports whether any offset of buf starts a record that
// decodes with a good checksum. It tells a torn tail from damage that is
// followed by data.
func hasValidRecord(buf []byte) bool {
	for off := 0; off+headerSize <= len(buf); off++ {
		if _, _, err := decodeRecord(buf[off:]); err == nil {
			return true
		}
	}
	return false
}
