package concurrency_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/metastore/metastore/concurrency"
	"github.com/metastore/metastore/host/hosttest"
)

func TestRWMutex(t *testing.T) {
	eachServer(t, func(t *testing.T, m *hosttest.Process) {
		c := m.Client(t)
		t.Run("readers share, a writer excludes", func(t *testing.T) { testRWMutexSharing(t, c) })
		t.Run("a waiting writer holds back later readers", func(t *testing.T) { testRWMutexFairness(t, c) })
		t.Run("exclusion under contention", func(t *testing.T) { testRWMutexContention(t, c) })
	})
}

func testRWMutexSharing(t *testing.T, c *clientv3.Client) {
	ctx := testCtx(t, testTimeout)
	r1 := concurrency.NewRWMutex(newSession(t, c), "rw-share")
	r2 := concurrency.NewRWMutex(newSession(t, c), "rw-share")
	w := concurrency.NewRWMutex(newSession(t, c), "rw-share")
	require.NoError(t, r1.RLock(ctx))
	require.NoError(t, r2.RLock(ctx))
	wLocked := result(func() error { return w.Lock(ctx) })
	blocked(t, wLocked, 300*time.Millisecond)
	require.NoError(t, r1.RUnlock(ctx))
	blocked(t, wLocked, 200*time.Millisecond)
	require.NoError(t, r2.RUnlock(ctx))
	require.NoError(t, recvErr(t, wLocked, 10*time.Second))
	assert.NotZero(t, w.Token())

	rLocked := result(func() error { return r1.RLock(ctx) })
	blocked(t, rLocked, 300*time.Millisecond)
	require.NoError(t, w.Unlock(ctx))
	require.NoError(t, recvErr(t, rLocked, 10*time.Second))
	require.NoError(t, r1.RUnlock(ctx))
	require.ErrorIs(t, r1.RUnlock(ctx), concurrency.ErrNotLocked)

	// A writer that gives up leaves nothing behind.
	require.NoError(t, r2.RLock(ctx))
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, w.Lock(short), context.DeadlineExceeded)
	require.NoError(t, r2.RUnlock(ctx))
	assert.Empty(t, keys(t, c, "rw-share/"))
}

func testRWMutexFairness(t *testing.T, c *clientv3.Client) {
	ctx := testCtx(t, testTimeout)
	r1 := concurrency.NewRWMutex(newSession(t, c), "rw-fair")
	w := concurrency.NewRWMutex(newSession(t, c), "rw-fair")
	r2 := concurrency.NewRWMutex(newSession(t, c), "rw-fair")
	require.NoError(t, r1.RLock(ctx))
	wLocked := result(func() error { return w.Lock(ctx) })
	waitKeys(t, c, "rw-fair/", 2)
	r2Locked := result(func() error { return r2.RLock(ctx) })
	waitKeys(t, c, "rw-fair/", 3)
	blocked(t, r2Locked, 300*time.Millisecond)
	require.NoError(t, r1.RUnlock(ctx))
	require.NoError(t, recvErr(t, wLocked, 10*time.Second))
	blocked(t, r2Locked, 200*time.Millisecond)
	require.NoError(t, w.Unlock(ctx))
	require.NoError(t, recvErr(t, r2Locked, 10*time.Second))
	require.NoError(t, r2.RUnlock(ctx))
}

