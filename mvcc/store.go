package mvcc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/metastore/metastore/pluginapi/storage"
)

var (
	// ErrCompacted is returned for a read or compaction at a revision that
	// has been compacted.
	ErrCompacted = errors.New("mvcc: required revision has been compacted")
	// ErrFutureRev is returned for a read or compaction at a revision the
	// store has not reached.
	ErrFutureRev = errors.New("mvcc: required revision is a future revision")
)

// Engine namespaces.
const (
	nsKey  = "key"  // revision bytes -> mvccpb.KeyValue
	nsMeta = "meta" // compaction progress
)

// DefaultCacheBytes is the value cache's default bound. Reads of values the
// cache misses cost one engine GetMany per range (a memory-mapped read for
// the built-in bbolt engine), so the cache serves hot keys only and is kept
// small: memory a large store needs goes to its key index.
const DefaultCacheBytes = 16 << 20

// Config tunes a Store. Zero fields take their defaults.
type Config struct {
	// FlushInterval is the longest a change waits in the write buffer
	// before it is flushed to the engine. Default 100ms.
	FlushInterval time.Duration
	// FlushOps flushes the write buffer early once this many engine ops
	// are pending. Default 10000.
	FlushOps int
	// CacheBytes bounds the value cache, in bytes of values and their
	// entries. Default DefaultCacheBytes; negative disables the cache.
	CacheBytes int64
	// CompactionBatch is how many engine keys one compaction batch
	// examines; compaction releases the engine between batches. Default
	// 1000 (etcd's --compaction-batch-limit, which counts the same).
	CompactionBatch int
	// CompactionSleep is how long compaction pauses between batches, so
	// that the writes and reads it competes with for the engine and the
	// CPU keep their latency (etcd's --compaction-sleep-interval). Default
	// 10ms.
	CompactionSleep time.Duration
	// WatchBufferEvents bounds the events (and responses) each watch
	// stream buffers for its consumer; a watcher that finds its stream
	// full catches up from the store later. Default 4096.
	WatchBufferEvents int
	// NoSync flushes the write buffer without asking the engine to fsync
	// (--unsafe-no-fsync); an engine may sync anyway.
	NoSync bool
	// Tracer, when set, traces the flushes that write changes applied in
	// a traced span (TraceNextFlush). Nil traces nothing.
	Tracer trace.Tracer
}

func (c Config) withDefaults() Config {
	if c.FlushInterval <= 0 {
		c.FlushInterval = 100 * time.Millisecond
	}
	if c.FlushOps <= 0 {
		c.FlushOps = 10000
	}
	if c.CacheBytes == 0 {
		c.CacheBytes = DefaultCacheBytes
	}
	if c.CompactionBatch <= 0 {
		c.CompactionBatch = 1000
	}
	if c.CompactionSleep <= 0 {
		c.CompactionSleep = 10 * time.Millisecond
	}
	if c.WatchBufferEvents <= 0 {
		c.WatchBufferEvents = 4096
	}
	return c
}

