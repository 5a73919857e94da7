package host

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/metastore/metastore/host/config"
)

func TestGCPercentFor(t *testing.T) {
	const mib = 1 << 20
	const fast = math.MaxUint64 // allocating fast: the floor is the goal
	for _, tt := range []struct {
		live, floor, grow uint64
		want              int
	}{
		{live: 8 * mib, floor: 64 * mib, grow: fast, want: 700},   // the next cycle at 64 MiB
		{live: 16 * mib, floor: 64 * mib, grow: fast, want: 300},  // the same
		{live: 32 * mib, floor: 64 * mib, grow: fast, want: 100},  // twice the live heap is the floor
		{live: 500 * mib, floor: 64 * mib, grow: fast, want: 100}, // far above: GOGC's own default
		// A tiny heap: the runtime's minimum heap, 4 MiB×GOGC/100, is
		// then the floor.
		{live: 1024, floor: 64 * mib, grow: fast, want: 1600},
		{live: 0, floor: 64 * mib, grow: fast, want: 1600},
		{live: 2 * mib, floor: 32 * mib, grow: fast, want: 800},
		// Allocating slowly: the next cycle once the heap has grown by
		// grow, not at the floor, but never before one and a half times
		// the live heap.
		{live: 8 * mib, floor: 32 * mib, grow: 1 * mib, want: 50},   // at 12 MiB
		{live: 8 * mib, floor: 32 * mib, grow: 6 * mib, want: 75},   // at 14 MiB
		{live: 8 * mib, floor: 32 * mib, grow: 12 * mib, want: 150}, // at 20 MiB
		{live: 8 * mib, floor: 32 * mib, grow: 30 * mib, want: 300}, // capped at the floor
		{live: 2 * mib, floor: 32 * mib, grow: 6 * mib, want: 200},  // at 8 MiB: the minimum heap at GOGC=200
		{live: 0, floor: 32 * mib, grow: 0, want: 50},               // an empty heap: the runtime's minimum, 2 MiB at GOGC=50
		{live: 20 * mib, floor: 32 * mib, grow: 0, want: 100},       // past half the floor: GOGC=100 whatever the rate
	} {
		assert.Equal(t, tt.want, gcPercentFor(tt.live, tt.floor, tt.grow), "live %d grow %d", tt.live, tt.grow)
	}
}

func TestHeadroomAt(t *testing.T) {
	assert.Equal(t, uint64(25<<20), headroomAt(100<<20), "a quarter second at 100 MB/s")
	assert.Equal(t, uint64(0), headroomAt(0))
	assert.Equal(t, uint64(math.MaxUint64), headroomAt(math.Inf(1)))
}

// TestGCFloorFollowsTheRate drives the floor as the runtime and the ticker
// would, a millisecond at a time: a cycle whenever the heap reaches the
// goal GOGC sets, and a tune every tuneEvery between them. A sustained
// fast allocator reaches the floor within a tenth of a second and stays
// there however long it runs; a burst's raised goal comes down within a
// few tunes once it ends; quiet brings the next cycle back to one and a
// half times the live heap.
func TestGCFloorFollowsTheRate(t *testing.T) {
	const mib = 1 << 20
	const floor, live = 32 * mib, 6 * mib
	f := &gcFloor{floor: floor, at: time.Unix(0, 0)}
	now, allocated := f.at, uint64(0)
	percent, grown := 100, uint64(0) // grown: allocated since the last cycle
	sinceTune := time.Duration(0)
	goal := func() uint64 {
		p := uint64(percent)
		return max(runtimeHeapMinimum*p/100, live*(100+p)/100)
	}
	// run allocates at rate bytes a second for d, cycling and tuning on
	// the way, and returns the largest heap it reached.
	run := func(rate float64, d time.Duration) (peak uint64) {
		for range d / time.Millisecond {
			b := uint64(rate / 1000)
			now = now.Add(time.Millisecond)
			allocated += b
			grown += b
			peak = max(peak, live+grown)
			if sinceTune += time.Millisecond; sinceTune >= tuneEvery {
				sinceTune = 0
				percent = f.next(live, allocated, now)
			}
			if live+grown >= goal() {
				percent = f.next(live, allocated, now)
				grown = 0
			}
		}
		return peak
	}
	atFloor := gcPercentFor(live, floor, floor)

	// A member starting: 12 MB in 40 ms, then 20 MB/s.
	run(300*mib, 40*time.Millisecond)
	require.LessOrEqual(t, run(20*mib, time.Second)-live, uint64(12*mib),
		"the burst's goal comes down within a few tunes, long before the heap grows to the floor")
	run(20*mib, time.Second)
	require.Equal(t, 83, percent, "20 MB/s grows the heap by 5 MB: less than the live heap, far from the floor")

	// 200 MB/s, for a while.
	var reached time.Duration
	for step := time.Duration(0); step < 10*time.Second; step += time.Millisecond {
		run(200*mib, time.Millisecond)
		if percent == atFloor && reached == 0 {
			reached = step
		}
		if reached > 0 {
			require.Equal(t, atFloor, percent, "the floor is kept once reached")
		}
	}
	require.NotZero(t, reached, "the floor is reached")
	require.Less(t, reached, 150*time.Millisecond, "within a tenth of a second or so")

	// Cycles with no time between them (a coarse clock) change nothing,
	// however many.
	for range 100 {
		allocated += mib
		require.Equal(t, atFloor, f.next(live, allocated, now))
	}

	// Quiet: 1 MB/s.
	run(1*mib, time.Second)
	require.Equal(t, 50, percent, "the next cycle at one and a half times the live heap")
}

// TestGCFloorStop checks that a stopped floor leaves GOGC at Go's default
// and is no longer tuned.
func TestGCFloorStop(t *testing.T) {
	stop := applyGCHeapFloor(zap.NewNop(), config.MemoryConfig{}, nil)
	runtime.GC() // a cycle tunes the floor
	runtime.GC()
	stop()
	require.Equal(t, 100, debug.SetGCPercent(100), "GOGC back at Go's default")
	runtime.GC() // the finalizer of the armed cycle runs, and tunes nothing
	runtime.GC()
	time.Sleep(2 * tuneEvery)
	require.Equal(t, 100, debug.SetGCPercent(100), "nothing tuned after the stop")
}
