package main

import (
	"slices"
	"time"
)

// latencies is what one run measured: every completed operation's latency
// and how long the measured phase lasted.
type latencies struct {
	samples []time.Duration
	errors  int
	// firstErr is the first error an operation returned, when one did.
	firstErr error
	elapsed  time.Duration
	// extra holds workload-specific figures, such as a pause run's
	// baseline.
	extra map[string]float64
}

// runResult is one workload run against one server in one round.
type runResult struct {
	Round      int     `json:"round"`
	Workload   string  `json:"workload"`
	Server     string  `json:"server"`
	Status     string  `json:"status"` // "ok", "unsupported" or "failed"
	Detail     string  `json:"detail,omitempty"`
	Ops        int     `json:"ops"`
	Errors     int     `json:"errors"`
	ElapsedSec float64 `json:"elapsed_s"`
	OpsPerSec  float64 `json:"ops_per_s"`
	AvgMs      float64 `json:"avg_ms"`
	P50Ms      float64 `json:"p50_ms"`
	P99Ms      float64 `json:"p99_ms"`
	PeakRSS    int64   `json:"peak_rss_bytes"`
	DiskBytes  int64   `json:"data_dir_bytes"`
	// CPUPerOpUs is the CPU time the server's processes used during the
	// run, in microseconds per operation; 0 when not measured.
	CPUPerOpUs float64 `json:"server_cpu_us_per_op,omitempty"`
	// GenCPUPerOpUs is the CPU time the load generator (this process)
	// used during the run, in microseconds per operation.
	GenCPUPerOpUs float64 `json:"generator_cpu_us_per_op,omitempty"`
	// Extra holds workload-specific figures (pause runs: op_ms,
	// during_max_ms, before_p99_ms, before_max_ms).
	Extra map[string]float64 `json:"extra,omitempty"`
}

const (
	statusOK          = "ok"
	statusUnsupported = "unsupported"
	statusFailed      = "failed"
)

// fill computes throughput and latency figures from l.
func (r *runResult) fill(l latencies) {
	r.Ops, r.Errors, r.ElapsedSec = len(l.samples), l.errors, l.elapsed.Seconds()
	r.Extra = l.extra
	if l.firstErr != nil && r.Detail == "" {
		r.Detail = "first error: " + l.firstErr.Error()
	}
	if len(l.samples) == 0 || l.elapsed <= 0 {
		return
	}
	r.OpsPerSec = float64(len(l.samples)) / l.elapsed.Seconds()
	s := slices.Clone(l.samples)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	r.AvgMs = ms(sum / time.Duration(len(s)))
	r.P50Ms = ms(percentile(s, 50))
	r.P99Ms = ms(percentile(s, 99))
}

// percentile returns the nearest-rank p-th percentile of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// median returns the median of xs (the mean of the middle two for an even
// count), or 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// summary is the median over rounds of one workload on one server.
type summary struct {
	Workload  string  `json:"workload"`
	Server    string  `json:"server"`
	Status    string  `json:"status"`
	Detail    string  `json:"detail,omitempty"`
	Rounds    int     `json:"rounds"`
	Errors    int     `json:"errors"`
	OpsPerSec float64 `json:"ops_per_s"`
	AvgMs     float64 `json:"avg_ms"`
	P50Ms     float64 `json:"p50_ms"`
	P99Ms     float64 `json:"p99_ms"`
	PeakRSS   int64   `json:"peak_rss_bytes"`
	DiskBytes int64   `json:"data_dir_bytes"`
	// CPUPerOpUs is the median server CPU time per operation.
	CPUPerOpUs float64 `json:"server_cpu_us_per_op,omitempty"`
	// GenCPUPerOpUs is the median load generator CPU time per operation.
	GenCPUPerOpUs float64 `json:"generator_cpu_us_per_op,omitempty"`
	// Extra holds the medians of the runs' extra figures.
	Extra map[string]float64 `json:"extra,omitempty"`
}

// summarize takes the medians of the successful runs. A workload that any
// round found unsupported is unsupported; one with no successful run failed.
func summarize(workload, server string, runs []runResult) summary {
	s := summary{Workload: workload, Server: server, Status: statusOK}
	var thr, avg, p50, p99, rss, disk, cpu, gen []float64
	extra := map[string][]float64{}
	for _, r := range runs {
		s.Errors += r.Errors
		if r.Errors > 0 && s.Detail == "" {
			s.Detail = r.Detail
		}
		switch r.Status {
		case statusUnsupported:
			s.Status, s.Detail = statusUnsupported, r.Detail
		case statusFailed:
			if s.Detail == "" {
				s.Detail = r.Detail
			}
		case statusOK:
			thr, avg = append(thr, r.OpsPerSec), append(avg, r.AvgMs)
			p50, p99 = append(p50, r.P50Ms), append(p99, r.P99Ms)
			rss, disk = append(rss, float64(r.PeakRSS)), append(disk, float64(r.DiskBytes))
			if r.CPUPerOpUs > 0 {
				cpu = append(cpu, r.CPUPerOpUs)
			}
			if r.GenCPUPerOpUs > 0 {
				gen = append(gen, r.GenCPUPerOpUs)
			}
			for k, v := range r.Extra {
				extra[k] = append(extra[k], v)
			}
		}
	}
	s.Rounds = len(thr)
	if s.Status == statusOK && s.Rounds == 0 {
		s.Status = statusFailed
	}
	s.OpsPerSec, s.AvgMs, s.P50Ms, s.P99Ms = median(thr), median(avg), median(p50), median(p99)
	s.PeakRSS, s.DiskBytes = int64(median(rss)), int64(median(disk))
	s.CPUPerOpUs, s.GenCPUPerOpUs = median(cpu), median(gen)
	for k, vs := range extra {
		if s.Extra == nil {
			s.Extra = map[string]float64{}
		}
		s.Extra[k] = median(vs)
	}
	return s
}
