package etcdapi

import (
	"sync"
	"sync/atomic"

	"google.golang.org/protobuf/proto"
)

// applyResult is what the applier hands back to the request waiting on a
// proposal.
type applyResult struct {
	resp proto.Message
	err  error
	// physc, for a compaction, closes when old revisions are gone from the
	// engine.
	physc <-chan struct{}
}

// waitRegistry pairs proposal ids with the requests waiting on them. An id
// that nobody waits for (a proposal replayed from the WAL after a restart)
// is simply dropped.
type waitRegistry struct {
	mu sync.Mutex
	m  map[uint64]chan applyResult
	// canceled counts proposals given up on (dropped, timed out, or the
	// caller went away): etcd's failed proposals.
	canceled atomic.Uint64
}

func newWaitRegistry() *waitRegistry {
	return &waitRegistry{m: make(map[uint64]chan applyResult)}
}

func (w *waitRegistry) register(id uint64) <-chan applyResult {
	ch := make(chan applyResult, 1)
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

func (w *waitRegistry) trigger(id uint64, res applyResult) {
	w.mu.Lock()
	ch, ok := w.m[id]
	delete(w.m, id)
	w.mu.Unlock()
	if ok {
		ch <- res
	}
}
