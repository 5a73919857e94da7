package raft

import (
	"bytes"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	etcdraft "go.etcd.io/raft/v3"
)

// readIndexBatcher turns concurrent ReadIndex calls into one raft ReadIndex
// request at a time: callers that arrive while a request is in flight share
// the next one. Like etcd's linearizableReadLoop, it retries a request raft
// may have dropped (no leader yet) until it is answered or times out.
type readIndexBatcher struct {
	n    *Node
	mu   sync.Mutex
	next *readBatch // callers waiting for the next request; nil if none
	// stopped is set by stop: joining then fails at once.
	stopped bool
	wake    chan struct{}
	states  chan etcdraft.ReadState
	seq     uint64 // request id; only the run goroutine uses it
	// requests counts raft ReadIndex requests, for tests.
	requests atomic.Uint64
}

// readBatch is the shared outcome of one raft ReadIndex request.
type readBatch struct {
	done  chan struct{}
	index uint64
	err   error
}

func newReadIndexBatcher(n *Node) *readIndexBatcher {
	return &readIndexBatcher{
		n:      n,
		wake:   make(chan struct{}, 1),
		states: make(chan etcdraft.ReadState, 64),
	}
}

// join adds a caller to the next batch and returns it.
func (b *readIndexBatcher) join() *readBatch {
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		rb := &readBatch{done: make(chan struct{}), err: ErrStopped}
		close(rb.done)
		return rb
	}
	if b.next == nil {
		b.next = &readBatch{done: make(chan struct{})}
	}
	rb := b.next
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return rb
}

// stop fails the batch waiting for a request, if any, and every later
// one with ErrStopped; the batch in flight fails as its request sees the
// node stop.
func (b *readIndexBatcher) stop() {
	b.mu.Lock()
	b.stopped = true
	rb := b.next
	b.next = nil
	b.mu.Unlock()
	if rb != nil {
		rb.err = ErrStopped
		close(rb.done)
	}
}

// run serves one batch at a time until the node stops. Its timers serve
// every request, rather than two new ones per request: under a load of
// lone linearizable reads there is about one request per read.
func (b *readIndexBatcher) run() {
	defer b.n.wg.Done()
	timeout, retry := time.NewTimer(time.Hour), time.NewTicker(time.Hour)
	timeout.Stop()
	retry.Stop()
	for {
		select {
		case <-b.wake:
		case <-b.n.stopc:
			return
		}
		b.mu.Lock()
		rb := b.next
		b.next = nil
		b.mu.Unlock()
		if rb == nil {
			continue
		}
		rb.index, rb.err = b.request(timeout, retry)
		close(rb.done)
	}
}

// request asks raft for a read index and waits for the answer, with
// timeout and retry, stopped, to bound the wait and repeat the request.
func (b *readIndexBatcher) request(timeout *time.Timer, retry *time.Ticker) (uint64, error) {
	b.seq++
	b.requests.Add(1)
	rctx := binary.BigEndian.AppendUint64(nil, b.seq)
	ask := func(rn *etcdraft.RawNode) { rn.ReadIndex(rctx) }
	if !b.n.control(ask) {
		return 0, ErrStopped
	}
	// Since Go 1.23 a stopped or reset timer delivers nothing stale.
	timeout.Reset(b.n.cfg.ReadIndexTimeout)
	defer timeout.Stop()
	retry.Reset(b.retryInterval())
	defer retry.Stop()
	for {
		select {
		case rs := <-b.states:
			if bytes.Equal(rs.RequestCtx, rctx) {
				return rs.Index, nil
			}
		case <-retry.C:
			if !b.n.control(ask) {
				return 0, ErrStopped
			}
		case <-timeout.C:
			return 0, ErrTimeout
		case <-b.n.stopc:
			return 0, ErrStopped
		}
	}
}

// retryInterval is half an election timeout: long enough for a leader to
// answer, short enough to catch a newly elected one quickly.
func (b *readIndexBatcher) retryInterval() time.Duration {
	return time.Duration(b.n.cfg.ElectionTicks) * b.n.cfg.TickInterval / 2
}

// deliver passes ReadStates from a Ready to the waiting request. It never
// blocks the raft loop: an answer nobody waits for is dropped.
func (b *readIndexBatcher) deliver(states []etcdraft.ReadState) {
	for _, rs := range states {
		select {
		case b.states <- rs:
		default:
		}
	}
}
