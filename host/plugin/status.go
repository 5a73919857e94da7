package plugin

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/metastore/metastore/host/config"
)

// Status is what this process knows of the plugin of one kind and name it
// started, for the web console: whether a process of it runs, how often
// it was started again, why it last went down, and its calls.
type Status struct {
	Kind, Name string
	// Up is set from a launch until the supervisor sees the process go.
	Up       bool
	Restarts int
	// LastError is why the plugin last went down or failed to start, ""
	// when it never did; LastErrorAt is when.
	LastError   string
	LastErrorAt time.Time
	// Calls is how many calls the host made to it, and CallSeconds their
	// total duration. CallP99Seconds is the duration 99% of them took at
	// most, interpolated in the call duration histogram's buckets as
	// Prometheus's histogram_quantile does; 0 without calls.
	Calls          uint64
	CallSeconds    float64
	CallP99Seconds float64
}

// statusBook holds the Status of every plugin this process started.
type statusBook struct {
	mu     sync.Mutex
	byName map[string]*Status // by kind/name
}

var processStatuses = sync.OnceValue(func() *statusBook { return &statusBook{byName: map[string]*Status{}} })

func (b *statusBook) update(entry config.PluginEntry, f func(*Status)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	key := entry.Kind + "/" + entry.Name
	st := b.byName[key]
	if st == nil {
		st = &Status{Kind: entry.Kind, Name: entry.Name}
		b.byName[key] = st
	}
	f(st)
}

// recordRestart counts a start of entry's plugin after one of its kind
// and name ran before.
func recordRestart(entry config.PluginEntry) {
	processStatuses().update(entry, func(st *Status) { st.Restarts++ })
}

// recordLaunch records the outcome of a start of entry's plugin.
func recordLaunch(entry config.PluginEntry, err error) {
	processStatuses().update(entry, func(st *Status) {
		st.Up = err == nil
		if err != nil {
			st.LastError, st.LastErrorAt = err.Error(), time.Now()
		}
	})
}

// recordDown records that entry's plugin process went down, and why.
func recordDown(entry config.PluginEntry, cause error) {
	processStatuses().update(entry, func(st *Status) {
		st.Up = false
		if cause != nil {
			st.LastError, st.LastErrorAt = cause.Error(), time.Now()
		}
	})
}

// Statuses returns the Status of every plugin this process started, by
// kind then name.
func Statuses() []Status {
	b := processStatuses()
	b.mu.Lock()
	out := make([]Status, 0, len(b.byName))
	for _, st := range b.byName {
		out = append(out, *st)
	}
	b.mu.Unlock()
	calls := callTotals()
	for i := range out {
		c := calls[out[i].Kind+"/"+out[i].Name]
		out[i].Calls, out[i].CallSeconds = c.count, c.seconds
		out[i].CallP99Seconds = c.quantile(0.99)
	}
	slices.SortFunc(out, func(a, b Status) int {
		return strings.Compare(a.Kind+"/"+a.Name, b.Kind+"/"+b.Name)
	})
	return out
}

// callTotal is the call duration histogram of one plugin, summed over
// its methods.
type callTotal struct {
	count   uint64
	seconds float64
	buckets map[float64]uint64 // by upper bound: the calls that took at most that long
}

// quantile returns the duration a fraction q of the calls took at most,
// interpolated linearly within the bucket it falls in; the largest finite
// bound when it falls above it, 0 without calls.
func (t callTotal) quantile(q float64) float64 {
	if t.count == 0 {
		return 0
	}
	bounds := slices.Sorted(maps.Keys(t.buckets))
	rank := q * float64(t.count)
	lower, below := 0.0, uint64(0)
	for _, upper := range bounds {
		n := t.buckets[upper]
		if float64(n) >= rank && n > below {
			return lower + (upper-lower)*(rank-float64(below))/float64(n-below)
		}
		lower, below = upper, n
	}
	return lower
}

// callTotals sums the call duration histograms over methods, by
// kind/name.
func callTotals() map[string]callTotal {
	ch := make(chan prometheus.Metric)
	go func() {
		processPluginMetrics().duration.Collect(ch)
		close(ch)
	}()
	out := map[string]callTotal{}
	for m := range ch {
		var d dto.Metric
		if m.Write(&d) != nil || d.Histogram == nil {
			continue
		}
		labels := map[string]string{}
		for _, l := range d.Label {
			labels[l.GetName()] = l.GetValue()
		}
		key := labels["kind"] + "/" + labels["name"]
		t := out[key]
		t.count += d.Histogram.GetSampleCount()
		t.seconds += d.Histogram.GetSampleSum()
		if t.buckets == nil {
			t.buckets = map[float64]uint64{}
		}
		for _, b := range d.Histogram.Bucket {
			t.buckets[b.GetUpperBound()] += b.GetCumulativeCount()
		}
		out[key] = t
	}
	return out
}
