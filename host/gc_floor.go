package host

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"

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
// floor sets GOGC after each cycle from the live heap and the allocation
// rate (see tune and gcPercentFor): the next cycle starts once the heap
// has grown by what the last interval's rate allocates in half a second
// (gcMinInterval), at most up to the floor, and never sooner than Go's
// default (GOGC=100) would start it. A member under load, which allocates
// tens of MB a second or more, collects at the floor; one that allocates
// little (an idle member, or one serving a few large reads from pooled
// memory) collects at twice its live heap, as without a floor, instead of
// growing to the floor. Once twice the live heap passes the floor, GOGC is
// 100: a store of a million keys collects as it would without a floor.
// The Go runtime's memory limit (--memory-limit) still bounds the heap
// whatever GOGC says. TiDB's GOGC tuner likewise sets GOGC after each
// cycle from the heap in use.

const (
	// defaultGCHeapFloor is the floor when none is configured.
	defaultGCHeapFloor = 32 << 20
	// runtimeHeapMinimum is the heap size under which the runtime never
	// starts a cycle at GOGC=100; it scales with GOGC, so a GOGC set for
	// a tiny live heap must not raise it past the goal.
	runtimeHeapMinimum = 4 << 20
	// gcMinInterval is how long, at the last cycle's allocation rate,
	// the heap may grow between two cycles while under the floor.
	gcMinInterval = 500 * time.Millisecond
)

// gcFloor sets the heap's collection target from the allocation rate,
// between twice the live heap and floor bytes.
type gcFloor struct {
	floor   uint64
	samples []metrics.Sample // the live heap, and the bytes allocated so far
	percent int
	// allocated and at are the bytes allocated so far, and when, at the
	// last tuning; grow is the growth that tuning allowed.
	allocated uint64
	at        time.Time
	grow      uint64
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
	f := &gcFloor{floor: uint64(floor), percent: 100, grow: runtimeHeapMinimum, samples: []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/gc/heap/allocs:bytes"},
	}}
	// GOGC stays at 100 until the first cycle, whose tuning measures the
	// rate from here: a floor from the start would let everything a
	// member allocates while it starts pile up to it.
	metrics.Read(f.samples)
	if f.samples[1].Value.Kind() == metrics.KindUint64 {
		f.allocated, f.at = f.samples[1].Value.Uint64(), time.Now()
	}
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

// tune sets GOGC for the next cycle from the live heap the last one left
// and the rate at which the heap was allocated since the last tuning. The
// growth it allows at most doubles from one cycle to the next, so a burst
// (a member starting) does not set a large heap on its own: a sustained
// rate reaches the floor in a few cycles, within a fraction of a second.
// A tuning with no rate to go by aims at the floor.
func (f *gcFloor) tune() {
	metrics.Read(f.samples)
	if f.samples[0].Value.Kind() != metrics.KindUint64 || f.samples[1].Value.Kind() != metrics.KindUint64 {
		return
	}
	percent := f.next(f.samples[0].Value.Uint64(), f.samples[1].Value.Uint64(), time.Now())
	if percent == f.percent {
		return
	}
	f.percent = percent
	debug.SetGCPercent(percent)
}

// next returns the GOGC for the next cycle, given the live heap the last
// one left and the bytes allocated so far, at now.
func (f *gcFloor) next(live, allocated uint64, now time.Time) int {
	grow := f.floor
	if !f.at.IsZero() {
		grow = min(headroomFor(allocated-f.allocated, now.Sub(f.at)), 2*f.grow)
	}
	// grow past the floor would change nothing, and doubling it without
	// a bound would overflow.
	f.allocated, f.at, f.grow = allocated, now, min(max(grow, runtimeHeapMinimum), f.floor)
	return gcPercentFor(live, f.floor, grow)
}

// headroomFor returns what the heap allocates in gcMinInterval at the rate
// of allocated bytes in elapsed.
func headroomFor(allocated uint64, elapsed time.Duration) uint64 {
	if elapsed <= 0 {
		return math.MaxUint64
	}
	return uint64(float64(allocated) * float64(gcMinInterval) / float64(elapsed))
}

// gcPercentFor returns the GOGC under which a heap with live bytes left by
// the last cycle starts the next one once it has grown by grow bytes, but
// to at most floor, and at least to twice live (GOGC=100, Go's default):
// the floor never has the collector run more often than Go's default
// would. Once twice the live heap reaches the floor it is GOGC=100. The
// runtime's own minimum heap grows with GOGC (runtimeHeapMinimum×GOGC/100),
// so GOGC stays at most the value that puts that minimum at the goal.
func gcPercentFor(live, floor, grow uint64) int {
	if live*2 >= floor {
		return 100
	}
	goal := live + min(grow, floor-live)
	if goal <= 2*live {
		return 100
	}
	most := goal * 100 / runtimeHeapMinimum
	if live == 0 {
		return max(int(most), 100)
	}
	return max(int(min((goal-live)*100/live, most)), 100)
}
