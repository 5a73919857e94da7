package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.uber.org/zap"
)

// tornTail locates a torn tail found while reading: the last segment is
// valid up to offset and damaged after it.
type tornTail struct {
	seg    segment
	offset int64
	size   int64
	cause  error
}

// readLog replays every segment of dir. It returns the replayed state and,
// when the last segment ends in a torn record, where to cut it. Damage
// anywhere else is an error wrapping ErrCorrupt.
func readLog(dir string, segs []segment) (*State, *tornTail, int64, error) {
	var (
		r    replay
		torn *tornTail
		size int64
	)
	for i, s := range segs {
		data, err := os.ReadFile(filepath.Join(dir, s.name()))
		if err != nil {
			return nil, nil, 0, err
		}
		off, cause := replaySegment(&r, data)
		size = int64(off)
		if cause == nil {
			continue
		}
		last := i == len(segs)-1
		if !last || !isTorn(data, off, cause) || hasValidRecord(data[off:]) {
			return nil, nil, 0, fmt.Errorf("%w record at segment %s offset %d: %w", ErrCorrupt, s.name(), off, cause)
		}
		torn = &tornTail{seg: s, offset: int64(off), size: size, cause: cause}
		size = int64(off)
	}
	st, err := r.finish()
	if err != nil {
		return nil, nil, 0, err
	}
	return st, torn, size, nil
}

// sectorSize is the unit a disk writes whole or not at all, as etcd's WAL
// assumes: a torn write leaves whole sectors as they were.
const sectorSize = 512

// isTorn reports whether the record at off, failing with cause, may be the
// partial result of an interrupted write, as opposed to a record written
// whole and damaged since. Bytes ending inside the record, or a length no
// record has, look torn. A record whose checksum or type is wrong looks
// torn only if its header, or a piece of its payload cut at the sectors it
// spans, is still all zeros (preallocated space a later sector's write
// went past), as etcd's decoder decides: a flipped bit in a record written
// whole is corruption, never cut away as a torn tail.
func isTorn(data []byte, off int, cause error) bool {
	switch {
	case errors.Is(cause, errShortRecord), errors.Is(cause, errBadLength):
		return true
	case errors.Is(cause, errBadCRC), errors.Is(cause, errBadType):
		start := off + headerSize
		end := start + int(binary.LittleEndian.Uint32(data[off:]))
		return allZero(data[off:start]) || hasZeroSector(data, start, min(end, len(data)))
	default:
		return false
	}
}

// hasZeroSector reports whether data[start:end], cut at sector boundaries
// of the file, has a piece that is all zeros.
func hasZeroSector(data []byte, start, end int) bool {
	for start < end {
		next := min((start/sectorSize+1)*sectorSize, end)
		if allZero(data[start:next]) {
			return true
		}
		start = next
	}
	return false
}

// replaySegment folds the records of one segment into r. It returns the
// offset where decoding stopped and why, or a nil error at the end of the
// records: the end of data, or the zeros of a preallocated segment after
// its last record.
func replaySegment(r *replay, data []byte) (int, error) {
	off := 0
	for off < len(data) {
		rec, n, err := decodeRecord(data[off:])
		if err != nil {
			if allZero(data[off:]) {
				return off, nil
			}
			return off, err
		}
		if err := r.apply(rec); err != nil {
			return off, err
		}
		off += n
	}
	return off, nil
}

// allZero reports whether b holds zeros only: space preallocated and never
// written (a record is never all zeros: zero is no record type).
func allZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// repairTail truncates the torn tail away and syncs the segment.
func repairTail(lg *zap.Logger, dir string, t *tornTail) error {
	lg.Warn("wal: truncating torn tail",
		zap.String("segment", t.seg.name()),
		zap.Int64("offset", t.offset),
		zap.Int64("dropped-bytes", t.size-t.offset),
		zap.NamedError("cause", t.cause))
	f, err := os.OpenFile(filepath.Join(dir, t.seg.name()), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	err = f.Truncate(t.offset)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return syncDir(dir)
}
