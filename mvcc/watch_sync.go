package mvcc

import (
	"context"
	"errors"
	"time"
)

// watchSyncInterval is how often the catch-up loop runs when nothing wakes
// it, as etcd's resync period.
const watchSyncInterval = 100 * time.Millisecond

// syncLoop catches unsynced watchers up until the store closes. It runs
// when a watcher falls behind or a full stream drains, and every
// watchSyncInterval.
func (h *watchHub) syncLoop() {
	defer h.s.wg.Done()
	ticker := time.NewTicker(watchSyncInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
		case <-h.kickc:
		case <-h.s.stopc:
			return
		}
		for h.syncOnce(h.s.ctx) {
			if h.s.ctx.Err() != nil {
				return
			}
		}
	}
}

// syncOnce runs one catch-up round: it picks unsynced watchers whose
// streams have room, reads the history they miss without holding the hub's
// lock, and queues each its next batch. It reports whether another round
// should follow at once.
func (h *watchHub) syncOnce(ctx context.Context) (more bool) {
	h.mu.Lock()
	cur := h.s.currentRev.Load()
	chosen, compacted := h.choose(h.s.compactRev.Load())
	h.mu.Unlock()
	if len(chosen) == 0 {
		return compacted
	}
	minRev := cur + 1
	for _, w := range chosen {
		minRev = min(minRev, w.minRev)
	}
	batches, readTo, err := h.readHistory(ctx, chosen, minRev, cur)
	if err != nil {
		if errors.Is(err, ErrCompacted) {
			return true // the next round sends the compaction notices
		}
		if ctx.Err() == nil {
			h.readFailures.failed(h.lg.Warn, "reading watch history failed; will retry", err)
		}
		return false
	}
	h.readFailures.succeeded(h.lg, "reading watch history succeeded again")

	h.mu.Lock()
	defer h.mu.Unlock()
	progressed := compacted
	for _, w := range chosen {
		if !h.unsynced.has(w) {
			continue // canceled meanwhile
		}
		next := readTo + 1
		if b := batches[w]; b != nil {
			if b.moreRev != 0 {
				next = b.moreRev
			}
			if !w.deliver(b.evs, cur) {
				continue // no room after all: retry once the stream drains
			}
		}
		progressed = true
		w.minRev = next
		if next > h.s.currentRev.Load() {
			h.unsynced.delete(w)
			h.synced.add(w)
		}
	}
	return progressed && h.unsynced.size() > 0
}

// choose picks up to maxWatchersPerSync unsynced watchers whose streams
// have room. Those that need revisions before compactRev get their
// compaction notice instead and leave the hub; compacted reports whether
// any did. The caller holds mu.
func (h *watchHub) choose(compactRev int64) (chosen []*watcher, compacted bool) {
	for w := range h.unsynced.watchers {
		if len(chosen) == maxWatchersPerSync {
			break
		}
		if !w.stream.queue.hasRoom() {
			continue
		}
		if w.minRev < compactRev {
			if w.stream.queue.push(WatchResponse{WatchID: w.id, CompactRevision: compactRev}, false) {
				h.unsynced.delete(w)
				w.compacted = true
				compacted = true
			}
			continue
		}
		chosen = append(chosen, w)
	}
	return chosen, compacted
}

// readHistory reads the events of revisions minRev through cur, page by
// page, into a batch per watcher, until every watcher's batch is full, the
// round holds roundEvents events, or cur is reached. readTo is the last
// revision read.
func (h *watchHub) readHistory(ctx context.Context, chosen []*watcher, minRev, cur int64) (batches map[*watcher]*eventBatch, readTo int64, err error) {
	g := newWatchGroup()
	for _, w := range chosen {
		g.add(w)
	}
	batches = make(map[*watcher]*eventBatch, len(chosen))
	from := minRev
	for from <= cur {
		evs, next, err := h.s.Events(ctx, from, cur, h.pageEvents)
		if err != nil {
			return nil, 0, err
		}
		batchEvents(g, evs, watchBatchMaxRevs, batches)
		from = next
		if h.roundFull(batches, len(chosen)) {
			break
		}
	}
	return batches, from - 1, nil
}

// roundFull reports whether the round should stop reading: every watcher
// has a full batch, or the batches hold roundEvents events.
func (h *watchHub) roundFull(batches map[*watcher]*eventBatch, watchers int) bool {
	full, held := 0, 0
	for _, b := range batches {
		if b.moreRev != 0 {
			full++
		}
		held += len(b.evs)
	}
	return full == watchers || held >= h.roundEvents
}
