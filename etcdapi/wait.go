package etcdapi

import (
	"sync"
	"sync/atomic"

	"github.com/metastore/metastore/etcdapi/apply"
)

// waitRegistry pairs proposal ids with the requests waiting on them. An id
// that nobody waits for (a proposal replayed from the WAL after a restart)
// is simply dropped.
type waitRegistry struct {
	mu sync.Mutex
	m  map[uint64]chan apply.Result
	// canceled counts proposals given up on (dropped, timed out, or the
	// caller went away): etcd's failed proposals.
	canceled atomic.Uint64
}

func newWaitRegistry() *waitRegistry {
	return &waitRegistry{m: make(map[uint64]chan apply.Result)}
}

func (w *waitRegistry) register(id uint64) <-chan apply.Result {
	ch := make(chan apply.Result, 1)
	w.mu.Lock()
	w.m[id] = ch
	w.mu.Unlock()
	return ch
}

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
