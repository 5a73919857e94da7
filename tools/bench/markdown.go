package main

import (
	"fmt"
	"os"
	"strings"
)

// markdown renders the medians and ratios as the Markdown tables README
// shows, with the run's date, machine and settings.
func (r *report) markdown() string {
	var b strings.Builder
	gs := goals(r.Members)
	fmt.Fprintf(&b, "Measured %s with `make bench` (mode %s, %d round(s), medians), %d member(s), MetaStore%s against etcd %s, on %d CPUs (Linux %s), load generator on the same machine.\n\n",
		r.Time, r.Mode.Name, r.Mode.Rounds, r.Members, r.metastoreEngine(), r.etcdVersion(), r.Host.CPUs, r.Host.Kernel)
	b.WriteString("| workload | etcd ops/s | MetaStore ops/s | throughput × | p99 × | peak RSS × | server CPU/op × | goal |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---|\n")
	for _, w := range r.Workloads {
		e, eok := r.summary(w.Name, "etcd")
		m, mok := r.summary(w.Name, "metastore")
		if !eok || !mok {
			continue
		}
		x := r.ratio(w.Name)
		fmt.Fprintf(&b, "| `%s` | %.0f | %.0f | %s | %s | %s | %s | %s |\n", w.Name, e.OpsPerSec, m.OpsPerSec,
			fmtRatio(x.Throughput), fmtRatio(x.P99), fmtRatio(x.PeakRSS), fmtRatio(x.CPUPerOp), goalText(gs[w.Name]))
	}
	e, eok := r.summary("scale", "etcd")
	m, mok := r.summary("scale", "metastore")
	if eok && mok && e.Status == statusOK && m.Status == statusOK && r.Members == 1 {
		fmt.Fprintf(&b, "\n| scale, %.0f keys, at rest | etcd | MetaStore | × | goal |\n|---|---:|---:|---:|---|\n", m.Extra["keys"])
		for _, f := range scaleFigures {
			show := func(v float64) string {
				if f.bytes {
					return fmtBytes(int64(v))
				}
				return fmt.Sprintf("%.0f", v)
			}
			g := ""
			if want, ok := scaleGoals[f.key]; ok {
				g = fmt.Sprintf("≤ %.2f", want)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", f.name, show(e.Extra[f.key]), show(m.Extra[f.key]),
				fmtRatio(div(m.Extra[f.key], e.Extra[f.key])), g)
		}
	}
	return b.String()
}

func goalText(g goal) string {
	var parts []string
	if g.Thr > 0 {
		parts = append(parts, fmt.Sprintf("throughput ≥ %.1f", g.Thr))
	}
	if g.P99 > 0 {
		parts = append(parts, fmt.Sprintf("p99 ≤ %.1f", g.P99))
	}
	if g.RSS > 0 {
		parts = append(parts, fmt.Sprintf("RSS ≤ %.1f", g.RSS))
	}
	return strings.Join(parts, ", ")
}

func writeMarkdown(path string, r *report) error {
	return os.WriteFile(path, []byte(r.markdown()), 0o644)
}
