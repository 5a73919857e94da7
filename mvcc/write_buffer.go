package mvcc

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/metastore/metastore/pluginapi/storage"
)

// batch is a run of engine writes that is not yet durable.
type batch struct {
	ops    []storage.Op
	values map[revision][]byte // the values of the puts in ops
	index  uint64              // the consistent index after ops
}

// writeBuffer holds changes between End and their flush to the engine. It
// has two parts: pending, which End appends to, and flushing, which a flush
// is writing (or failed to write and will retry). Both stay readable until
// the engine has the data.
type writeBuffer struct {
	mu       sync.RWMutex
	pending  batch
	flushing batch
}

func newWriteBuffer(index uint64) *writeBuffer {
	return &writeBuffer{
		pending:  batch{values: make(map[revision][]byte), index: index},
		flushing: batch{values: make(map[revision][]byte), index: index},
	}
}

// fill sets kvs[i].Value, for each i of idx, to the buffered value of
// metas[i]'s revision, and returns rest with the indexes it holds no value
// for appended, under one hold of the lock.
func (b *writeBuffer) fill(metas []keyMeta, kvs []*mvccpb.KeyValue, idx, rest []int) []int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if len(b.pending.values) == 0 && len(b.flushing.values) == 0 {
		return append(rest, idx...)
	}
	for _, i := range idx {
		if v, ok := b.pending.values[metas[i].mod]; ok {
			kvs[i].Value = v
		} else if v, ok := b.flushing.values[metas[i].mod]; ok {
			kvs[i].Value = v
		} else {
			rest = append(rest, i)
		}
	}
	return rest
}

// revValue is the value a put wrote at a revision.
type revValue struct {
	rev   revision
	value []byte
}

// append adds ops, the values of their puts and the consistent index they
// bring the store to; it returns how many ops are pending.
func (b *writeBuffer) append(ops []storage.Op, values []revValue, index uint64) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending.ops = append(b.pending.ops, ops...)
	for _, v := range values {
		b.pending.values[v.rev] = v.value
	}
	b.pending.index = max(b.pending.index, index)
	return len(b.pending.ops)
}

// setIndex records an applied index that brought no ops.
func (b *writeBuffer) setIndex(index uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending.index = max(b.pending.index, index)
}

// take moves pending behind whatever flushing still holds and returns what
// flushing now holds. Only the flusher (holding Store.applySem) calls it
// or changes flushing, so the flusher may read what take returns without
// the lock until finish.
func (b *writeBuffer) take() batch {
	b.mu.Lock()
	defer b.mu.Unlock()
	index := max(b.flushing.index, b.pending.index)
	if len(b.flushing.ops) == 0 {
		b.flushing = b.pending
	} else {
		b.flushing.ops = append(b.flushing.ops, b.pending.ops...)
		for rev, v := range b.pending.values {
			b.flushing.values[rev] = v
		}
	}
	b.flushing.index = index
	b.pending = batch{values: make(map[revision][]byte), index: index}
	return b.flushing
}

// finish drops flushing once the engine holds it. The flusher first copies
// its values to the value cache, so a reader always finds a value in one
// of the buffer, the cache (unless evicted) or the engine.
func (b *writeBuffer) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushing = batch{values: make(map[revision][]byte), index: b.flushing.index}
}

// flushLoop flushes the write buffer every FlushInterval and whenever End
// finds FlushOps ops pending, until the store closes.
func (s *Store) flushLoop() {
	defer s.wg.Done()
	ticker := time.NewTicker(s.cfg.FlushInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
		case <-s.flushc:
		case <-s.stopc:
			return
		}
		_ = s.flush(s.ctx) // logged and kept in Err; retried next time
	}
}

// kickFlush asks the flush loop to flush now.
func (s *Store) kickFlush() {
	select {
	case s.flushc <- struct{}{}:
	default:
	}
}

// flush writes the write buffer to the engine as one synced batch with the
// consistent index. Engine writes never overlap: flushes and compaction
// batches take applySem.
func (s *Store) flush(ctx context.Context) (err error) {
	select {
	case s.applySem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.applySem }()

	b := s.buf.take()
	if len(b.ops) == 0 && b.index <= s.persistedIndex.Load() {
		return nil
	}
	req := storage.ApplyBatchRequest{Ops: b.ops, ConsistentIndex: b.index, Sync: !s.cfg.NoSync}
	if s.cfg.Tracer != nil {
		var end func(error)
		ctx, end = s.traceFlush(ctx, len(b.ops), b.index)
		defer func() { end(err) }()
	}
	start := time.Now()
	_, err = s.eng.ApplyBatch(ctx, req)
	if f := s.onCommit.Load(); f != nil && err == nil {
		(*f)(time.Since(start))
	}
	if err != nil {
		err = fmt.Errorf("mvcc: flush of %d ops at consistent index %d: %w", len(b.ops), b.index, err)
		if ctx.Err() == nil {
			s.setErr(err)
			s.flushFailures.failed(s.lg.Error, "flushing the write buffer failed; will retry", err)
		}
		return err
	}
	s.cache.addAll(b.values)
	s.buf.finish()
	s.persistedIndex.Store(b.index)
	s.setErr(nil)
	s.flushFailures.succeeded(s.lg, "flushing the write buffer succeeded again")
	return nil
}

// Flush writes every change applied so far to the engine, synced, before
// it returns. It returns the engine's error, or ctx's if ctx ends first.
func (s *Store) Flush(ctx context.Context) error { return s.flush(ctx) }

// Err returns the error of the last flush when it failed, nil once a flush
// succeeds. The failed changes stay buffered (and readable) and are retried.
func (s *Store) Err() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.err
}

func (s *Store) setErr(err error) {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	s.err = err
}