// Store is the multi-version key-value store. Any number of goroutines may
// call Range, Rev and the other readers concurrently; writes (Write,
// SetConsistentIndex, Compact) come from one goroutine, the raft apply loop.
type Store struct {
	lg    *zap.Logger
	eng   storage.Engine
	cfg   Config
	index *treeIndex
	buf   *writeBuffer
	cache *valueCache
	hub   *watchHub

	// restoreMu is held for reading by every reader of the key space
	// (Range, Events, HashKV) and for writing by Restore, which replaces
	// it.
	restoreMu sync.RWMutex
	// writeMu is held by the TxnWrite in progress and by Compact.
	writeMu         sync.Mutex
	currentRev      atomic.Int64
	compactRev      atomic.Int64
	consistentIndex atomic.Uint64
	persistedIndex  atomic.Uint64

	// applySem admits one engine ApplyBatch at a time (flush or
	// compaction batch).
	applySem chan struct{}
	flushc   chan struct{}
	onCommit atomic.Pointer[func(time.Duration)]
	errMu    sync.Mutex
	err      error
	// flushFailures logs failed flushes; guarded by applySem.
	flushFailures retryLog

	compaction compactionQueue
	// compactHashes are the hashes the last compactions took.
	compactHashes compactionHashes
	// compactMu is held by the running compaction and by HashKV, which
	// must see the engine without revisions vanishing.
	compactMu sync.Mutex

	// flushTraces are the spans the next flush continues (TraceNextFlush),
	// guarded by flushTracesMu; used only when cfg.Tracer is set.
	flushTracesMu sync.Mutex
	flushTraces   []trace.SpanContext

	ctx       context.Context // canceled by Close
	cancel    context.CancelFunc
	stopc     chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// New returns a Store over eng, which the caller has opened; consistentIndex
// is what Open returned. New rebuilds the key index by scanning the engine,
// resumes a compaction a crash interrupted, and starts the flush loop. The
// Store never closes eng.
func New(lg *zap.Logger, eng storage.Engine, consistentIndex uint64, cfg Config) (*Store, error) {
	if lg == nil {
		lg = zap.NewNop()
	}
	cfg = cfg.withDefaults()
	s := &Store{
		lg:       lg,
		eng:      eng,
		cfg:      cfg,
		index:    newTreeIndex(),
		buf:      newWriteBuffer(consistentIndex),
		cache:    newValueCache(cfg.CacheBytes),
		applySem: make(chan struct{}, 1),
		flushc:   make(chan struct{}, 1),
		stopc:    make(chan struct{}),
	}
	s.hub = newWatchHub(lg.Named("watch"), s)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.compaction.init()
	s.consistentIndex.Store(consistentIndex)
	s.persistedIndex.Store(consistentIndex)

	scheduled, err := s.restore(s.ctx)
	if err != nil {
		s.cancel()
		return nil, err
	}
	s.wg.Add(3)
	go s.flushLoop()
	go s.compactLoop()
	go s.hub.syncLoop()
	if scheduled > s.compactRev.Load() {
		prev := s.compactRev.Swap(scheduled)
		s.compaction.push(compactJob{rev: scheduled, prev: prev, done: make(chan struct{}), noHash: true})
		lg.Info("resuming interrupted compaction", zap.Int64("compact-revision", scheduled))
	}
	return s, nil
}

// restore rebuilds the key index and revisions from the engine and returns
// the scheduled compaction revision.
func (s *Store) restore(ctx context.Context) (scheduled int64, err error) {
	finished, scheduled, err := s.readCompactionMeta(ctx)
	if err != nil {
		return 0, err
	}
	s.compactRev.Store(finished)
	last, err := rebuildIndex(ctx, s.eng, s.index)
	if err != nil {
		return 0, fmt.Errorf("mvcc: rebuilding the key index: %w", err)
	}
	// Compaction may have removed the newest revisions (tombstones), so the
	// store is at least at the compaction revision.
	s.currentRev.Store(max(1, last, finished, scheduled))
	s.lg.Info("restored key index",
		zap.Int64("current-revision", s.currentRev.Load()),
		zap.Int64("compact-revision", finished),
		zap.Int("keys", s.index.len()))
	return scheduled, nil
}

// Rev returns the current revision; an empty store is at 1.
func (s *Store) Rev() int64 { return s.currentRev.Load() }

// CompactRev returns the last compacted revision, -1 if never compacted
// (as etcd: a compaction at revision 0 makes it 0).
func (s *Store) CompactRev() int64 { return s.compactRev.Load() }

// ConsistentIndex returns the last raft index applied (given to Write,
// SetConsistentIndex or Compact).
func (s *Store) ConsistentIndex() uint64 { return s.consistentIndex.Load() }

// PersistedIndex returns the last consistent index durably flushed to the
// engine.
func (s *Store) PersistedIndex() uint64 { return s.persistedIndex.Load() }

// SetConsistentIndex records an applied raft entry that did not touch the
// key space. Indexes never go back: a lower index is ignored.
func (s *Store) SetConsistentIndex(index uint64) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.recordIndex(index)
}

// recordIndex notes index as applied; the caller holds writeMu.
func (s *Store) recordIndex(index uint64) {
	if index <= s.consistentIndex.Load() {
		return
	}
	s.buf.setIndex(index)
	s.consistentIndex.Store(index)
}

// Close stops the flush loop and any running compaction (a later New
// resumes it), then flushes the write buffer a last time and returns that
// flush's error. It does not close the engine. Calling Close twice is
// allowed; no other method may be called after Close.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.cancel()
		close(s.stopc)
		s.wg.Wait()
		s.compaction.abandon()
		err = s.flush(context.Background())
	})
	return err
}
