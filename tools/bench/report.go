package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// report is everything one benchmark run wrote: its settings, every run and
// the medians. It is saved as JSON so later runs can be compared.
type report struct {
	Time       string         `json:"time"`
	Mode       mode           `json:"mode"`
	Members    int            `json:"members"`
	Host       hostInfo       `json:"host"`
	Servers    []serverInfo   `json:"servers"`
	Settings   serverSettings `json:"server_settings"`
	Workloads  []workload     `json:"workloads"`
	ElapsedSec float64        `json:"elapsed_s"`
	Runs       []runResult    `json:"runs"`
	Summaries  []summary      `json:"summaries"`
	Ratios     []ratio        `json:"ratios"`
}

type hostInfo struct {
	CPUs   int    `json:"cpus"`
	GOOS   string `json:"goos"`
	GOARCH string `json:"goarch"`
	Kernel string `json:"kernel"`
}

type serverInfo struct {
	serverSpec
	Version string `json:"version"`
}

// ratio is metastore/etcd of the medians of one workload. Zero means not
// available (a server did not run it or did not support it).
type ratio struct {
	Workload   string  `json:"workload"`
	Throughput float64 `json:"throughput"` // higher is better for metastore
	P99        float64 `json:"p99"`        // lower is better for metastore
	PeakRSS    float64 `json:"peak_rss"`   // lower is better for metastore
	// CPUPerOp is the servers' CPU time per operation; lower is better
	// for metastore. On a machine the load generator shares, it shows
	// what the server costs, which throughput alone hides.
	CPUPerOp float64 `json:"server_cpu_per_op,omitempty"`
	// Note says why there is no ratio, e.g. "unsupported by metastore".
	Note string `json:"note,omitempty"`
}

func (r *report) summarize(servers []serverSpec) {
	for _, w := range r.Workloads {
		by := map[string]summary{}
		for _, s := range servers {
			var runs []runResult
			for _, run := range r.Runs {
				if run.Workload == w.Name && run.Server == s.Name {
					runs = append(runs, run)
				}
			}
			by[s.Name] = summarize(w.Name, s.Name, runs)
			r.Summaries = append(r.Summaries, by[s.Name])
		}
		e, eok := by["etcd"]
		m, mok := by["metastore"]
		if eok && mok && e.Status == statusOK && m.Status == statusOK {
			r.Ratios = append(r.Ratios, ratio{
				Workload:   w.Name,
				Throughput: div(m.OpsPerSec, e.OpsPerSec),
				P99:        div(m.P99Ms, e.P99Ms),
				PeakRSS:    div(float64(m.PeakRSS), float64(e.PeakRSS)),
				CPUPerOp:   div(m.CPUPerOpUs, e.CPUPerOpUs),
			})
		} else {
			r.Ratios = append(r.Ratios, ratio{Workload: w.Name, Note: missingRatio(e, eok, m, mok)})
		}
	}
}

// missingRatio says why a workload has no ratio.
func missingRatio(e summary, eok bool, m summary, mok bool) string {
	switch {
	case !eok || !mok:
		return "not run on both"
	case m.Status == statusUnsupported:
		return "unsupported by metastore"
	case e.Status == statusUnsupported:
		return "unsupported by etcd"
	}
	return "failed"
}

