package host

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// TestGCFloorFollowsTheRate drives the floor through cycles as the runtime
// would run them: a burst of a few tens of milliseconds leaves the next
// cycle far from the floor; a sustained fast allocator reaches the floor
// within half a second and stays there however long it runs; quiet brings
// the next cycle back to one and a half times the live heap.
func TestGCFloorFollowsTheRate(t *testing.T) {
	const mib = 1 << 20
	const floor, live = 32 * mib, 6 * mib
	f := &gcFloor{floor: floor, at: time.Unix(0, 0)}
	start := f.at
	now, allocated := f.at, uint64(0)
	// cycle runs the next cycle once the heap has grown to the goal that
	// percent sets, at rate bytes a second.
	cycle := func(percent int, rate float64) int {
		p := uint64(percent)
		goal := max(runtimeHeapMinimum*p/100, live*(100+p)/100)
		grow := goal - live
		allocated += grow
		now = now.Add(time.Duration(float64(grow) / rate * float64(time.Second)))
		return f.next(live, allocated, now)
	}
	atFloor := gcPercentFor(live, floor, floor)

	// A member starting: 12 MB in 40 ms, then 20 MB/s.
	percent := cycle(cycle(100, 300*mib), 300*mib)
	require.Less(t, percent, 200, "a burst of 40 ms does not set the next cycle at the floor")
	for range 20 {
		percent = cycle(percent, 20*mib)
	}
	require.Equal(t, 83, percent, "20 MB/s grows the heap by 5 MB: less than the live heap, far from the floor")

	// 200 MB/s, for a while.
	from := now
	var reached time.Duration
	for range 1000 {
		percent = cycle(percent, 200*mib)
		if percent == atFloor && reached == 0 {
			reached = now.Sub(from)
		}
		if reached > 0 {
			require.Equal(t, atFloor, percent, "the floor is kept once reached")
		}
	}
	require.NotZero(t, reached, "the floor is reached")
	require.Less(t, reached, 500*time.Millisecond, "within half a second")
	require.Greater(t, now.Sub(start), 10*time.Second)

	// Cycles with no time between them (a coarse clock) change nothing,
	// however many.
	for range 100 {
		allocated += mib
		require.Equal(t, atFloor, f.next(live, allocated, now))
	}

	// Quiet: 1 MB/s.
	percent = cycle(percent, 1*mib)
	require.Equal(t, 50, percent, "the next cycle at one and a half times the live heap")
}
