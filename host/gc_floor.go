package host

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"

	"go.uber.org/zap"

	"github.com/metastore/metastore/host/config"
)

// The garbage collector starts a cycle when the heap reaches GOGC% more
// than what the last cycle left live. A member serving small requests
// keeps little live (a few MB) and allocates fast (gRPC alone allocates
// some 3 KB per call), so with GOGC=100 it collects ten or more times a
// second, and every cycle also scans each goroutine's stack and shrinks
// the idle ones, which the next call grows again.
//
// Measured on one member here (metastore-bench, load generator on the same
// two cores), a 32 MiB floor against none: server CPU per linearizable
// range 41.6 → 28.7 µs, per serializable range 31.6 → 23.0, per put under
// 500 clients 60.3 → 56.3; the runs' peak RSS rose from 34 to 63 MiB
// (reads) and 84 to 87 MiB (puts). A 64 MiB floor saved little more CPU
// (28.7, 22.0, 52.7) for about 100 MiB of RSS.
//
// Rather than a fixed GOGC, which would multiply a large heap too, the
// floor raises GOGC only while the live heap is small: after each cycle
// the next one is set to start at the floor, or at twice the live heap
// when that is more (GOGC=100 again). A store of a million keys is far
// above any floor and collects as it would without one. The Go runtime's
// memory limit (--memory-limit) still bounds the heap whatever GOGC says.
// TiDB's GOGC tuner works the same way.

const (
	// defaultGCHeapFloor is the floor when none is configured.
	defaultGCHeapFloor = 32 << 20
	// runtimeHeapMinimum is the heap size under which the runtime never
	// starts a cycle at GOGC=100; it scales with GOGC, so a GOGC set for
	// a tiny live heap must not raise it past the floor.
	runtimeHeapMinimum = 4 << 20
)

// gcFloor keeps the heap's collection target at or above floor bytes.
type gcFloor struct {
	floor   uint64
	live    []metrics.Sample
	percent int
}

// applyGCHeapFloor starts the floor as GCHeapFloor says, unless GOGC is
// set in the environment.
func applyGCHeapFloor(lg *zap.Logger, c config.MemoryConfig, environ []string) {
	floor := c.GCHeapFloor
	switch {
	case floor < 0:
		return
	case envSet(environ, "GOGC"):
		lg.Info("garbage collector heap floor off: GOGC is set")
		return
	case floor == 0:
		floor = defaultGCHeapFloor
	}
	f := &gcFloor{floor: uint64(floor), live: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}, percent: 100}
	f.tune()
	f.arm()
	lg.Info("garbage collector heap floor", zap.Int64("bytes", floor))
}

// gcCycle is allocated for each collection cycle; its finalizer runs after
// the cycle that found it unreachable.
type gcCycle struct{ f *gcFloor }

// arm sets the floor to be tuned after the next collection.
func (f *gcFloor) arm() {
	runtime.SetFinalizer(&gcCycle{f: f}, func(c *gcCycle) {
		c.f.tune()
		c.f.arm()
	})
}

// tune sets GOGC so that the next cycle starts at the floor, or at twice
// the live heap.
func (f *gcFloor) tune() {
	metrics.Read(f.live)
	if f.live[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	percent := gcPercentFor(f.live[0].Value.Uint64(), f.floor)
	if percent == f.percent {
		return
	}
	f.percent = percent
	debug.SetGCPercent(percent)
}

// gcPercentFor returns the GOGC under which a heap with live bytes left by
// the last cycle starts the next one at floor, or at twice live when that
// is more. The runtime's own minimum heap grows with GOGC
// (runtimeHeapMinimum×GOGC/100), so GOGC stays at most the value that
// puts that minimum at the floor: below that live size the floor itself
// is where the next cycle starts.
func gcPercentFor(live, floor uint64) int {
	if live*2 >= floor {
		return 100
	}
	most := floor * 100 / runtimeHeapMinimum
	if live == 0 {
		return int(most)
	}
	return int(min(floor*100/live-100, most))
}
