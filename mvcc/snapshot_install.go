package mvcc

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"
)

// ErrRestoreBehind is returned by Restore when the state installed in the
// engine is older than what the store has already applied.
var ErrRestoreBehind = errors.New("mvcc: restored state is older than the applied state")

// Restore replaces the store's whole state with new engine content, as a
// member does when it installs a snapshot from the raft leader. replace
// writes that content into the engine (Engine.Restore) and returns its
// consistent index; it runs while no read, write, flush or compaction
// touches the engine. Restore then discards the write buffer and the value
// cache, rebuilds the key index and revisions from the engine, resumes a
// compaction the snapshot had scheduled, and moves every up-to-date watcher
// back to catching up from its next revision, so that it receives the
// events the snapshot skipped over (or a compaction notice if they are
// gone).
//
// Readers wait while Restore runs; the watchers and the Store value stay
// the same. Restore is called from the apply goroutine, like Write. It
// returns replace's error, or ErrRestoreBehind if the new content is older
// than what the store had applied; either way the engine may hold partial
// content and the store must not be used further (the member stops and
// recovers at its next start).
func (s *Store) Restore(ctx context.Context, replace func(context.Context) (consistentIndex uint64, err error)) error {
	s.restoreMu.Lock()
	defer s.restoreMu.Unlock()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	// The running compaction finishes on the old state; queued ones are
	// moot, the snapshot carries its own compaction progress.
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	s.compaction.abandon()
	select {
	case s.applySem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.applySem }()

	oldRev, oldIndex := s.currentRev.Load(), s.consistentIndex.Load()
	index, err := replace(ctx)
	if err != nil {
		return fmt.Errorf("mvcc: installing a snapshot: %w", err)
	}
	if index < oldIndex {
		return fmt.Errorf("%w: consistent index %d, applied %d", ErrRestoreBehind, index, oldIndex)
	}

	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.buf.reset(index)
	s.cache.clear()
	s.index.reset()
	s.consistentIndex.Store(index)
	s.persistedIndex.Store(index)
	scheduled, err := s.restore(ctx)
	if err != nil {
		return err
	}
	if scheduled > s.compactRev.Load() {
		prev := s.compactRev.Swap(scheduled)
		s.compaction.push(compactJob{rev: scheduled, prev: prev, done: make(chan struct{})})
	}
	moved := s.hub.unsyncAll()
	s.lg.Info("installed a snapshot",
		zap.Uint64("consistent-index", index), zap.Uint64("previous-consistent-index", oldIndex),
		zap.Int64("revision", s.currentRev.Load()), zap.Int64("previous-revision", oldRev),
		zap.Int("watchers-catching-up", moved))
	return nil
}

// unsyncAll moves every synced watcher to catch up from its next revision
// and wakes the catch-up loop; it returns how many moved. The caller holds
// h.mu.
func (h *watchHub) unsyncAll() int {
	n := 0
	for w := range h.synced.watchers {
		h.unsynced.add(w)
		n++
	}
	h.synced = newWatchGroup()
	if n > 0 || h.unsynced.size() > 0 {
		h.kick()
	}
	return n
}

// reset empties the buffer; its changes are superseded.
func (b *writeBuffer) reset(index uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending = batch{values: make(map[revision][]byte), index: index}
	b.flushing = batch{values: make(map[revision][]byte), index: index}
}

// reset empties the index.
func (ti *treeIndex) reset() {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	ti.tree = newKeyTree()
}
