package host

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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
		// grow, at least 4 MiB, not at the floor.
		{live: 8 * mib, floor: 32 * mib, grow: 4 * mib, want: 50},   // at 12 MiB
		{live: 8 * mib, floor: 32 * mib, grow: 1 * mib, want: 50},   // the same: 4 MiB at least
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
