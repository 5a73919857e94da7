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
		// grow, not at the floor, but never before twice the live heap.
		{live: 8 * mib, floor: 32 * mib, grow: 4 * mib, want: 100},  // at 16 MiB, Go's default
		{live: 8 * mib, floor: 32 * mib, grow: 12 * mib, want: 150}, // at 20 MiB
		{live: 8 * mib, floor: 32 * mib, grow: 30 * mib, want: 300}, // capped at the floor
		{live: 2 * mib, floor: 32 * mib, grow: 6 * mib, want: 200},  // at 8 MiB: the minimum heap at GOGC=200
		{live: 0, floor: 32 * mib, grow: 0, want: 100},              // an empty heap: the runtime's minimum, 4 MiB
		{live: 20 * mib, floor: 32 * mib, grow: 0, want: 100},       // past half the floor: GOGC=100 whatever the rate
	} {
		assert.Equal(t, tt.want, gcPercentFor(tt.live, tt.floor, tt.grow), "live %d grow %d", tt.live, tt.grow)
	}
}

func TestHeadroomFor(t *testing.T) {
	assert.Equal(t, uint64(50<<20), headroomFor(100<<20, time.Second), "half a second at 100 MB/s")
	assert.Equal(t, uint64(1<<20), headroomFor(240<<20, 2*time.Minute), "a forced cycle after two idle minutes")
	assert.Equal(t, uint64(math.MaxUint64), headroomFor(1, 0))
}

// TestGCFloorFollowsTheRate drives the floor through cycles as the runtime
// would run them: a sustained fast allocator ramps up to the floor within
// a few cycles and stays there however long it runs; a short burst then
// quiet brings the next cycle back near the live heap.
func TestGCFloorFollowsTheRate(t *testing.T) {
	const mib = 1 << 20
	const floor, live = 32 * mib, 6 * mib
	f := &gcFloor{floor: floor, grow: runtimeHeapMinimum, at: time.Unix(0, 0)}
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
	percent := 100
	var seen []int
	for range 1000 { // 200 MB/s, for a while
		percent = cycle(percent, 200*mib)
		seen = append(seen, percent)
	}
	require.Equal(t, gcPercentFor(live, floor, floor), seen[len(seen)-1], "at the floor after %v", seen[:8])
	require.Equal(t, seen[len(seen)-1], seen[4], "the floor is reached within five cycles: %v", seen[:8])
	for _, p := range seen[4:] {
		require.Equal(t, seen[4], p, "and kept")
	}

	// Cycles with no time between them (a coarse clock) read as fast
	// ones, however many.
	for range 100 {
		allocated += mib
		require.Equal(t, seen[4], f.next(live, allocated, now))
	}

	// Quiet: 1 MB/s.
	percent = cycle(percent, 1*mib)
	require.Equal(t, 100, percent, "the next cycle at twice the live heap")
}