// Readers and writers run at once; no reader ever overlaps a writer, and no
// two writers overlap.
func testRWMutexContention(t *testing.T, c *clientv3.Client) {
	const readers, writers, rounds = 3, 3, 3
	ctx := testCtx(t, testTimeout)
	var readersIn, writersIn, violations atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, readers+writers)
	run := func(write bool) {
		rw := concurrency.NewRWMutex(newSession(t, c), "rw-contention")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				if err := rwRound(ctx, rw, write, &readersIn, &writersIn, &violations); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range readers + writers {
		run(i%2 == 0)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Zero(t, violations.Load())
	assert.Empty(t, keys(t, c, "rw-contention/"))
}

func rwRound(ctx context.Context, rw *concurrency.RWMutex, write bool, readersIn, writersIn, violations *atomic.Int32) error {
	if write {
		if err := rw.Lock(ctx); err != nil {
			return err
		}
		if writersIn.Add(1) != 1 || readersIn.Load() != 0 {
			violations.Add(1)
		}
		time.Sleep(2 * time.Millisecond)
		writersIn.Add(-1)
		return rw.Unlock(ctx)
	}
	if err := rw.RLock(ctx); err != nil {
		return err
	}
	readersIn.Add(1)
	if writersIn.Load() != 0 {
		violations.Add(1)
	}
	time.Sleep(2 * time.Millisecond)
	readersIn.Add(-1)
	return rw.RUnlock(ctx)
}

func TestSemaphore(t *testing.T) {
	eachServer(t, func(t *testing.T, m *hosttest.Process) {
		c := m.Client(t)
		t.Run("n holders, then wait in order", func(t *testing.T) { testSemaphorePermits(t, c) })
		t.Run("at most n under contention", func(t *testing.T) { testSemaphoreContention(t, c) })
	})
}

func testSemaphorePermits(t *testing.T, c *clientv3.Client) {
	ctx := testCtx(t, testTimeout)
	sems := make([]*concurrency.Semaphore, 4)
	for i := range sems {
		sems[i] = concurrency.NewSemaphore(newSession(t, c), "sem", 2)
	}
	require.NoError(t, sems[0].Acquire(ctx))
	require.NoError(t, sems[1].TryAcquire(ctx))
	require.ErrorIs(t, sems[2].TryAcquire(ctx), concurrency.ErrNoPermit)
	assert.Len(t, keys(t, c, "sem/"), 2, "a failed TryAcquire leaves no key")

	third := result(func() error { return sems[2].Acquire(ctx) })
	waitKeys(t, c, "sem/", 3)
	fourth := result(func() error { return sems[3].Acquire(ctx) })
	waitKeys(t, c, "sem/", 4)
	blocked(t, third, 300*time.Millisecond)
	require.NoError(t, sems[1].Release(ctx))
	require.NoError(t, recvErr(t, third, 10*time.Second))
	blocked(t, fourth, 200*time.Millisecond)

	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, sems[1].Acquire(short), context.DeadlineExceeded)
	assert.Len(t, keys(t, c, "sem/"), 3, "an Acquire that gave up leaves no key")

	require.NoError(t, sems[0].Release(ctx))
	require.NoError(t, recvErr(t, fourth, 10*time.Second))
	require.NoError(t, sems[2].Release(ctx))
	require.NoError(t, sems[3].Release(ctx))
	require.ErrorIs(t, sems[3].Release(ctx), concurrency.ErrNotLocked)
	assert.Empty(t, keys(t, c, "sem/"))
}

func testSemaphoreContention(t *testing.T, c *clientv3.Client) {
	const workers, rounds, permits = 6, 2, 2
	ctx := testCtx(t, testTimeout)
	var inside, maxInside atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		sem := concurrency.NewSemaphore(newSession(t, c), "sem-contention", permits)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				if err := sem.Acquire(ctx); err != nil {
					errs <- err
					return
				}
				n := inside.Add(1)
				for m := maxInside.Load(); n > m && !maxInside.CompareAndSwap(m, n); m = maxInside.Load() {
				}
				time.Sleep(5 * time.Millisecond)
				inside.Add(-1)
				if err := sem.Release(ctx); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.LessOrEqual(t, maxInside.Load(), int32(permits))
	assert.Empty(t, keys(t, c, "sem-contention/"))
}

func TestDoubleBarrier(t *testing.T) {
	eachServer(t, func(t *testing.T, m *hosttest.Process) {
		c := m.Client(t)
		const n, rounds = 3, 2
		ctx := testCtx(t, testTimeout)
		var entering, leaving atomic.Int32
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			b := concurrency.NewDoubleBarrier(newSession(t, c), "barrier", n)
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- barrierRounds(ctx, b, rounds, time.Duration(i)*100*time.Millisecond, &entering, &leaving)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		assert.Empty(t, keys(t, c, "barrier/"))

		b := concurrency.NewDoubleBarrier(newSession(t, c), "barrier", n)
		require.ErrorIs(t, b.Leave(ctx), concurrency.ErrNotEntered)
		short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		require.ErrorIs(t, b.Enter(short), context.DeadlineExceeded)
		assert.Empty(t, keys(t, c, "barrier/"), "an Enter that gave up leaves no key")
	})
}

