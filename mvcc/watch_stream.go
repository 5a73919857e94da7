package mvcc

import (
	"bytes"
	"sync"
)

// WatchStream carries the responses of many watchers, in order, to one
// consumer (a gRPC Watch stream). Its buffer is bounded: a watcher whose
// events find it full falls behind and later catches up from the store,
// so a slow consumer holds at most the buffer's worth of events and never
// blocks the writer or other streams.
//
// Watch, Cancel, RequestProgress, RequestProgressAll, Post and Close may be
// called from one goroutine while another takes responses with Ready and
// Next.
type WatchStream struct {
	hub   *watchHub
	queue *responseQueue

	mu       sync.Mutex
	nextID   WatchID
	closed   bool
	watchers map[WatchID]*watcher
}

// NewWatchStream returns an empty stream; Close it when done.
func (s *Store) NewWatchStream() *WatchStream {
	ws := &WatchStream{hub: s.hub, watchers: make(map[WatchID]*watcher)}
	ws.queue = newResponseQueue(s.hub, s.cfg.WatchBufferEvents)
	return ws
}

// Watch creates a watcher and queues its Created response, so that it
// precedes the watcher's events. It returns the watcher's ID, chosen
// when req.ID is AutoWatchID, or ErrEmptyWatcherRange,
// ErrWatcherDuplicateID or ErrWatchStreamClosed.
//
// A watcher starting at or before the current revision first replays the
// store's history in batches of at most 1000 revisions, then follows new
// revisions as they are written; one starting before the compaction
// revision gets a response with CompactRevision set and is removed.
func (ws *WatchStream) Watch(req WatchRequest) (WatchID, error) {
	if len(req.End) > 0 && !isFromKey(req.End) && bytes.Compare(req.Key, req.End) >= 0 {
		return InvalidWatchID, ErrEmptyWatcherRange
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.closed {
		return InvalidWatchID, ErrWatchStreamClosed
	}
	id := req.ID
	if id == AutoWatchID {
		for ws.watchers[ws.nextID] != nil {
			ws.nextID++
		}
		id = ws.nextID
		ws.nextID++
	} else if ws.watchers[id] != nil {
		return InvalidWatchID, ErrWatcherDuplicateID
	}
	end := req.End
	if isFromKey(end) {
		end = []byte{}
	}
	w := &watcher{
		id: id, key: req.Key, end: end, startRev: req.StartRev,
		noPut: req.NoPut, noDelete: req.NoDelete, stream: ws,
	}
	ws.hub.add(w)
	ws.watchers[id] = w
	return id, nil
}

// Cancel removes a watcher and queues its Canceled response after the
// events already queued for it; no event follows. It returns
// ErrWatcherNotExist for an unknown ID.
func (ws *WatchStream) Cancel(id WatchID) error {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	w := ws.watchers[id]
	if w == nil || ws.closed {
		return ErrWatcherNotExist
	}
	ws.hub.remove(w, true)
	delete(ws.watchers, id)
	return nil
}

// RequestProgress queues a progress notification (no events, the current
// revision) for watcher id if it has seen every revision so far, and
// nothing otherwise.
func (ws *WatchStream) RequestProgress(id WatchID) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if w := ws.watchers[id]; w != nil {
		ws.hub.progress([]*watcher{w}, id)
	}
}

// RequestProgressAll queues one progress notification with
// InvalidWatchID for the whole stream when all its watchers have seen
// every revision so far, and reports whether they had; it queues nothing
// for a stream without watchers.
func (ws *WatchStream) RequestProgressAll() bool {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	all := make([]*watcher, 0, len(ws.watchers))
	for _, w := range ws.watchers {
		all = append(all, w)
	}
	return ws.hub.progress(all, InvalidWatchID)
}

// Post queues a response made by the caller, such as a failed create,
// after everything queued so far, whatever the buffer holds.
func (ws *WatchStream) Post(r WatchResponse) { ws.queue.push(r, true) }

// Ready returns a channel that receives when responses may be waiting:
// after each receive, call Next until it reports none.
func (ws *WatchStream) Ready() <-chan struct{} { return ws.queue.ready }

// Next takes the oldest queued response.
func (ws *WatchStream) Next() (WatchResponse, bool) { return ws.queue.pop() }

// Rev returns the store's current revision.
func (ws *WatchStream) Rev() int64 { return ws.hub.s.Rev() }

// Close removes every watcher of the stream and drops what it has queued.
func (ws *WatchStream) Close() {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.closed {
		return
	}
	ws.closed = true
	for _, w := range ws.watchers {
		ws.hub.remove(w, false)
	}
	ws.watchers = nil
	ws.queue.close()
}

// responseQueue is a stream's buffer: a FIFO bounded by the events it
// holds (and as many responses), which always takes one response when
// empty, so that a batch larger than the bound still gets through.
type responseQueue struct {
	hub       *watchHub
	maxEvents int
	ready     chan struct{}

	mu     sync.Mutex
	items  []WatchResponse
	head   int
	events int
	closed bool
	// blocked is set when a push was refused, so that the hub hears when
	// room returns.
	blocked bool
}

func newResponseQueue(hub *watchHub, maxEvents int) *responseQueue {
	return &responseQueue{hub: hub, maxEvents: maxEvents, ready: make(chan struct{}, 1)}
}

// push appends r unless the queue is full and force is not set; it
// reports whether r is queued (or dropped because the stream is closed).
func (q *responseQueue) push(r WatchResponse, force bool) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return true
	}
	n := len(q.items) - q.head
	if !force && n > 0 && (n >= q.maxEvents || q.events+len(r.Events) > q.maxEvents) {
		q.blocked = true
		return false
	}
	if q.head > 0 && q.head >= len(q.items)/2 {
		// Reuse the room taken responses left at the front.
		live := copy(q.items, q.items[q.head:])
		clear(q.items[live:])
		q.items, q.head = q.items[:live], 0
	}
	q.items = append(q.items, r)
	q.events += len(r.Events)
	q.hub.buffered.Add(int64(len(r.Events)))
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return true
}

// hasRoom reports whether a push would likely succeed; when not, the hub
// hears once the consumer has made room.
func (q *responseQueue) hasRoom() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := len(q.items) - q.head
	if n == 0 || (n < q.maxEvents && q.events < q.maxEvents) {
		return true
	}
	q.blocked = true
	return false
}

// len returns the number of queued responses.
func (q *responseQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) - q.head
}

func (q *responseQueue) pop() (WatchResponse, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head == len(q.items) {
		return WatchResponse{}, false
	}
	r := q.items[q.head]
	q.items[q.head] = WatchResponse{}
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
	q.events -= len(r.Events)
	q.hub.buffered.Add(-int64(len(r.Events)))
	if q.blocked && q.events <= q.maxEvents/2 && len(q.items)-q.head <= q.maxEvents/2 {
		q.blocked = false
		q.hub.kick()
	}
	return r, true
}

func (q *responseQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.hub.buffered.Add(-int64(q.events))
	q.items, q.head, q.events = nil, 0, 0
}
