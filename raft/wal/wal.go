package wal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
)

// DefaultSegmentSize is the size past which a new segment is cut.
const DefaultSegmentSize = 64 << 20

var (
	// ErrCorrupt marks a WAL that cannot be read without losing data.
	ErrCorrupt = errors.New("wal: corrupt")
	// ErrNotExist is returned by Open when dir holds no segment.
	ErrNotExist = errors.New("wal: does not exist")
	// ErrExist is returned by Create when dir already holds segments.
	ErrExist = errors.New("wal: already exists")
	// ErrClosed is returned by writes after Close.
	ErrClosed = errors.New("wal: closed")
	// ErrFailed is wrapped, with the first failure, by every write, sync
	// and save after a write or fsync of the WAL failed.
	ErrFailed = errors.New("wal: an earlier write or sync failed")
)

// Options tune a WAL. The zero value is usable.
type Options struct {
	// Logger receives repair warnings; nil means zap.NewNop().
	Logger *zap.Logger
	// SegmentSize is the size past which a new segment is cut;
	// 0 means DefaultSegmentSize.
	SegmentSize int64
	// UnsafeNoFsync skips the fsync of every write (--unsafe-no-fsync):
	// a crash of the machine may then lose what the WAL acknowledged.
	UnsafeNoFsync bool
}

// WAL appends raft state to segment files. Its methods must be called from
// one goroutine at a time, except SyncCount, which is safe anywhere.
type WAL struct {
	lg          *zap.Logger
	dir         string
	segmentSize int64
	md          Metadata
	noFsync     bool

	f    *os.File  // the last segment, open for appending
	size int64     // bytes in f
	segs []segment // live segments, oldest first; the last one is f

	lastIndex uint64                   // index of the last entry written
	hardState *raftpb.HardState        // latest HardState written
	snapshot  *raftpb.SnapshotMetadata // latest snapshot marker written

	// failed is the first error of a write or fsync of f. Once it is set
	// the WAL writes and syncs nothing more, and Close does not sync.
	// A failed fsync must never be retried: the kernel may have dropped
	// the dirty pages that failed and marked them clean, so a second
	// fsync can succeed with the data never on disk (Linux reports a
	// writeback error once per open file). Such a WAL cannot be trusted;
	// its owner stops, as etcd does, and replays what is on disk.
	failed error
	// syncFile makes a segment's data durable: syncData, or a fake in
	// tests.
	syncFile func(*os.File) error

	// zeroed is the offset in the current segment below which its blocks
	// are written ones: records, or zeros written ahead of them.
	zeroed int64
	// noZeros stops zeroAhead for the current segment: after a failure,
	// without fsyncs, or where the platform writes none.
	noZeros bool

	buf   []byte
	syncs atomic.Uint64
	// onSync, when set, is told how long each fsync took.
	onSync atomic.Pointer[func(time.Duration)]
	// onWrite, when set, is told the bytes and duration of each write.
	onWrite atomic.Pointer[func(int, time.Duration)]
}

// Exist reports whether dir holds a WAL.
func Exist(dir string) (bool, error) {
	segs, err := listSegments(dir)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return len(segs) > 0, err
}

// Create makes dir (if needed) and starts a new WAL in it owned by md.
func Create(dir string, md Metadata, opts Options) (*WAL, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if ok, err := Exist(dir); err != nil || ok {
		return nil, errors.Join(err, fmt.Errorf("%w in %s", ErrExist, dir))
	}
	if err := removeTempFiles(dir); err != nil {
		return nil, err
	}
	w := newWAL(dir, md, opts)
	if err := w.startSegment(segment{seq: 1, firstIndex: 1}); err != nil {
		return nil, err
	}
	return w, nil
}

