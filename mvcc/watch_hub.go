package mvcc

import (
	"sync"
	"sync/atomic"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.uber.org/zap"
)

// Catch-up limits, as etcd's.
const (
	// watchBatchMaxRevs bounds the revisions of one catch-up response.
	watchBatchMaxRevs = 1000
	// maxWatchersPerSync bounds the watchers one catch-up round serves.
	maxWatchersPerSync = 512
)

// watchHub routes each write transaction's events to the watchers of its
// keys. Watchers are synced (they have seen every revision up to the
// current one and get new events as End publishes them) or unsynced
// (they start in the past, or fell behind when their stream was full, and
// a background loop catches them up from the write buffer and the engine,
// then moves them to synced). Delivery never waits: End only appends to
// bounded stream buffers.
type watchHub struct {
	lg *zap.Logger
	s  *Store
	// pageEvents and roundEvents bound one history read and the events
	// one catch-up round holds.
	pageEvents, roundEvents int
	// buffered counts the events in stream buffers.
	buffered atomic.Int64
	kickc    chan struct{}
	// readFailures logs failed history reads; only syncLoop uses it.
	readFailures retryLog

	// mu guards the groups and the watchers' minRev. End holds it while
	// it moves the store to the next revision, so under mu the current
	// revision and the synced watchers agree.
	mu       sync.Mutex
	synced   *watchGroup
	unsynced *watchGroup
}

func newWatchHub(lg *zap.Logger, s *Store) *watchHub {
	return &watchHub{
		lg: lg, s: s,
		pageEvents: 1000, roundEvents: 64 * 1024,
		kickc:  make(chan struct{}, 1),
		synced: newWatchGroup(), unsynced: newWatchGroup(),
	}
}

// WatchStats describes the watch hub's load.
type WatchStats struct {
	// Synced and Unsynced count the watchers that are up to date and
	// those catching up from the store.
	Synced, Unsynced int
	// BufferedEvents counts the events waiting in stream buffers, the
	// memory slow consumers hold; each stream holds at most
	// Config.WatchBufferEvents of them plus one response.
	BufferedEvents int64
}

// WatchStats returns the watch hub's load.
func (s *Store) WatchStats() WatchStats {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	return WatchStats{Synced: h.synced.size(), Unsynced: h.unsynced.size(), BufferedEvents: h.buffered.Load()}
}

// kick wakes the catch-up loop.
func (h *watchHub) kick() {
	select {
	case h.kickc <- struct{}{}:
	default:
	}
}

// add registers a new watcher and queues its Created response.
func (h *watchHub) add(w *watcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cur := h.s.currentRev.Load()
	if w.startRev == 0 || w.startRev > cur {
		w.minRev = max(cur+1, w.startRev)
		h.synced.add(w)
	} else {
		w.minRev = w.startRev
		h.unsynced.add(w)
		h.kick()
	}
	w.stream.queue.push(WatchResponse{WatchID: w.id, Created: true, Revision: cur}, true)
}

// remove unregisters a watcher and, when notify is set, queues its
// Canceled response.
func (h *watchHub) remove(w *watcher, notify bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.synced.delete(w) {
		h.unsynced.delete(w)
	}
	if notify {
		w.stream.queue.push(WatchResponse{WatchID: w.id, Canceled: true, Revision: h.s.currentRev.Load()}, true)
	}
}

// commit moves the store to revision rev, whose events are evs, and hands
// the events to the synced watchers of their keys. A watcher whose stream
// is full becomes unsynced, to catch up from the store later. End calls
// it, holding the store's write lock.
func (h *watchHub) commit(rev int64, evs []*mvccpb.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.s.currentRev.Store(rev)
	if h.synced.size() == 0 {
		return
	}
	batches := make(map[*watcher]*eventBatch)
	batchEvents(h.synced, evs, 1, batches)
	for w, b := range batches {
		if w.deliver(b.evs, rev) {
			w.minRev = rev + 1
			continue
		}
		w.minRev = rev // it has seen everything before
		h.synced.delete(w)
		h.unsynced.add(w)
		h.kick()
	}
}

// progress queues a progress notification with id on the stream of
// watchers if every one of them is synced and has reached its start
// revision, and reports whether they had.
func (h *watchHub) progress(watchers []*watcher, id WatchID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	rev := h.s.currentRev.Load()
	for _, w := range watchers {
		if !h.synced.has(w) || rev < w.startRev {
			return false
		}
	}
	if len(watchers) > 0 {
		// Best effort, as etcd: a full stream misses the notification.
		watchers[0].stream.queue.push(WatchResponse{WatchID: id, Revision: rev}, false)
	}
	return true
}
