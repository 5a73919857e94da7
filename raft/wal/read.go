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
		if !last || !isTornCause(cause) || hasValidRecord(data[off:]) {
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

// isTornCause reports whether a record failing with err may be the partial
// result of an interrupted write, as opposed to a record that was written
// whole and holds a payload that does not decode.
func isTornCause(err error) bool {
	return errors.Is(err, errShortRecord) || errors.Is(err, errBadCRC) ||
		errors.Is(err, errBadLength) || errors.Is(err, errBadType)
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
