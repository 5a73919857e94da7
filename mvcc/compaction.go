package mvcc

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/metastore/metastore/pluginapi/storage"
)

// Keys of the meta namespace, as etcd names them; values are 8-byte
// big-endian revisions.
var (
	scheduledCompactKey = []byte("scheduledCompactRev")
	finishedCompactKey  = []byte("finishedCompactRev")
)

// compactJob is one queued compaction, or a barrier that only waits for
// the jobs before it.
type compactJob struct {
	rev, prev int64
	barrier   bool
	done      chan struct{}
	// noHash skips recording the compaction hash: the compaction before
	// this one did not finish, so what it hashes differs between members.
	noHash bool
}

// compactionQueue is the FIFO of compactions the compaction loop runs one
// at a time.
type compactionQueue struct {
	mu   sync.Mutex
	jobs []compactJob
	wake chan struct{}
}

func (q *compactionQueue) init() { q.wake = make(chan struct{}, 1) }

func (q *compactionQueue) push(j compactJob) {
	q.mu.Lock()
	q.jobs = append(q.jobs, j)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *compactionQueue) pop() (compactJob, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.jobs) == 0 {
		return compactJob{}, false
	}
	j := q.jobs[0]
	q.jobs = q.jobs[1:]
	return j, true
}

// abandon closes the channels of the jobs left when the store closes.
func (q *compactionQueue) abandon() {
	for j, ok := q.pop(); ok; j, ok = q.pop() {
		close(j.done)
	}
}

// Compact compacts the store at rev as raft entry index: reads before rev
// fail with ErrCompacted from now on, and the revisions no read at rev or
// later needs are deleted from the engine in the background, in batches.
// The returned channel closes when that deletion is done and durable (or
// the store closed, or it failed: see Err).
//
// Compact returns ErrCompacted if rev <= CompactRev, with a channel that
// closes once the compactions already queued are done, and ErrFutureRev if
// rev > Rev. The raft index is recorded as applied in every case.
//
// As in etcd, a store never compacted (CompactRev -1) accepts a compaction
// at revision 0: it removes nothing, but from then on CompactRev is 0 and
// the hash it took answers HashKV at revision 0 (see HashKV).
func (s *Store) Compact(index uint64, rev int64) (<-chan struct{}, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	defer s.recordIndex(index)
	if rev <= s.compactRev.Load() {
		done := make(chan struct{})
		s.compaction.push(compactJob{barrier: true, done: done})
		return done, ErrCompacted
	}
	if rev > s.currentRev.Load() {
		return nil, ErrFutureRev
	}
	prev := s.compactRev.Swap(rev)
	meta := storage.Op{Kind: storage.OpPut, Namespace: nsMeta, Key: scheduledCompactKey, Value: encodeRev(rev)}
	s.buf.append([]storage.Op{meta}, nil, index)
	done := make(chan struct{})
	s.compaction.push(compactJob{rev: rev, prev: prev, done: done})
	return done, nil
}

// compactLoop runs queued compactions until the store closes.
func (s *Store) compactLoop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.compaction.wake:
		case <-s.stopc:
			return
		}
		for j, ok := s.compaction.pop(); ok; j, ok = s.compaction.pop() {
			s.runCompaction(j)
			if s.ctx.Err() != nil {
				return
			}
		}
	}
}

// runCompaction compacts the key index, makes every revision up to the job's
// one durable, then deletes what the index no longer needs.
func (s *Store) runCompaction(j compactJob) {
	defer close(j.done)
	if j.barrier {
		return
	}
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	keep := s.index.compact(j.rev)
	// The same rule as HashKV's, so that a member that has not run this
	// compaction yet answers HashKV at j.rev with the same hash.
	h := newKVHasher(j.prev, j.rev, keep)
	err := s.flush(s.ctx)
	if err == nil {
		var deleted, batches int
		deleted, batches, err = s.deleteCompacted(s.ctx, j.rev, keep, h)
		if h.err != nil {
			s.lg.Warn("compaction could not hash what it compacted", zap.Error(h.err))
			j.noHash = true
		}
		s.lg.Info("finished compaction", zap.Int64("compact-revision", j.rev),
			zap.Int("deleted-revisions", deleted), zap.Int("batches", batches), zap.Uint32("hash", h.hash.Sum32()))
	}
	if err == nil && !j.noHash {
		s.compactHashes.add(KeyValueHash{Hash: h.hash.Sum32(), CompactRevision: j.prev, Revision: j.rev})
	}
	if err != nil && s.ctx.Err() == nil {
		err = fmt.Errorf("mvcc: compaction at revision %d: %w", j.rev, err)
		s.lg.Error("compaction failed", zap.Error(err))
		s.setErr(err)
	}
}

