package mvcc

import (
	"bytes"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// watchGroup indexes watchers by the keys they watch: single-key watchers
// by key, range watchers by their distinct range, so finding the watchers
// of a key costs one map lookup plus one test per distinct range.
type watchGroup struct {
	watchers map[*watcher]struct{}
	keys     map[string]watcherSet
	ranges   map[watchRange]watcherSet
}

type watcherSet map[*watcher]struct{}

// watchRange is a range [key, end), or every key from key on when fromKey.
type watchRange struct {
	key, end string
	fromKey  bool
}

func (r watchRange) contains(key []byte) bool {
	if bytes.Compare(key, []byte(r.key)) < 0 {
		return false
	}
	return r.fromKey || bytes.Compare(key, []byte(r.end)) < 0
}

func newWatchGroup() *watchGroup {
	return &watchGroup{
		watchers: make(map[*watcher]struct{}),
		keys:     make(map[string]watcherSet),
		ranges:   make(map[watchRange]watcherSet),
	}
}

func rangeOf(w *watcher) watchRange {
	return watchRange{key: string(w.key), end: string(w.end), fromKey: isFromKey(w.end)}
}

// add puts w in the group; w must not be in it.
func (g *watchGroup) add(w *watcher) {
	if _, ok := g.watchers[w]; ok {
		panic("mvcc: watcher added to a group twice")
	}
	g.watchers[w] = struct{}{}
	if w.end == nil {
		addToSet(g.keys, string(w.key), w)
	} else {
		addToSet(g.ranges, rangeOf(w), w)
	}
}

func addToSet[K comparable](m map[K]watcherSet, k K, w *watcher) {
	set := m[k]
	if set == nil {
		set = make(watcherSet)
		m[k] = set
	}
	set[w] = struct{}{}
}

func deleteFromSet[K comparable](m map[K]watcherSet, k K, w *watcher) {
	set := m[k]
	delete(set, w)
	if len(set) == 0 {
		delete(m, k)
	}
}

// delete removes w and reports whether it was in the group.
func (g *watchGroup) delete(w *watcher) bool {
	if _, ok := g.watchers[w]; !ok {
		return false
	}
	delete(g.watchers, w)
	if w.end == nil {
		deleteFromSet(g.keys, string(w.key), w)
	} else {
		deleteFromSet(g.ranges, rangeOf(w), w)
	}
	return true
}

func (g *watchGroup) has(w *watcher) bool {
	_, ok := g.watchers[w]
	return ok
}

func (g *watchGroup) size() int { return len(g.watchers) }

// match calls fn for each watcher of key.
func (g *watchGroup) match(key []byte, fn func(*watcher)) {
	for w := range g.keys[string(key)] {
		fn(w)
	}
	for r, set := range g.ranges {
		if r.contains(key) {
			for w := range set {
				fn(w)
			}
		}
	}
}

// eventBatch collects the events of whole revisions for one watcher, at
// most maxRevs revisions, as etcd batches a watcher's catch-up.
type eventBatch struct {
	evs  []*mvccpb.Event
	revs int // distinct revisions in evs
	// moreRev is the first revision left out because the batch is full,
	// 0 while it is not.
	moreRev int64
}

// add appends ev, which is not older than the events already in, unless
// the batch is full.
func (b *eventBatch) add(ev *mvccpb.Event, maxRevs int) {
	if b.moreRev != 0 {
		return
	}
	rev := ev.Kv.ModRevision
	if len(b.evs) == 0 || rev > b.evs[len(b.evs)-1].Kv.ModRevision {
		if b.revs == maxRevs {
			b.moreRev = rev
			return
		}
		b.revs++
	}
	b.evs = append(b.evs, ev)
}

// batchEvents maps the watchers of g to their events among evs: those of
// keys they watch, at or after their minRev.
func batchEvents(g *watchGroup, evs []*mvccpb.Event, maxRevs int, batches map[*watcher]*eventBatch) {
	for _, ev := range evs {
		g.match(ev.Kv.Key, func(w *watcher) {
			if ev.Kv.ModRevision < w.minRev {
				return
			}
			b := batches[w]
			if b == nil {
				b = &eventBatch{}
				batches[w] = b
			}
			b.add(ev, maxRevs)
		})
	}
}