// Open replays the WAL in dir, truncates a torn tail (see the package doc)
// and returns the WAL ready to append after its last record, with the state
// it holds. It returns an error wrapping ErrNotExist if dir holds no WAL and
// one wrapping ErrCorrupt if the WAL is damaged.
func Open(dir string, opts Options) (*WAL, *State, error) {
	segs, err := listSegments(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	if len(segs) == 0 {
		return nil, nil, fmt.Errorf("%w in %s", ErrNotExist, dir)
	}
	st, torn, size, err := readLog(dir, segs)
	if err != nil {
		return nil, nil, err
	}
	w := newWAL(dir, st.Metadata, opts)
	if torn != nil {
		if err := repairTail(w.lg, dir, torn); err != nil {
			return nil, nil, err
		}
	}
	if err := removeTempFiles(dir); err != nil {
		return nil, nil, err
	}
	last := segs[len(segs)-1]
	// Not O_APPEND: a preallocated segment is longer than its records, and
	// the next record goes right after the last one.
	f, err := os.OpenFile(filepath.Join(dir, last.name()), os.O_WRONLY, 0)
	if err != nil {
		return nil, nil, err
	}
	if _, err := f.Seek(size, io.SeekStart); err != nil {
		f.Close()
		return nil, nil, err
	}
	w.f, w.size, w.segs = f, size, segs
	w.resetZeros()
	w.lastIndex, w.hardState, w.snapshot = st.LastIndex(), st.HardState, st.Snapshot
	return w, st, nil
}

func newWAL(dir string, md Metadata, opts Options) *WAL {
	w := &WAL{lg: opts.Logger, dir: dir, segmentSize: opts.SegmentSize, md: md, noFsync: opts.UnsafeNoFsync,
		syncFile: syncData}
	if w.lg == nil {
		w.lg = zap.NewNop()
	}
	if w.segmentSize <= 0 {
		w.segmentSize = DefaultSegmentSize
	}
	return w
}

// Metadata returns the metadata the WAL was created with.
func (w *WAL) Metadata() Metadata { return w.md }

// SyncCount returns how many times the WAL has fsynced a segment.
func (w *WAL) SyncCount() uint64 { return w.syncs.Load() }

// SetSyncObserver makes f receive the duration of every later fsync, on
// the writing goroutine, so f must be quick; nil removes it. It is safe to
// call at any time.
func (w *WAL) SetSyncObserver(f func(time.Duration)) {
	if f == nil {
		w.onSync.Store(nil)
		return
	}
	w.onSync.Store(&f)
}

// SetWriteObserver makes f receive the size and duration of every later
// write of records to a segment (the write alone, not its fsync), on the
// writing goroutine, so f must be quick; nil removes it. It is safe to
// call at any time.
func (w *WAL) SetWriteObserver(f func(bytes int, took time.Duration)) {
	if f == nil {
		w.onWrite.Store(nil)
		return
	}
	w.onWrite.Store(&f)
}

// Save appends ents and then hs (if not empty) in one write, and fsyncs once
// if sync is true. Entries go first so that a torn write never keeps a
// HardState whose commit index points at lost entries. Save cuts a new
// segment when the current one is full.
func (w *WAL) Save(hs *raftpb.HardState, ents []*raftpb.Entry, sync bool) error {
	if err := w.writable(); err != nil {
		return err
	}
	buf := w.buf[:0]
	var err error
	for _, e := range ents {
		if buf, err = appendEntry(buf, e); err != nil {
			return err
		}
	}
	if hs != nil && (hs.GetTerm() != 0 || hs.GetVote() != 0 || hs.GetCommit() != 0) {
		if buf, err = appendProto(buf, recHardState, hs); err != nil {
			return err
		}
		w.hardState = proto.Clone(hs).(*raftpb.HardState)
	}
	if n := len(ents); n > 0 {
		w.lastIndex = ents[n-1].GetIndex()
	}
	w.buf = buf
	if err := w.write(buf, sync); err != nil {
		return err
	}
	if w.size >= w.segmentSize {
		return w.cut()
	}
	return nil
}

// SaveSnapshot durably appends a snapshot marker. Entries at or below its
// index are dropped on the next replay.
func (w *WAL) SaveSnapshot(md *raftpb.SnapshotMetadata) error {
	if err := w.writable(); err != nil {
		return err
	}
	buf, err := appendProto(w.buf[:0], recSnapshot, md)
	if err != nil {
		return err
	}
	w.buf = buf
	if err := w.write(buf, true); err != nil {
		return err
	}
	w.snapshot = proto.Clone(md).(*raftpb.SnapshotMetadata)
	w.lastIndex = max(w.lastIndex, md.GetIndex())
	return nil
}

func (w *WAL) write(buf []byte, sync bool) error {
	if len(buf) == 0 {
		return nil
	}
	start := time.Now()
	n, err := w.f.Write(buf)
	if f := w.onWrite.Load(); f != nil {
		(*f)(n, time.Since(start))
	}
	w.size += int64(n)
	if err != nil {
		w.failed = fmt.Errorf("wal: write segment %s: %w", w.segs[len(w.segs)-1].name(), err)
		return w.failed
	}
	if sync {
		if err := w.sync(); err != nil {
			return err
		}
	}
	w.zeroAhead()
	return nil
}

// zeroAheadBytes is how far zeroAhead keeps the written blocks ahead of
// the next record, and what it writes at once when they fall short.
const zeroAheadBytes = 1 << 20

// zeroAhead keeps the blocks of the next zeroAheadBytes of the segment
// written (see writeZeros). On this project's ext4 test machine
// (BenchmarkSyncAfterAppend, 2,000 appends of 6 KB) an append and its
// fdatasync took 180 µs and 90 µs of CPU in a preallocated file, 131 µs
// and 55 µs in a zeroed one; in a member under txn-put
// (100 clients) the WAL's fsyncs took 485 µs on average, against 649 to
// 669 µs before. It runs after the fsync of the records before it, so
// that fsync does not write the zeros. It is best effort: a failed write of
// zeros stops it for this segment, and an I/O error it caused is the next
// fsync's to report. Without fsyncs (UnsafeNoFsync) it does nothing.
func (w *WAL) zeroAhead() {
	start := max(w.zeroed, w.size)
	n := min(int64(zeroAheadBytes), w.segmentSize-start)
	if w.noZeros || w.zeroed-w.size >= zeroAheadBytes/2 || n <= 0 {
		return
	}
	if err := writeZeros(w.f, start, n); err != nil {
		w.lg.Warn("wal: writing zeros ahead of the records", zap.Error(err))
		w.noZeros = true
		return
	}
	w.zeroed = start + n
}

// resetZeros starts zeroAhead over for a segment just opened or created:
// only what it holds up to w.size is known written.
func (w *WAL) resetZeros() {
	w.zeroed, w.noZeros = w.size, w.noFsync || !writesZeros
}

func (w *WAL) sync() error {
	if w.noFsync {
		return nil
	}
	start := time.Now()
	err := w.syncFile(w.f)
	if f := w.onSync.Load(); f != nil {
		(*f)(time.Since(start))
	}
	if err != nil {
		w.failed = fmt.Errorf("wal: sync segment %s: %w", w.segs[len(w.segs)-1].name(), err)
		return w.failed
	}
	w.syncs.Add(1)
	return nil
}

// writable returns ErrClosed after Close, an error wrapping ErrFailed and
// the first failure after a write or fsync failed, else nil.
func (w *WAL) writable() error {
	if w.f == nil {
		return ErrClosed
	}
	if w.failed != nil {
		return fmt.Errorf("%w: %w", ErrFailed, w.failed)
	}
	return nil
}
