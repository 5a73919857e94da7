package mvcc

import (
	"errors"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// Watch errors. Their text is what etcd puts in a canceled watch
// response, so the API layer passes it on unchanged.
var (
	// ErrWatcherNotExist is returned by Cancel for an unknown watch ID.
	ErrWatcherNotExist = errors.New("mvcc: watcher does not exist")
	// ErrEmptyWatcherRange is returned by Watch for a range whose end is
	// not after its key.
	ErrEmptyWatcherRange = errors.New("mvcc: watcher range is empty")
	// ErrWatcherDuplicateID is returned by Watch for an ID the stream
	// already uses.
	ErrWatcherDuplicateID = errors.New("mvcc: duplicate watch ID provided on the WatchStream")
	// ErrWatchStreamClosed is returned by Watch after Close.
	ErrWatchStreamClosed = errors.New("mvcc: watch stream is closed")
)

// WatchID identifies a watcher within its stream.
type WatchID int64

const (
	// AutoWatchID asks Watch to choose the ID.
	AutoWatchID WatchID = 0
	// InvalidWatchID marks a response that belongs to no single watcher:
	// a progress notification for the whole stream, or a failed create.
	InvalidWatchID WatchID = -1
)

// WatchRequest describes a watcher to create.
type WatchRequest struct {
	// ID is the watcher's ID, or AutoWatchID.
	ID WatchID
	// Key and End select the keys, as for Range: a nil End watches Key
	// alone, an empty non-nil End (or {0}) every key from Key on,
	// otherwise [Key, End).
	Key, End []byte
	// StartRev is the first revision to report; 0 means the next one.
	// Events of earlier revisions are replayed from the store.
	StartRev int64
	// NoPut and NoDelete leave out PUT and DELETE events.
	NoPut, NoDelete bool
}

// WatchResponse is one message of a watch stream, for one watcher
// (WatchID) or, for a progress notification of the whole stream,
// InvalidWatchID.
type WatchResponse struct {
	WatchID WatchID
	// Events are whole revisions, in order, never seen before by the
	// watcher. They are shared with other watchers and must not be
	// modified.
	Events []*mvccpb.Event
	// Revision is the store's revision the response was made at: the
	// watcher has seen every event up to it, except in a catch-up batch
	// that more batches follow. It is 0 in a compaction notice.
	Revision int64
	// CompactRevision, when set, tells that the watcher was removed
	// because the revisions it needed are compacted.
	CompactRevision int64
	// Created confirms a Watch; Canceled confirms a Cancel or, with
	// Created, reports a create that failed for CancelReason.
	Created, Canceled bool
	CancelReason      string
}

// watcher is one watch of a stream. The hub's mutex guards minRev and
// which group the watcher is in.
type watcher struct {
	id       WatchID
	key, end []byte // end nil: key alone; end empty: every key from key
	startRev int64
	// minRev is the first revision the watcher has not been sent.
	minRev          int64
	noPut, noDelete bool
	stream          *WatchStream
	// compacted is set once the watcher got its compaction notice.
	compacted bool
}

// filter returns the events the watcher wants.
func (w *watcher) filter(evs []*mvccpb.Event) []*mvccpb.Event {
	if !w.noPut && !w.noDelete {
		return evs
	}
	out := make([]*mvccpb.Event, 0, len(evs))
	for _, ev := range evs {
		if (ev.Type == mvccpb.Event_PUT && w.noPut) || (ev.Type == mvccpb.Event_DELETE && w.noDelete) {
			continue
		}
		out = append(out, ev)
	}
	return out
}

// deliver queues events of the watcher, filtered, on its stream at
// revision rev. It reports false when the stream has no room; events all
// filtered out count as delivered.
func (w *watcher) deliver(evs []*mvccpb.Event, rev int64) bool {
	evs = w.filter(evs)
	if len(evs) == 0 {
		return true
	}
	return w.stream.queue.push(WatchResponse{WatchID: w.id, Events: evs, Revision: rev}, false)
}
