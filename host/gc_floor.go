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
// rate (see next and gcPercentFor): the next cycle starts once the heap
// has grown by what the recent rate allocates in a quarter second
// (gcMinInterval), at most up to the floor, and not before it has grown
// by half the live heap (minGCPercent). A member under load, which
// allocates a hundred MB a second or more, collects at the floor; one that
// allocates little (an idle member, or one serving a few large reads from
// pooled memory) collects at one and a half times its live heap, instead
// of growing to the floor. Once twice the live heap passes the floor, GOGC
// is 100: a store of a million keys collects as it would without a floor.
// The Go runtime's memory limit (--memory-limit) still bounds the heap
// whatever GOGC says. TiDB's GOGC tuner likewise sets GOGC after each
// cycle from the heap in use.
//
// The rate is averaged over about rateWindow, so a burst of a few tens of
// milliseconds (a member starting, a client's first writes) barely moves
// it, while a sustained load reaches the floor within half a second.
// Measured on range-1000 (twenty clients reading 1,000 keys each), the
// rate of the last interval alone let the start's burst set the heap at
// 23 MB for a second of reads that keep 6 to 8 MB live; the run's peak RSS
// was then 50 to 51 MiB, against 47 to 48 with no floor. Growth by half a
// second's allocation rather than a quarter's still left range-1000 at 48
// to 50 MiB, against 45 to 47 (four alternating runs each); linearizable
// ranges and txn-put, which allocate 80 and 180 MB a second, spent the
// same CPU per call within the runs' spread.

const (
	// defaultGCHeapFloor is the floor when none is configured.
	defaultGCHeapFloor = 32 << 20
	// runtimeHeapMinimum is the heap size under which the runtime never
	// starts a cycle at GOGC=100; it scales with GOGC, so a GOGC set for
	// a tiny live heap must not raise it past the goal.
	runtimeHeapMinimum = 4 << 20
	// gcMinInterval is how long, at the recent allocation rate, the heap
	// may grow between two cycles while under the floor.
	gcMinInterval = 250 * time.Millisecond
	// rateWindow is the time constant of the rate's average: an interval
	// of rateWindow weighs 1-1/e of it.
	rateWindow = 500 * time.Millisecond
	// minGCPercent is the least GOGC while twice the live heap is under
	// the floor: a heap that allocates slowly collects at one and a half
	// times what it keeps live, where Go's default collects at twice.
	// Its cycles are few, as it allocates slowly, and what it holds is
	// the memory a member under a light load costs. Measured on
	// range-1000 (twenty clients, 290 KB replies from pooled memory, 7 to
	// 9 MB live), MetaStore alone, four alternating runs of each build:
	// peak RSS 43–45 MiB at GOGC=100, 40–41 at 50, the CPU per call
	// within the runs' spread.
	minGCPercent = 50
)

// gcFloor sets the heap's collection target from the allocation rate,
// between one and a half times the live heap and floor bytes.
type gcFloor struct {
	floor   uint64
	samples []metrics.Sample // the live heap, and the bytes allocated so far
	percent int
	// allocated and at are the bytes allocated so far, and when, at the
	// last tuning; rate is the average allocation rate then, in bytes a
	// second.
	allocated uint64
	at        time.Time
	rate      float64
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
	f := &gcFloor{floor: uint64(floor), percent: 100, samples: []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/gc/heap/allocs:bytes"},
	}}
	// GOGC stays at 100 until the first cycle, and the rate starts at
	// zero from here: a floor from the start would let everything a
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
// and the average rate at which the heap has been allocated.
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
// one left and the bytes allocated so far, at now. Cycles with no time
// between them (a coarse clock) leave the rate as it was, and their bytes
// count in the next interval that has a length.
func (f *gcFloor) next(live, allocated uint64, now time.Time) int {
	if elapsed := now.Sub(f.at); elapsed > 0 {
		w := -math.Expm1(-float64(elapsed) / float64(rateWindow)) // 1-e^(-elapsed/rateWindow)
		f.rate += w * (float64(allocated-f.allocated)/elapsed.Seconds() - f.rate)
		f.allocated, f.at = allocated, now
	}
	return gcPercentFor(live, f.floor, headroomAt(f.rate))
}

// headroomAt returns what the heap allocates in gcMinInterval at rate
// bytes a second.
func headroomAt(rate float64) uint64 {
	h := rate * gcMinInterval.Seconds()
	if h >= math.MaxUint64 {
		return math.MaxUint64
	}
	return uint64(h)
}

// gcPercentFor returns the GOGC under which a heap with live bytes left by
// the last cycle starts the next one once it has grown by grow bytes, but
// to at most floor, and at least by half live (minGCPercent). Once twice
// the live heap reaches the floor it is GOGC=100, Go's default. The
// runtime's own minimum heap grows with GOGC (runtimeHeapMinimum×GOGC/100),
// so GOGC stays at most the value that puts that minimum at the goal.
func gcPercentFor(live, floor, grow uint64) int {
	if live*2 >= floor {
		return 100
	}
	goal := live + min(grow, floor-live)
	if goal <= live+live*minGCPercent/100 {
		return minGCPercent
	}
	most := goal * 100 / runtimeHeapMinimum
	if live == 0 {
		return max(int(most), minGCPercent)
	}
	return max(int(min((goal-live)*100/live, most)), minGCPercent)
}
