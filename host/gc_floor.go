package host

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
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
// floor sets GOGC after each cycle, and between cycles, from the live heap
// and the allocation rate (see next and gcPercentFor): the next cycle
// starts once the heap has grown by what the recent rate allocates in a
// quarter second (gcMinInterval), at most up to the floor, and not before
// it has grown by half the live heap (minGCPercent). A member under load,
// which allocates a hundred MB a second or more, collects at the floor; one
// that allocates little (an idle member, or one serving a few large reads
// from pooled memory) collects at one and a half times its live heap,
// instead of growing to the floor. Once twice the live heap passes the
// floor, GOGC is 100: a store of a million keys collects as it would
// without a floor. The Go runtime's memory limit (--memory-limit) still
// bounds the heap whatever GOGC says. TiDB's GOGC tuner likewise sets GOGC
// after each cycle from the heap in use.
//
// The rate is an average that follows a rising rate within riseWindow and a
// falling one within fallWindow, and the floor is tuned every tuneEvery as
// well as after each cycle. A member that goes from idle to 500 clients'
// puts thus collects at the floor from its third cycle, 0.14 s after the
// load starts (GODEBUG=gctrace=1): with one average of half a second for
// both directions, tuned only after each cycle, it took a third of a second
// and a dozen cycles at heaps of 3 to 27 MB, whose marking and assists made
// the first puts' latency the run's tail. Measured with metastore-bench
// put-500c beside etcd, five rounds each: MetaStore's p99 63.8–86.5 ms
// before, 53.8–59.2 after.
//
// Tuning between cycles is what makes a fast rise affordable: when a burst
// (a member starting, a client's first writes) has raised the target and
// ends, the next tune lowers it within tuneEvery instead of at the next
// cycle, which a heap allocating slowly reaches late. Without it, a rate
// that rose within 50 or 150 ms let range-1000's start (twenty clients
// reading 1,000 keys each, after a preload) set the heap's goal at 24 MB
// for most of a second of reads that keep 7 to 9 MB live, and the run's
// peak RSS rose from 39–42 MiB to 46–51 (three runs each). With it,
// range-1000's peak RSS was 40–41 MiB against 38–41 (five alternating runs
// each). Short runs of workloads that allocate fast (watch-fanout,
// lease-keepalive) now reach the floor before they end, and their peak RSS
// is the floor's.

const (
	// defaultGCHeapFloor is the floor when none is configured.
	defaultGCHeapFloor = 32 << 20
	// runtimeHeapMinimum is the heap size under which the runtime never
	// starts a cycle at GOGC=100; it scales with GOGC, so a GOGC set for
	// a tiny live heap must not raise it past the goal.
	runtimeHeapMinimum = 4 << 20
	// gcMinInterval is how long, at the recent allocation rate, the heap
	// may grow between two cycles while under the floor. Half a second
	// left range-1000's peak RSS at 48–50 MiB where a quarter left it at
	// 45–47 (four alternating runs each), the CPU per linearizable range
	// and per txn within the runs' spread.
	gcMinInterval = 250 * time.Millisecond
	// riseWindow and fallWindow are the time constants of the rate's
	// average when the rate is above it and below it: an interval of that
	// length weighs 1-1/e of the average.
	riseWindow = 50 * time.Millisecond
	fallWindow = 150 * time.Millisecond
	// tuneEvery is how often the floor is tuned between cycles.
	tuneEvery = 100 * time.Millisecond
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
	mu      sync.Mutex // tune runs after cycles and on a ticker
	floor   uint64
	samples []metrics.Sample // the live heap, and the bytes allocated so far
	percent int
	// allocated and at are the bytes allocated so far, and when, at the
	// last tuning; rate is the average allocation rate then, in bytes a
	// second.
	allocated uint64
	at        time.Time
	rate      float64
	stopped   bool
}

// applyGCHeapFloor starts the floor as GCHeapFloor says, unless GOGC is
// set in the environment, and returns what stops it.
func applyGCHeapFloor(lg *zap.Logger, c config.MemoryConfig, environ []string) (stop func()) {
	floor := c.GCHeapFloor
	switch {
	case floor < 0:
		return func() {}
	case envSet(environ, "GOGC"):
		lg.Info("garbage collector heap floor off: GOGC is set")
		return func() {}
	case floor == 0:
		floor = defaultGCHeapFloor
	}
	f := &gcFloor{floor: uint64(floor), percent: 100, samples: []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/gc/heap/allocs:bytes"},
	}}
	// GOGC stays at 100 until the first tune, and the rate starts at
	// zero from here: a floor from the start would let everything a
	// member allocates while it starts pile up to it.
	metrics.Read(f.samples)
	if f.samples[1].Value.Kind() == metrics.KindUint64 {
		f.allocated, f.at = f.samples[1].Value.Uint64(), time.Now()
	}
	f.arm()
	go f.tuneOnTicks()
	lg.Info("garbage collector heap floor", zap.Int64("bytes", floor))
	return f.stop
}

// tuneOnTicks tunes the floor every tuneEvery, until the first tick after
// it is stopped.
func (f *gcFloor) tuneOnTicks() {
	t := time.NewTicker(tuneEvery)
	defer t.Stop()
	for range t.C {
		if !f.tune() {
			return
		}
	}
}

// stop leaves GOGC at Go's default and the floor untuned from then on.
func (f *gcFloor) stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = true
	f.percent = 100
	debug.SetGCPercent(100)
}

// gcCycle is allocated for each collection cycle; its finalizer runs after
// the cycle that found it unreachable.
type gcCycle struct{ f *gcFloor }

// arm sets the floor to be tuned after the next collection.
func (f *gcFloor) arm() {
	runtime.SetFinalizer(&gcCycle{f: f}, func(c *gcCycle) {
		if c.f.tune() {
			c.f.arm()
		}
	})
}

// tune sets GOGC for the next cycle from the live heap the last one left
// and the average rate at which the heap has been allocated; false once
// the floor is stopped.
func (f *gcFloor) tune() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return false
	}
	metrics.Read(f.samples)
	if f.samples[0].Value.Kind() != metrics.KindUint64 || f.samples[1].Value.Kind() != metrics.KindUint64 {
		return true
	}
	percent := f.next(f.samples[0].Value.Uint64(), f.samples[1].Value.Uint64(), time.Now())
	if percent != f.percent {
		f.percent = percent
		debug.SetGCPercent(percent)
	}
	return true
}

// next returns the GOGC for the next cycle, given the live heap the last
// one left and the bytes allocated so far, at now. Cycles with no time
// between them (a coarse clock) leave the rate as it was, and their bytes
// count in the next interval that has a length.
func (f *gcFloor) next(live, allocated uint64, now time.Time) int {
	if elapsed := now.Sub(f.at); elapsed > 0 {
		r := float64(allocated-f.allocated) / elapsed.Seconds()
		window := fallWindow
		if r > f.rate {
			window = riseWindow
		}
		w := -math.Expm1(-float64(elapsed) / float64(window)) // 1-e^(-elapsed/window)
		f.rate += w * (r - f.rate)
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