func div(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func (r *report) summary(workload, server string) (summary, bool) {
	for _, s := range r.Summaries {
		if s.Workload == workload && s.Server == server {
			return s, true
		}
	}
	return summary{}, false
}

func (r *report) ratio(workload string) ratio {
	for _, x := range r.Ratios {
		if x.Workload == workload {
			return x
		}
	}
	return ratio{}
}

// printTable writes the medians and ratios as an aligned table.
func (r *report) printTable(out io.Writer) {
	members := "1 member"
	if r.Members > 1 {
		members = fmt.Sprintf("%d-member clusters on loopback (clients spread over the members; peak RSS and data dir summed over members)", r.Members)
	}
	fmt.Fprintf(out, "\nMetaStore%s vs etcd (%s), %s, mode %s: medians of %d round(s), %.0fs total, %d CPUs (shared)\n",
		r.metastoreEngine(), r.etcdVersion(), members, r.Mode.Name, r.Mode.Rounds, r.ElapsedSec, r.Host.CPUs)
	fmt.Fprintln(out, "ratios are metastore/etcd: thr× above 1 = metastore faster; p99×, rss× and cpu× below 1 = metastore better")
	fmt.Fprintln(out, "cpu µs/op is the CPU time the server's processes used per operation; gen µs/op the load generator's")
	const row = "%-16s %-7s %-9s %9s %8s %8s %8s %9s %9s %6s %9s %9s %6s %6s %6s %6s\n"
	fmt.Fprintf(out, row, "workload", "cli/con", "server", "ops/s", "avg ms", "p50 ms", "p99 ms",
		"peak RSS", "data dir", "errors", "cpu µs/op", "gen µs/op", "thr×", "p99×", "rss×", "cpu×")
	for _, w := range r.Workloads {
		for _, srv := range r.Servers {
			s, ok := r.summary(w.Name, srv.Name)
			if !ok {
				continue
			}
			lead := fmt.Sprintf("%-16s %-7s %-9s ", w.Name, fmt.Sprintf("%d/%d", w.Clients, w.Conns), s.Server)
			switch s.Status {
			case statusUnsupported:
				fmt.Fprintf(out, "%s%9s unsupported by %s\n", lead, "-", s.Server)
				continue
			case statusFailed:
				fmt.Fprintf(out, "%s%9s failed: %s\n", lead, "-", firstLine(s.Detail, 70))
				continue
			}
			thr, p99, rss, cpu := "", "", "", ""
			if s.Server == "metastore" {
				x := r.ratio(w.Name)
				thr, p99, rss, cpu = fmtRatio(x.Throughput), fmtRatio(x.P99), fmtRatio(x.PeakRSS), fmtRatio(x.CPUPerOp)
			}
			cpuPerOp, genPerOp := "-", "-"
			if s.CPUPerOpUs > 0 {
				cpuPerOp, genPerOp = fmt.Sprintf("%.1f", s.CPUPerOpUs), fmt.Sprintf("%.1f", s.GenCPUPerOpUs)
			}
			fmt.Fprintf(out, row, w.Name, fmt.Sprintf("%d/%d", w.Clients, w.Conns), s.Server,
				fmt.Sprintf("%.0f", s.OpsPerSec), fmt.Sprintf("%.3f", s.AvgMs), fmt.Sprintf("%.3f", s.P50Ms),
				fmt.Sprintf("%.3f", s.P99Ms), fmtBytes(s.PeakRSS), fmtBytes(s.DiskBytes),
				fmt.Sprint(s.Errors), cpuPerOp, genPerOp, thr, p99, rss, cpu)
		}
	}
	fmt.Fprintln(out, "watch-fanout counts events delivered; its latency is put-to-delivery. lease-keepalive counts keepalive round trips.")
	r.printPauses(out)
	r.printScale(out)
	r.printGoals(out)
}

// isPause reports whether workload is one of the pause workloads.
func isPause(workload string) bool {
	for _, w := range pauseWorkloads() {
		if w.Name == workload {
			return true
		}
	}
	return false
}

// printPauses prints, for the pause workloads, the put latencies during
// the operation next to those before it.
func (r *report) printPauses(out io.Writer) {
	header := false
	for _, w := range r.Workloads {
		for _, srv := range r.Servers {
			s, ok := r.summary(w.Name, srv.Name)
			if !ok || s.Status != statusOK || s.Extra == nil || !isPause(w.Name) {
				continue
			}
			if !header {
				fmt.Fprintf(out, "\n%-16s %-9s %9s %14s %14s %14s %14s\n", "pause workload", "server", "op ms",
					"during p99 ms", "during max ms", "before p99 ms", "before max ms")
				header = true
			}
			fmt.Fprintf(out, "%-16s %-9s %9.0f %14.1f %14.1f %14.1f %14.1f\n", w.Name, s.Server, s.Extra["op_ms"],
				s.P99Ms, s.Extra["during_max_ms"], s.Extra["before_p99_ms"], s.Extra["before_max_ms"])
		}
	}
}

// metastoreEngine names MetaStore's storage engine when it is not the
// default.
func (r *report) metastoreEngine() string {
	for _, s := range r.Servers {
		if s.Name == "metastore" && s.Engine == "memory" {
			return " (storage engine: memory, built in)"
		}
		if s.Name == "metastore" && s.Engine != "" {
			return " (storage engine: " + s.Engine + " plugin)"
		}
	}
	return ""
}

func (r *report) etcdVersion() string {
	for _, s := range r.Servers {
		if s.Name == "etcd" {
			return strings.TrimPrefix(s.Version, "etcd Version: ")
		}
	}
	return "not run"
}

func fmtRatio(x float64) string {
	if x == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", x)
}

func fmtBytes(n int64) string {
	const mib = 1 << 20
	if n < mib {
		return fmt.Sprintf("%dKiB", n>>10)
	}
	if n >= 10*mib {
		return fmt.Sprintf("%.0fMiB", float64(n)/mib)
	}
	return fmt.Sprintf("%.1fMiB", float64(n)/mib)
}

func firstLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// write saves the report as <dir>/<timestamp>.json, the ratio chart as
// <dir>/<timestamp>.svg and the README's tables as <dir>/<timestamp>.md.
func (r *report) write(dir string, started time.Time) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	stem := filepath.Join(dir, started.Format("20060102-150405"))
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(stem+".json", append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := writeChart(stem+".svg", r); err != nil {
		return err
	}
	if err := writeMarkdown(stem+".md", r); err != nil {
		return err
	}
	fmt.Printf("results: %s.json, chart: %s.svg, README table: %s.md\n", stem, stem, stem)
	return nil
}

// check returns an error naming every run that failed or had errors;
// unsupported runs are not failures.
func (r *report) check() error {
	var errs []error
	for _, run := range r.Runs {
		switch {
		case run.Status == statusFailed:
			errs = append(errs, fmt.Errorf("round %d %s on %s failed: %s", run.Round, run.Workload, run.Server, run.Detail))
		case run.Errors > 0:
			errs = append(errs, fmt.Errorf("round %d %s on %s: %d errors", run.Round, run.Workload, run.Server, run.Errors))
		}
	}
	return errors.Join(errs...)
}

// line is the one-line progress report of a run.
func (r runResult) line() string {
	switch r.Status {
	case statusOK:
		line := fmt.Sprintf("%6d ops %8.0f ops/s  p99 %8.3f ms  errors %d", r.Ops, r.OpsPerSec, r.P99Ms, r.Errors)
		if r.Errors > 0 {
			line += " (" + firstLine(r.Detail, 100) + ")"
		}
		if r.Extra != nil && r.Workload == "scale" {
			line += fmt.Sprintf("  keys %.0f  final RSS %s (%.0f B/key)  count %.0f ms  keys-only %.0f ms  restart %.0f ms",
				r.Extra["keys"], fmtBytes(int64(r.Extra["final_rss_bytes"])), r.Extra["bytes_per_key"],
				r.Extra["count_ms"], r.Extra["keys_only_ms"], r.Extra["restart_ms"])
		} else if r.Extra != nil {
			line += fmt.Sprintf("  op %.0f ms  max during %.1f ms  before: p99 %.1f ms max %.1f ms",
				r.Extra["op_ms"], r.Extra["during_max_ms"], r.Extra["before_p99_ms"], r.Extra["before_max_ms"])
		}
		return line
	case statusUnsupported:
		return "unsupported"
	}
	return "failed: " + firstLine(r.Detail, 100)
}
