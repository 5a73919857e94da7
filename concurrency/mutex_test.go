package concurrency_test

import (
	"context"
	"strconv"
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

func TestMutex(t *testing.T) {
	eachServer(t, func(t *testing.T, m *hosttest.Process) {
		c := m.Client(t)
		t.Run("exclusion under contention", func(t *testing.T) { testMutexExclusion(t, c) })
		t.Run("try lock", func(t *testing.T) { testMutexTryLock(t, c) })
		t.Run("fair order", func(t *testing.T) { testMutexFairOrder(t, c) })
		t.Run("fencing token and IsOwner", func(t *testing.T) { testMutexFencing(t, c) })
		t.Run("cancel while waiting leaves no key", func(t *testing.T) { testMutexCancel(t, c) })
		t.Run("session expiry while holding", func(t *testing.T) { testMutexHolderExpires(t, c) })
		t.Run("session expiry while waiting", func(t *testing.T) { testMutexWaiterExpires(t, c) })
		t.Run("stalled holder loses the lock after its TTL", func(t *testing.T) { testMutexHolderStalls(t, c) })
	})
}

// Workers increment a counter stored in the server with a plain read and a
// plain write. Without mutual exclusion updates get lost and two workers
// are inside at once.
func testMutexExclusion(t *testing.T, c *clientv3.Client) {
	const workers, rounds = 5, 4
	ctx := testCtx(t, testTimeout)
	counter := "exclusion-counter"
	var inside, maxInside atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		s := newSession(t, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			mu := concurrency.NewMutex(s, "exclusion")
			for r := 0; r < rounds; r++ {
				if err := increment(ctx, c, mu, counter, &inside, &maxInside); err != nil {
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
	resp, err := c.Get(ctx, counter)
	require.NoError(t, err)
	require.Len(t, resp.Kvs, 1)
	assert.Equal(t, strconv.Itoa(workers*rounds), string(resp.Kvs[0].Value))
	assert.Equal(t, int32(1), maxInside.Load(), "workers inside the lock at once")
	assert.Empty(t, keys(t, c, "exclusion/"))
}

func increment(ctx context.Context, c *clientv3.Client, mu *concurrency.Mutex, key string, inside, maxInside *atomic.Int32) error {
	if err := mu.Lock(ctx); err != nil {
		return err
	}
	n := inside.Add(1)
	for {
		m := maxInside.Load()
		if n <= m || maxInside.CompareAndSwap(m, n) {
			break
		}
	}
	resp, err := c.Get(ctx, key)
	if err != nil {
		return err
	}
	v := 0
	if len(resp.Kvs) == 1 {
		v, _ = strconv.Atoi(string(resp.Kvs[0].Value))
	}
	time.Sleep(time.Millisecond) // widen the window a lost update needs
	if _, err := c.Put(ctx, key, strconv.Itoa(v+1)); err != nil {
		return err
	}
	inside.Add(-1)
	return mu.Unlock(ctx)
}

func testMutexTryLock(t *testing.T, c *clientv3.Client) {
	ctx := testCtx(t, testTimeout)
	a := concurrency.NewMutex(newSession(t, c), "trylock")
	b := concurrency.NewMutex(newSession(t, c), "trylock")
	require.NoError(t, a.TryLock(ctx))
	require.NoError(t, a.TryLock(ctx), "TryLock on a held Mutex")
	require.ErrorIs(t, b.TryLock(ctx), concurrency.ErrLocked)
	assert.Equal(t, []string{a.Key()}, keys(t, c, "trylock/"), "a failed TryLock leaves no key")
	assert.Empty(t, b.Key())
	require.ErrorIs(t, b.Unlock(ctx), concurrency.ErrNotLocked)
	require.NoError(t, a.Unlock(ctx))
	require.ErrorIs(t, a.Unlock(ctx), concurrency.ErrNotLocked)
	require.NoError(t, b.TryLock(ctx))
	require.NoError(t, b.Unlock(ctx))
	assert.Empty(t, keys(t, c, "trylock/"))
}

// Waiters get the lock in the order they asked for it.
func testMutexFairOrder(t *testing.T, c *clientv3.Client) {
	const waiters = 4
	ctx := testCtx(t, testTimeout)
	holder := concurrency.NewMutex(newSession(t, c), "fair")
	require.NoError(t, holder.Lock(ctx))
	order := make(chan int, waiters)
	errs := make([]<-chan error, waiters)
	for i := range waiters {
		mu := concurrency.NewMutex(newSession(t, c), "fair")
		errs[i] = result(func() error {
			if err := mu.Lock(ctx); err != nil {
				return err
			}
			order <- i
			return mu.Unlock(ctx)
		})
		waitKeys(t, c, "fair/", i+2) // i is in line before i+1 asks
	}
	require.NoError(t, holder.Unlock(ctx))
	for i := range waiters {
		require.NoError(t, recvErr(t, errs[i], 10*time.Second))
		assert.Equal(t, i, <-order)
	}
}

func testMutexFencing(t *testing.T, c *clientv3.Client) {
	ctx := testCtx(t, testTimeout)
	a := concurrency.NewMutex(newSession(t, c), "fencing")
	b := concurrency.NewMutex(newSession(t, c), "fencing")
	assert.Zero(t, a.Token())

	require.NoError(t, a.Lock(ctx))
	resp, err := c.Get(ctx, a.Key())
	require.NoError(t, err)
	assert.Equal(t, resp.Kvs[0].CreateRevision, a.Token())
	guarded, err := c.Txn(ctx).If(a.IsOwner()).Then(clientv3.OpPut("fencing-data", "a")).Commit()
	require.NoError(t, err)
	assert.True(t, guarded.Succeeded, "the holder's guarded write")
	tokenA := a.Token()
	bLocked := result(func() error { return b.Lock(ctx) })
	waitKeys(t, c, "fencing/", 2)
	require.NoError(t, a.Unlock(ctx))
	require.NoError(t, recvErr(t, bLocked, 10*time.Second))

	assert.Greater(t, b.Token(), tokenA, "a later holder has a larger token")
	guarded, err = c.Txn(ctx).If(a.IsOwner()).Then(clientv3.OpPut("fencing-data", "stale")).Commit()
	require.NoError(t, err)
	assert.False(t, guarded.Succeeded, "a former holder's guarded write")
	stale := concurrency.NewMutex(newSession(t, c), "fencing")
	guarded, err = c.Txn(ctx).If(stale.IsOwner()).Then(clientv3.OpPut("fencing-data", "never")).Commit()
	require.NoError(t, err)
	assert.False(t, guarded.Succeeded, "the guarded write of a Mutex never locked")
	require.NoError(t, b.Unlock(ctx))
}

func testMutexCancel(t *testing.T, c *clientv3.Client) {
	ctx := testCtx(t, testTimeout)
	holder := concurrency.NewMutex(newSession(t, c), "cancel")
	require.NoError(t, holder.Lock(ctx))
	waiter := concurrency.NewMutex(newSession(t, c), "cancel")
	wctx, cancel := context.WithCancel(ctx)
	locked := result(func() error { return waiter.Lock(wctx) })
	waitKeys(t, c, "cancel/", 2)
	cancel()
	require.ErrorIs(t, recvErr(t, locked, 10*time.Second), context.Canceled)
	assert.Equal(t, []string{holder.Key()}, keys(t, c, "cancel/"))

	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancelShort()
	require.ErrorIs(t, waiter.Lock(short), context.DeadlineExceeded)
	assert.Equal(t, []string{holder.Key()}, keys(t, c, "cancel/"))

	require.NoError(t, holder.Unlock(ctx))
	assert.Empty(t, keys(t, c, "cancel/"))
}

// The holder's lease is revoked (as when it expires): the lock passes to the
// waiter, and the former holder learns it from Session.Done, Check and
// Unlock.
func testMutexHolderExpires(t *testing.T, c *clientv3.Client) {
	ctx := testCtx(t, testTimeout)
	hs := newSession(t, c, concurrency.WithTTL(2))
	holder := concurrency.NewMutex(hs, "expiry")
	require.NoError(t, holder.Lock(ctx))
	require.NoError(t, holder.Check(ctx))
	waiter := concurrency.NewMutex(newSession(t, c), "expiry")
	locked := result(func() error { return waiter.Lock(ctx) })
	waitKeys(t, c, "expiry/", 2)

	_, err := c.Revoke(ctx, hs.Lease())
	require.NoError(t, err)
	require.NoError(t, recvErr(t, locked, 10*time.Second))
	select {
	case <-hs.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Session.Done not closed after its lease was revoked")
	}
	assert.ErrorIs(t, hs.Err(), concurrency.ErrSessionExpired)
	assert.ErrorIs(t, hs.Ctx().Err(), context.Canceled)
	assert.ErrorIs(t, holder.Check(ctx), concurrency.ErrLockLost)
	assert.ErrorIs(t, holder.Unlock(ctx), concurrency.ErrLockLost)
	require.NoError(t, waiter.Check(ctx))
	require.NoError(t, waiter.Unlock(ctx))
	assert.Empty(t, keys(t, c, "expiry/"))
}

func testMutexWaiterExpires(t *testing.T, c *clientv3.Client) {
	ctx := testCtx(t, testTimeout)
	holder := concurrency.NewMutex(newSession(t, c), "waiter-expiry")
	require.NoError(t, holder.Lock(ctx))
	ws := newSession(t, c, concurrency.WithTTL(2))
	waiter := concurrency.NewMutex(ws, "waiter-expiry")
	locked := result(func() error { return waiter.Lock(ctx) })
	waitKeys(t, c, "waiter-expiry/", 2)
	_, err := c.Revoke(ctx, ws.Lease())
	require.NoError(t, err)
	require.ErrorIs(t, recvErr(t, locked, 10*time.Second), concurrency.ErrSessionExpired)
	assert.Equal(t, []string{holder.Key()}, keys(t, c, "waiter-expiry/"))
	require.NoError(t, holder.Unlock(ctx))
}

// A holder that stops refreshing its lease (a stalled process) loses the
// lock once the TTL has passed, and the waiter gets it.
func testMutexHolderStalls(t *testing.T, c *clientv3.Client) {
	ctx := testCtx(t, testTimeout)
	hs := newSession(t, c, concurrency.WithTTL(2))
	holder := concurrency.NewMutex(hs, "stall")
	require.NoError(t, holder.Lock(ctx))
	waiter := concurrency.NewMutex(newSession(t, c), "stall")
	locked := result(func() error { return waiter.Lock(ctx) })
	waitKeys(t, c, "stall/", 2)
	start := time.Now()
	hs.Orphan()
	require.NoError(t, recvErr(t, locked, 15*time.Second))
	assert.GreaterOrEqual(t, time.Since(start), time.Second, "the lock passed before the TTL ran out")
	assert.ErrorIs(t, holder.Check(ctx), concurrency.ErrLockLost)
	require.NoError(t, waiter.Unlock(ctx))
}

// The server restarts while a waiter waits and while a Lock call is under
// way: the client reconnects, the waiter gets the lock when the holder lets
// go, and a Lock that gives up leaves no key.
func TestMutexServerRestart(t *testing.T) {
	eachServerKind(t, func(t *testing.T, start func() *hosttest.Process) {
		m := start()
		c := m.Client(t)
		ctx := testCtx(t, testTimeout)
		holder := concurrency.NewMutex(newSession(t, c), "restart")
		require.NoError(t, holder.Lock(ctx))
		waiter := concurrency.NewMutex(newSession(t, c), "restart")
		locked := result(func() error { return waiter.Lock(ctx) })
		waitKeys(t, c, "restart/", 2)
		late := concurrency.NewMutex(newSession(t, c), "restart")

		m.Kill()
		// A Lock whose context ends while the server is down.
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		gaveUp := result(func() error { return late.Lock(short) })
		time.Sleep(500 * time.Millisecond)
		m.Restart(t)

		require.Error(t, recvErr(t, gaveUp, 15*time.Second))
		blocked(t, locked, 200*time.Millisecond)
		require.NoError(t, holder.Unlock(ctx))
		require.NoError(t, recvErr(t, locked, 15*time.Second))
		assert.Equal(t, []string{waiter.Key()}, keys(t, c, "restart/"))
		require.NoError(t, waiter.Unlock(ctx))
		assert.Empty(t, keys(t, c, "restart/"))
	})
}

func TestLocker(t *testing.T) {
	eachServer(t, func(t *testing.T, m *hosttest.Process) {
		c := m.Client(t)
		const workers, rounds = 3, 3
		// Load and Store apart: without exclusion, increments get lost.
		var n atomic.Int32
		var wg sync.WaitGroup
		for range workers {
			l := concurrency.NewLocker(newSession(t, c), "locker")
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range rounds {
					l.Lock()
					v := n.Load()
					time.Sleep(time.Millisecond)
					n.Store(v + 1)
					l.Unlock()
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, int32(workers*rounds), n.Load())
		assert.Empty(t, keys(t, c, "locker/"))
	})
}