// deleteCompacted deletes from the engine every revision up to rev not in
// keep, CompactionBatch keys at a time with CompactionSleep between
// batches, and records rev as finished with the last batch, synced. It hashes every record it reads with h.
func (s *Store) deleteCompacted(ctx context.Context, rev int64, keep map[revision]struct{}, h *kvHasher) (deleted, batches int, err error) {
	start := revBytes(revision{}, false)
	end := revBytes(revision{main: rev + 1}, false)
	for {
		var dels [][]byte
		var revs []revision
		var last []byte
		seen := 0
		req := storage.ScanRequest{Namespace: nsKey, Start: start, End: end, Limit: int64(s.cfg.CompactionBatch)}
		scanErr := s.eng.Scan(ctx, req, func(e storage.KeyValue) bool {
			seen++
			h.write(e.Key, e.Value)
			last = append(last[:0], e.Key...)
			r, _, err := parseRevBytes(e.Key)
			if _, ok := keep[r]; err == nil && !ok {
				dels = append(dels, bytes.Clone(e.Key))
				revs = append(revs, r)
			}
			return true
		})
		if scanErr != nil {
			return deleted, batches, scanErr
		}
		finished := seen < s.cfg.CompactionBatch
		if err := s.applyCompactionBatch(ctx, dels, rev, finished); err != nil {
			return deleted, batches, err
		}
		batches++
		s.cache.remove(revs)
		deleted += len(dels)
		if finished {
			return deleted, batches, nil
		}
		start = append(last, 0) // the next key after last
		select {
		case <-time.After(s.cfg.CompactionSleep):
		case <-ctx.Done():
			return deleted, batches, ctx.Err()
		}
	}
}

// applyCompactionBatch deletes keys, and when finished records rev as the
// finished compaction, durably.
func (s *Store) applyCompactionBatch(ctx context.Context, keys [][]byte, rev int64, finished bool) error {
	ops := make([]storage.Op, 0, len(keys)+1)
	for _, k := range keys {
		ops = append(ops, storage.Op{Kind: storage.OpDelete, Namespace: nsKey, Key: k})
	}
	if finished {
		ops = append(ops, storage.Op{Kind: storage.OpPut, Namespace: nsMeta, Key: finishedCompactKey, Value: encodeRev(rev)})
	}
	if len(ops) == 0 {
		return nil
	}
	select {
	case s.applySem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.applySem }()
	_, err := s.eng.ApplyBatch(ctx, storage.ApplyBatchRequest{Ops: ops, Sync: finished})
	return err
}

// readCompactionMeta reads the finished and scheduled compaction revisions,
// -1 for one never recorded.
func (s *Store) readCompactionMeta(ctx context.Context) (finished, scheduled int64, err error) {
	req := storage.GetManyRequest{Namespace: nsMeta, Keys: [][]byte{finishedCompactKey, scheduledCompactKey}}
	resp, err := s.eng.GetMany(ctx, req)
	if err != nil {
		return 0, 0, fmt.Errorf("mvcc: reading compaction revisions: %w", err)
	}
	if len(resp.Values) != 2 || len(resp.Found) != 2 {
		return 0, 0, fmt.Errorf("mvcc: engine answered %d of 2 compaction revisions", len(resp.Values))
	}
	revs := [2]int64{-1, -1}
	for i := range revs {
		if !resp.Found[i] {
			continue
		}
		if len(resp.Values[i]) != 8 {
			return 0, 0, fmt.Errorf("%w: compaction revision %q of %d bytes",
				storage.ErrCorrupt, req.Keys[i], len(resp.Values[i]))
		}
		revs[i] = int64(binary.BigEndian.Uint64(resp.Values[i]))
	}
	return revs[0], revs[1], nil
}

func encodeRev(rev int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(rev)) }
