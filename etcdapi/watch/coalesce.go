package watch

import (
	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/metastore/metastore/mvcc"
)

const (
	// coalesceMaxResponses bounds how many queued responses the send
	// loop takes at once to merge.
	coalesceMaxResponses = 1024
	// coalesceMaxEvents and coalesceMaxBytes bound a merged response: as
	// many events as etcd puts in one catch-up response (1,000
	// revisions of one event each), and their keys and values well below
	// the default --max-request-bytes plus gRPC's overhead.
	coalesceMaxEvents = 1000
	coalesceMaxBytes  = 1 << 20
)

// coalescer merges the event responses a stream's send loop finds queued
// together: a watcher's consecutive event responses become one response
// carrying their events in order, at the last one's revision. Under load
// each watcher then gets one message per send-loop turn instead of one
// per revision, which spares both ends a gRPC message each (etcd merges
// a lagging watcher's revisions the same way, up to 1,000 a response).
//
// Order is kept per watcher, the only order etcd promises. A response
// that is not events alone (created, canceled, compacted, a progress
// notification) ends the merging of its watcher's events, and one for the
// whole stream (a progress notification for every watcher) ends all
// merging, so no event is sent after a notification of a later revision
// or before one of an earlier revision it followed.
type coalescer struct {
	out  []mvcc.WatchResponse
	open map[mvcc.WatchID]openResponse
}

// openResponse is a response in out that later events of its watcher may
// join.
type openResponse struct {
	at    int  // index in out
	bytes int  // keys and values of its events
	owned bool // its Events slice is the coalescer's, not the store's
}

func newCoalescer() *coalescer {
	return &coalescer{open: make(map[mvcc.WatchID]openResponse)}
}

// add appends r to the responses to send, merging it into its watcher's
// open response when it can.
func (c *coalescer) add(r mvcc.WatchResponse) {
	if r.WatchID == mvcc.InvalidWatchID {
		clear(c.open)
		c.out = append(c.out, r)
		return
	}
	if !eventsOnly(r) {
		delete(c.open, r.WatchID)
		c.out = append(c.out, r)
		return
	}
	n := eventBytes(r)
	o, ok := c.open[r.WatchID]
	if ok {
		prev := &c.out[o.at]
		if len(prev.Events)+len(r.Events) <= coalesceMaxEvents && o.bytes+n <= coalesceMaxBytes {
			if !o.owned {
				// The store shares its slices between watchers.
				evs := make([]*mvccpb.Event, len(prev.Events), len(prev.Events)+len(r.Events))
				copy(evs, prev.Events)
				prev.Events, o.owned = evs, true
			}
			prev.Events = append(prev.Events, r.Events...)
			prev.Revision = r.Revision
			o.bytes += n
			c.open[r.WatchID] = o
			return
		}
	}
	c.open[r.WatchID] = openResponse{at: len(c.out), bytes: n}
	c.out = append(c.out, r)
}

// reset forgets the responses gathered (once sent), keeping the room.
func (c *coalescer) reset() {
	clear(c.out)
	c.out = c.out[:0]
	clear(c.open)
}

// eventsOnly reports whether r carries events and nothing else.
func eventsOnly(r mvcc.WatchResponse) bool {
	return len(r.Events) > 0 && !r.Created && !r.Canceled && r.CompactRevision == 0
}

func eventBytes(r mvcc.WatchResponse) int {
	n := 0
	for _, ev := range r.Events {
		if ev.Kv != nil {
			n += len(ev.Kv.Key) + len(ev.Kv.Value)
		}
	}
	return n
}
