package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/metastore/metastore/host/hosttest"
)

// TestGCHeapFloor checks, through the Go runtime's own metrics, that the
// garbage collector's heap floor lets the heap grow to it while writes
// allocate fast, holds it near the live heap while they allocate slowly,
// steps aside once the live heap is past half of it, and stays off when
// turned off or when GOGC is set.
func TestGCHeapFloor(t *testing.T) {
	const mib = 1 << 20
	goal := func(m *hosttest.Process) (next, percent float64) {
		f := scrape(t, m.Endpoint())
		return value(t, f, "go_memstats_next_gc_bytes"), value(t, f, "go_gc_gogc_percent")
	}

	t.Run("default", func(t *testing.T) {
		m := hosttest.StartMember(t)
		require.Contains(t, m.Output(), `"garbage collector heap floor","bytes":33554432`)
	})
	// Small-heap members: a small value cache, and a raft log compacted
	// every hundred entries, keep the live heap small unless the values
	// written are large.
	smallHeap := func(floor int) *hosttest.Process {
		return hosttest.StartMember(t, hosttest.WithArgs("--gc-heap-floor", fmt.Sprint(floor), "--value-cache-bytes", fmt.Sprint(mib),
			"--snapshot-count", "100", "--snapshot-catchup-entries", "50"))
	}
	t.Run("fast writes reach the floor, slow ones do not", func(t *testing.T) {
		const floor = 24 * mib
		m := smallHeap(floor)
		cli := m.Client(t)
		require.Eventually(t, func() bool {
			writeFast(t, cli, 8<<10)
			next, _ := goal(m)
			return next >= floor-mib
		}, 30*time.Second, time.Millisecond, "a fast writer's next cycle stayed under the floor")
		value := strings.Repeat("v", 8<<10)
		require.Eventually(t, func() bool {
			for i := range 5 {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, err := cli.Put(ctx, fmt.Sprintf("k%d", i), value)
				cancel()
				require.NoError(t, err)
				time.Sleep(20 * time.Millisecond)
			}
			next, percent := goal(m)
			return next < floor-4*mib && percent == 50
		}, 30*time.Second, time.Millisecond, "a slow writer's next cycle did not come down to one and a half times the live heap (GOGC=50)")
	})
	t.Run("off", func(t *testing.T) {
		m := hosttest.StartMember(t, hosttest.WithArgs("--gc-heap-floor", "-1"))
		_, percent := goal(m)
		require.Equal(t, 100.0, percent)
	})
	t.Run("GOGC wins", func(t *testing.T) {
		m := hosttest.StartMember(t, hosttest.WithEnv("GOGC=50"))
		_, percent := goal(m)
		require.Equal(t, 50.0, percent)
		require.Contains(t, m.Output(), "garbage collector heap floor off: GOGC is set")
	})
	t.Run("a live heap past half the floor collects at GOGC=100", func(t *testing.T) {
		// Fast writes of 8 KB values keep some 9 MB live: under half of
		// 24 MiB, past half of 16.
		m := smallHeap(24 * mib)
		cli := m.Client(t)
		require.Eventually(t, func() bool {
			writeFast(t, cli, 8<<10)
			_, percent := goal(m)
			return percent > 100
		}, 30*time.Second, time.Millisecond, "fast writes to a small heap left GOGC at 100")
		// The raft log's last hundred-odd entries of 128 KiB each are
		// live: twice that is past the floor.
		require.Eventually(t, func() bool {
			writeFast(t, cli, 128<<10)
			_, percent := goal(m)
			return percent == 100
		}, 30*time.Second, time.Millisecond, "GOGC stayed above 100")
	})
}

// writeFast has 16 clients put 16 values of size bytes each, at once.
func writeFast(t *testing.T, cli *clientv3.Client, size int) {
	t.Helper()
	value := strings.Repeat("v", size)
	errc := make(chan error, 16)
	for g := range 16 {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			for i := range 16 {
				if _, err := cli.Put(ctx, fmt.Sprintf("k%d", (g*16+i)%32), value); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
	}
	for range 16 {
		require.NoError(t, <-errc)
	}
}
