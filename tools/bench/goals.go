package main

import (
	"fmt"
	"io"
	"strings"
)

// goal is what MetaStore aims for on one workload, as ratios metastore/etcd
// of the medians: throughput at least Thr, p99 latency and peak RSS at most
// P99 and RSS. Zero fields set no goal.
type goal struct {
	Thr, P99, RSS float64
}

// goals returns the goals for runs of one member, or of clusters of three
// when members > 1 (where only some workloads have one).
func goals(members int) map[string]goal {
	if members > 1 {
		return map[string]goal{
			"put-1c":    {Thr: 1.3},
			"put-500c":  {Thr: 1.3},
			"range-lin": {Thr: 1.3},
		}
	}
	return map[string]goal{
		"put-1c":          {Thr: 1.3},
		"put-500c":        {Thr: 1.5, P99: 0.8},
		"range-lin":       {Thr: 1.3},
		"range-ser":       {Thr: 1.3},
		"range-1000":      {Thr: 1.5, RSS: 0.8},
		"txn-put":         {Thr: 1.5},
		"watch-fanout":    {Thr: 1.5},
		"lease-keepalive": {Thr: 1.5},
		"scale":           {Thr: 1.3, RSS: 0.8},
	}
}

// scaleGoals are the goals on the scale workload's figures at rest, as the
// highest ratio metastore/etcd, by extra key.
var scaleGoals = map[string]float64{
	"final_rss_bytes": 0.8,
	"count_ms":        0.5,
	"keys_only_ms":    0.5,
	"restart_ms":      0.5,
}

// serverCPUNeeded is, for a workload that keeps every core busy (its
// throughput is then the cores over the CPU one operation takes, the
// server's and the load generator's), the largest server CPU per
// operation, as a ratio to etcd's, with which MetaStore reaches the
// throughput ratio goal beside the same load generator. It shows how far
// a goal is from the server's reach: below zero, not even a server that
// took no CPU would reach it.
func (r *report) serverCPUNeeded(workload string, goal float64) (float64, bool) {
	e, eok := r.summary(workload, "etcd")
	m, mok := r.summary(workload, "metastore")
	if !eok || !mok || e.CPUPerOpUs == 0 || m.GenCPUPerOpUs == 0 || goal == 0 {
		return 0, false
	}
	return ((e.CPUPerOpUs+e.GenCPUPerOpUs)/goal - m.GenCPUPerOpUs) / e.CPUPerOpUs, true
}

// workloadErrors returns how many operations of workload failed on
// either server, and the first failure's detail.
func (r *report) workloadErrors(workload string) (int, string) {
	errs, detail := 0, ""
	for _, server := range []string{"etcd", "metastore"} {
		if s, ok := r.summary(workload, server); ok && s.Errors > 0 {
			errs += s.Errors
			if detail == "" {
				detail = s.Detail
			}
		}
	}
	return errs, detail
}

// printGoals prints each ratio that has a goal beside it, marking those
// that fall short.
func (r *report) printGoals(out io.Writer) {
	gs := goals(r.Members)
	var lines []string
	check := func(what string, got, want float64, higherIsBetter bool) {
		if want == 0 || got == 0 {
			return
		}
		ok, cmp := got <= want, "≤"
		if higherIsBetter {
			ok, cmp = got >= want, "≥"
		}
		mark := "met"
		if !ok {
			mark = "SHORT"
		}
		lines = append(lines, fmt.Sprintf("  %-34s %6.2f   goal %s %.2f   %s", what, got, cmp, want, mark))
	}
	for _, w := range r.Workloads {
		g, ok := gs[w.Name]
		if !ok {
			continue
		}
		// A run whose operations failed did not do the same work on
		// both servers: none of its ratios counts.
		if errs, detail := r.workloadErrors(w.Name); errs > 0 {
			lines = append(lines, fmt.Sprintf("  %-34s %d errors (%s): not compared   SHORT", w.Name, errs, firstLine(detail, 60)))
			continue
		}
		x := r.ratio(w.Name)
		check(w.Name+" throughput", x.Throughput, g.Thr, true)
		// One client waits on each reply: latency, not the cores, bounds it.
		if need, ok := r.serverCPUNeeded(w.Name, g.Thr); ok && w.Clients > 1 && x.Throughput > 0 && x.Throughput < g.Thr {
			lines = append(lines, fmt.Sprintf("  %-34s %6.2f   needs server CPU/op ≤ %.2f of etcd's, where the cores are saturated", "  server CPU/op", x.CPUPerOp, need))
		}
		check(w.Name+" p99", x.P99, g.P99, false)
		check(w.Name+" peak RSS", x.PeakRSS, g.RSS, false)
		if w.Name == "scale" && r.Members == 1 {
			e, eok := r.summary("scale", "etcd")
			m, mok := r.summary("scale", "metastore")
			if eok && mok && e.Status == statusOK && m.Status == statusOK {
				for _, f := range scaleFigures {
					if want, ok := scaleGoals[f.key]; ok {
						check("scale "+f.name, div(m.Extra[f.key], e.Extra[f.key]), want, false)
					}
				}
			}
		}
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintln(out, "\ngoals (ratios metastore/etcd):")
	fmt.Fprintln(out, strings.Join(lines, "\n"))
}
