package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
	t.Run("fast writes reach the floor, slow ones do not", func(t *testing.T) {
		// A small value cache, and a raft log compacted every hundred
		// entries, keep the live heap small whatever is written.
		const floor = 24 * mib
		m := hosttest.StartMember(t, hosttest.WithArgs("--gc-heap-floor", fmt.Sprint(floor), "--value-cache-bytes", fmt.Sprint(mib),
			"--snapshot-count", "100", "--snapshot-catchup-entries", "50"))
		cli := m.Client(t)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		value := strings.Repeat("v", 8<<10)
		put := func(i int) {
			_, err := cli.Put(ctx, fmt.Sprintf("k%d", i%16), value)
			require.NoError(t, err)
		}
		var next float64
		require.Eventually(t, func() bool {
			done := make(chan struct{})
			for g := range 8 {
				go func() {
					defer func() { done <- struct{}{} }()
					for i := range 32 {
						put(g*32 + i)
					}
				}()
			}
			for range 8 {
				<-done
			}
			next, _ = goal(m)
			return next >= floor-mib
		}, 30*time.Second, time.Millisecond, "a fast writer's next cycle stayed at %.0f bytes", next)
		require.Eventually(t, func() bool {
			for i := range 5 {
				put(i)
				time.Sleep(20 * time.Millisecond)
			}
			next, _ = goal(m)
			return next < floor-4*mib
		}, 30*time.Second, time.Millisecond, "a slow writer's next cycle stayed at %.0f bytes", next)
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
		// The value cache (16 MiB) keeps what is written live: past 4 MiB
		// of it, twice the live heap is more than an 8 MiB floor.
		m := hosttest.StartMember(t, hosttest.WithArgs("--gc-heap-floor", fmt.Sprint(8*mib)))
		_, percent := goal(m)
		require.Greater(t, percent, 100.0, "an idle member keeps little live")
		cli := m.Client(t)
		value := strings.Repeat("v", 64<<10)
		require.Eventually(t, func() bool {
			for i := range 32 {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, err := cli.Put(ctx, fmt.Sprintf("k%03d", i), value)
				cancel()
				require.NoError(t, err)
			}
			_, percent = goal(m)
			return percent == 100
		}, 30*time.Second, 10*time.Millisecond, "GOGC stayed at %v", percent)
	})
}
