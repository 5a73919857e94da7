package host

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestGCPercentFor(t *testing.T) {
	const mib = 1 << 20
	for _, tt := range []struct {
		live, floor uint64
		want        int
	}{
		{live: 8 * mib, floor: 64 * mib, want: 700},   // the next cycle at 64 MiB
		{live: 16 * mib, floor: 64 * mib, want: 300},  // the same
		{live: 32 * mib, floor: 64 * mib, want: 100},  // twice the live heap is the floor
		{live: 500 * mib, floor: 64 * mib, want: 100}, // far above: GOGC's own default
		// A tiny heap: the runtime's minimum heap, 4 MiB×GOGC/100, is
		// then the floor.
		{live: 1024, floor: 64 * mib, want: 1600},
		{live: 0, floor: 64 * mib, want: 1600},
		{live: 2 * mib, floor: 32 * mib, want: 800},
	} {
		assert.Equal(t, tt.want, gcPercentFor(tt.live, tt.floor), "live %d", tt.live)
	}
}
