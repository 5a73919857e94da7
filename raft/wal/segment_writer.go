package wal

import (
	"fmt"
	"os"
	"path/filepath"

	"go.uber.org/zap"
)

// cut syncs and closes the current segment and starts the next one.
func (w *WAL) cut() error {
	if err := w.sync(); err != nil {
		return err
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	w.f = nil
	prev := w.segs[len(w.segs)-1]
	return w.startSegment(segment{seq: prev.seq + 1, firstIndex: w.lastIndex + 1})
}

// startSegment creates segment s with a header repeating the metadata, the
// latest snapshot marker and the latest HardState, and makes it current.
func (w *WAL) startSegment(s segment) error {
	header := appendMetadata(nil, w.md)
	var err error
	if w.snapshot != nil {
		if header, err = appendProto(header, recSnapshot, w.snapshot); err != nil {
			return err
		}
	}
	if w.hardState != nil {
		if header, err = appendProto(header, recHardState, w.hardState); err != nil {
			return err
		}
	}
	f, err := createSegmentFile(w.dir, s, header, w.segmentSize)
	if err != nil {
		return fmt.Errorf("wal: create segment %s: %w", s.name(), err)
	}
	w.syncs.Add(1)
	w.f, w.size = f, int64(len(header))
	w.resetZeros()
	w.segs = append(w.segs, s)
	return nil
}

// ReleaseTo removes the segments whose entries all have indexes at or below
// index, never the current segment and never past the latest snapshot
// marker, so a replay still finds the snapshot and the entries after it.
func (w *WAL) ReleaseTo(index uint64) error {
	index = min(index, w.snapshot.GetIndex())
	removed := 0
	for len(w.segs) > 1 && w.segs[1].firstIndex-1 <= index {
		if err := os.Remove(filepath.Join(w.dir, w.segs[0].name())); err != nil {
			return fmt.Errorf("wal: release segment %s: %w", w.segs[0].name(), err)
		}
		w.lg.Debug("wal: released segment", zap.String("segment", w.segs[0].name()))
		w.segs = w.segs[1:]
		removed++
	}
	if removed == 0 {
		return nil
	}
	return syncDir(w.dir)
}

// SegmentCount returns how many segment files the WAL holds.
func (w *WAL) SegmentCount() int { return len(w.segs) }

// Sync fsyncs the current segment. After a failed write or fsync it
// syncs nothing and returns an error wrapping ErrFailed.
func (w *WAL) Sync() error {
	if err := w.writable(); err != nil {
		return err
	}
	return w.sync()
}

// Close syncs and closes the WAL. After a failed write or fsync it closes
// the segment without syncing it: a second fsync could report success
// for pages the kernel dropped. Closing a closed WAL does nothing.
func (w *WAL) Close() error {
	if w.f == nil {
		return nil
	}
	var err error
	if w.failed == nil {
		err = w.sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f = nil
	return err
}
