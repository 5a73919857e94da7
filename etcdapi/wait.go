package etcdapi

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/metastore/metastore/etcdapi/apply"
)

// waitRegistry pairs proposal ids with the requests waiting on them. An id
// that nobody waits for (a proposal replayed from the WAL after a restart)
// is simply dropped.
type waitRegistry struct {
	mu sync.Mutex
	m  map[uint64]chan apply.Result
	// chans are released channels, reused by register.
	chans sync.Pool
	// canceled counts proposals given up on (dropped, timed out, or the
	// caller went away): etcd's failed proposals.
	canceled atomic.Uint64
}

func newWaitRegistry() *waitRegistry {
	return &waitRegistry{m: make(map[uint64]chan apply.Result)}
}

// register returns the channel id's result will come on. Once the result
// has been received from it, release it for reuse.
func (w *waitRegistry) register(id uint64) chan apply.Result {
	ch, _ := w.chans.Get().(chan apply.Result)
	if ch == nil {
		ch = make(chan apply.Result, 1)
	}
	w.mu.Lock()
	w.m[id] = ch
	w.mu.Unlock()
	return ch
}

// release hands back a channel its result was received from: nothing
// sends on it again, as trigger sends once and forgets it. A channel of a
// canceled id is not released, as a trigger may be sending on it.
func (w *waitRegistry) release(ch chan apply.Result) { w.chans.Put(ch) }

// cancel forgets id; a later trigger for it is dropped.
func (w *waitRegistry) cancel(id uint64) {
	w.mu.Lock()
	delete(w.m, id)
	w.mu.Unlock()
	w.canceled.Add(1)
}

// pending returns how many proposals are waiting for their result.
func (w *waitRegistry) pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.m)
}

func (w *waitRegistry) trigger(id uint64, res apply.Result) {
	w.mu.Lock()
	ch, ok := w.m[id]
	delete(w.m, id)
	w.mu.Unlock()
	if ok {
		ch <- res
	}
}

// deadlines hands out the request timeout as channels closed when it has
// passed, shared by the requests that start within one tick of each
// other: one timer a tick instead of a timer and a context per request,
// which cost a put under load 5 of its 100 allocations. A request's
// timeout is thus between the configured one and a tick more.
type deadlines struct {
	timeout, tick time.Duration
	cur           atomic.Pointer[deadline]
}

type deadline struct {
	at      time.Time
	expired chan struct{}
}

func newDeadlines(timeout time.Duration) *deadlines {
	return &deadlines{timeout: timeout, tick: min(100*time.Millisecond, timeout/10)}
}

// after returns a channel closed when a request that starts now has
// timed out.
func (d *deadlines) after() <-chan struct{} {
	now := time.Now()
	if cur := d.cur.Load(); cur != nil && !cur.at.Before(now.Add(d.timeout)) {
		return cur.expired
	}
	next := &deadline{at: now.Add(d.timeout + d.tick), expired: make(chan struct{})}
	time.AfterFunc(d.timeout+d.tick, func() { close(next.expired) })
	// Requests racing here may each start a deadline; the last stored
	// serves the ones after them, and the others' channels still close.
	d.cur.Store(next)
	return next.expired
}
