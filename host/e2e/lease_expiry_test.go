package e2e

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

func keyExists(t *testing.T, cli *clientv3.Client, key string) bool {
	t.Helper()
	resp, err := cli.Get(context.Background(), key)
	require.NoError(t, err)
	return len(resp.Kvs) == 1
}

func TestLeaseExpiryAndKeepAlive(t *testing.T) {
	m := hosttest.StartMember(t)
	cli := m.Client(t)
	ctx := context.Background()
	kept, err := cli.Grant(ctx, 3)
	require.NoError(t, err)
	dropped, err := cli.Grant(ctx, 3)
	require.NoError(t, err)
	_, err = cli.Put(ctx, "kept", "v", clientv3.WithLease(kept.ID))
	require.NoError(t, err)
	_, err = cli.Put(ctx, "dropped", "v", clientv3.WithLease(dropped.ID))
	require.NoError(t, err)

	kaCtx, stopKeepAlive := context.WithCancel(ctx)
	ch, err := cli.KeepAlive(kaCtx, kept.ID)
	require.NoError(t, err)
	go func() {
		for range ch {
		}
	}()
	start := time.Now()
	require.Eventually(t, func() bool { return !keyExists(t, cli, "dropped") }, 10*time.Second, 100*time.Millisecond)
	require.GreaterOrEqual(t, time.Since(start), 2*time.Second, "not before the TTL")
	time.Sleep(2 * time.Second) // past the TTL of the kept lease too
	require.True(t, keyExists(t, cli, "kept"), "keepalives keep the lease")
	ttl, err := cli.TimeToLive(ctx, dropped.ID)
	require.NoError(t, err)
	require.Equal(t, int64(-1), ttl.TTL)

	stopKeepAlive()
	require.Eventually(t, func() bool { return !keyExists(t, cli, "kept") }, 10*time.Second, 100*time.Millisecond,
		"without keepalives the lease expires")
	resp, err := cli.KeepAliveOnce(ctx, kept.ID)
	require.ErrorContains(t, err, "requested lease not found", "got %v", resp)
}

// TestLeaseTTLContinuesAfterRestart checks the checkpoint rule: a member
// stopped gracefully checkpoints remaining TTLs, so a restart does not
// reset them; after a crash a lease never checkpointed gets its granted TTL
// again (plus the election timeout), never less time than it had.
func TestLeaseTTLContinuesAfterRestart(t *testing.T) {
	m := hosttest.StartMember(t)
	cli := m.Client(t)
	ctx := context.Background()
	long, err := cli.Grant(ctx, 60)
	require.NoError(t, err)
	short, err := cli.Grant(ctx, 8)
	require.NoError(t, err)
	_, err = cli.Put(ctx, "long", "v", clientv3.WithLease(long.ID))
	require.NoError(t, err)
	_, err = cli.Put(ctx, "short", "v", clientv3.WithLease(short.ID))
	require.NoError(t, err)
	time.Sleep(4 * time.Second)

	m.Restart(t) // SIGTERM: graceful
	restarted := time.Now()
	cli = m.Client(t)
	got, err := cli.TimeToLive(ctx, long.ID, clientv3.WithAttachedKeys())
	require.NoError(t, err)
	require.Less(t, got.TTL, int64(60), "the TTL continues after a restart")
	require.Greater(t, got.TTL, int64(45))
	require.Equal(t, int64(60), got.GrantedTTL)
	require.Equal(t, [][]byte{[]byte("long")}, got.Keys)
	// The short lease had about 4s left: it expires about then (plus the
	// election timeout), not 8s on.
	require.Eventually(t, func() bool { return !keyExists(t, cli, "short") }, 12*time.Second, 100*time.Millisecond)
	require.Less(t, time.Since(restarted), 7500*time.Millisecond)

	m.Kill()
	m.Restart(t)
	cli = m.Client(t)
	got, err = cli.TimeToLive(ctx, long.ID, clientv3.WithAttachedKeys())
	require.NoError(t, err)
	require.Greater(t, got.TTL, int64(45), "a crash never shortens a lease")
	require.LessOrEqual(t, got.TTL, int64(60+1), "at most its checkpointed TTL plus the election timeout")
	require.Equal(t, [][]byte{[]byte("long")}, got.Keys)
}

// TestManyLeasesExpireWhileClientsWrite lets 10,000 leases with a key each
// expire at once while clients write: revocations are rate limited (1000
// a second), so writes keep succeeding, and every lease and key goes.
func TestManyLeasesExpireWhileClientsWrite(t *testing.T) {
	const leases, granters = 10000, 32
	m := hosttest.StartMember(t)
	cli := m.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	start := time.Now()
	var wg sync.WaitGroup
	var next atomic.Int64
	for range granters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= leases; i = next.Add(1) {
				g, err := cli.Grant(ctx, 5)
				if !noLeaseError(t, err) {
					return
				}
				_, err = cli.Put(ctx, fmt.Sprintf("leased/%05d", i), "v", clientv3.WithLease(g.ID))
				if !noLeaseError(t, err) {
					return
				}
			}
		}()
	}
	wg.Wait()
	require.False(t, t.Failed())
	t.Logf("granted %d leases with a key each in %v", leases, time.Since(start))

	// Write while they expire, until every leased key is gone.
	var writes, failures atomic.Int64
	var slowest atomic.Int64
	stop := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				began := time.Now()
				wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
				_, err := cli.Put(wctx, fmt.Sprintf("writer/%d", w), fmt.Sprint(i))
				wcancel()
				if err != nil {
					failures.Add(1)
					continue
				}
				writes.Add(1)
				if d := int64(time.Since(began)); d > slowest.Load() {
					slowest.Store(d)
				}
			}
		}()
	}
	require.Eventually(t, func() bool {
		resp, err := cli.Get(ctx, "leased/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		return err == nil && resp.Count == 0
	}, 60*time.Second, 250*time.Millisecond, "every leased key is deleted")
	close(stop)
	wg.Wait()
	t.Logf("all expired %v after the first grant; %d writes meanwhile, slowest %v",
		time.Since(start), writes.Load(), time.Duration(slowest.Load()))
	require.Zero(t, failures.Load(), "writes keep succeeding while leases expire")
	require.Greater(t, writes.Load(), int64(100))
	require.Less(t, time.Duration(slowest.Load()), 2*time.Second)
	list, err := cli.Leases(ctx)
	require.NoError(t, err)
	require.Empty(t, list.Leases)
}

// noLeaseError reports err from a goroutine without stopping the test.
func noLeaseError(t *testing.T, err error) bool {
	if err != nil {
		t.Errorf("unexpected error: %v", err)
		return false
	}
	return true
}