// barrierRounds enters and leaves the barrier rounds times, arriving late
// by delay each time, and checks that nobody passes before all arrived.
func barrierRounds(ctx context.Context, b *concurrency.DoubleBarrier, rounds int, delay time.Duration, entering, leaving *atomic.Int32) error {
	const n = 3
	for r := 1; r <= rounds; r++ {
		time.Sleep(delay)
		entering.Add(1)
		if err := b.Enter(ctx); err != nil {
			return err
		}
		if got := entering.Load(); got < int32(n*r) {
			return fmt.Errorf("round %d: passed Enter with %d of %d in", r, got-int32(n*(r-1)), n)
		}
		time.Sleep(delay)
		leaving.Add(1)
		if err := b.Leave(ctx); err != nil {
			return err
		}
		if got := leaving.Load(); got < int32(n*r) {
			return fmt.Errorf("round %d: passed Leave with %d of %d out", r, got-int32(n*(r-1)), n)
		}
	}
	return nil
}

func TestQueue(t *testing.T) {
	eachServerIn(t, servers, func(t *testing.T, m *hosttest.Process) {
		c := m.Client(t)
		t.Run("first in, first out", func(t *testing.T) { testQueueOrder(t, c) })
		t.Run("dequeue waits for an item", func(t *testing.T) { testQueueBlocks(t, c) })
		t.Run("each item to one consumer", func(t *testing.T) { testQueueConsumers(t, c) })
	})
}

func testQueueOrder(t *testing.T, c *clientv3.Client) {
	ctx := testCtx(t, testTimeout)
	q := concurrency.NewQueue(c, "queue-order")
	for i := range 5 {
		require.NoError(t, q.Enqueue(ctx, fmt.Sprint(i)))
	}
	n, err := q.Len(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(5), n)
	for i := range 5 {
		v, err := q.Dequeue(ctx)
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprint(i), v)
	}
	assert.Empty(t, keys(t, c, "queue-order/"))
}

func testQueueBlocks(t *testing.T, c *clientv3.Client) {
	ctx := testCtx(t, testTimeout)
	q := concurrency.NewQueue(c, "queue-block")
	got := make(chan string, 1)
	dequeued := result(func() error {
		v, err := q.Dequeue(ctx)
		got <- v
		return err
	})
	blocked(t, dequeued, 300*time.Millisecond)
	require.NoError(t, q.Enqueue(ctx, "item"))
	require.NoError(t, recvErr(t, dequeued, 10*time.Second))
	assert.Equal(t, "item", <-got)

	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err := q.Dequeue(short)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func testQueueConsumers(t *testing.T, c *clientv3.Client) {
	const consumers, items = 3, 30
	ctx := testCtx(t, testTimeout)
	q := concurrency.NewQueue(c, "queue-consumers")
	var mu sync.Mutex
	var got []int
	var wg sync.WaitGroup
	errs := make(chan error, consumers)
	for range consumers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				v, err := q.Dequeue(ctx)
				if err != nil {
					errs <- err
					return
				}
				if v == "stop" {
					return
				}
				var i int
				_, _ = fmt.Sscan(v, &i)
				mu.Lock()
				got = append(got, i)
				mu.Unlock()
			}
		}()
	}
	for i := range items {
		require.NoError(t, q.Enqueue(ctx, fmt.Sprint(i)))
	}
	for range consumers {
		require.NoError(t, q.Enqueue(ctx, "stop"))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	sort.Ints(got)
	want := make([]int, items)
	for i := range want {
		want[i] = i
	}
	assert.Equal(t, want, got, "every item exactly once")
}
