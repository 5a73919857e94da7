//go:build soak

package e2e

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metastore/metastore/host/hosttest"
)

// soakSample is one member's resources at one time.
type soakSample struct {
	elapsed time.Duration
	member  string
	pid     int
	values  [soakMetricCount]float64
}

// The sampled resources, their units and the growth each may show over
// the last two thirds of a run, at most the larger of a fraction of the
// first value and an absolute amount. A member restarted in that time is
// judged on the process that ran longest in it (a restart replays the
// WAL and starts from other values): the median of its first third of
// samples against the median of its last third. The data directory's
// allowance covers two new 64 MiB WAL segments preallocated before old
// ones are purged.
const (
	soakRSS = iota
	soakGoroutines
	soakOpenFiles
	soakDataDir
	soakMetricCount
)

var soakMetrics = [soakMetricCount]struct {
	name, unit string
	fraction   float64
	absolute   float64
}{
	soakRSS:        {"rss", "MiB", 0.25, 64},
	soakGoroutines: {"goroutines", "", 0.10, 50},
	soakOpenFiles:  {"open_files", "", 0.10, 20},
	soakDataDir:    {"data_dir", "MiB", 0.50, 160},
}

// soakCurves samples every member's resources.
type soakCurves struct {
	ms      []*hosttest.Process
	mu      sync.Mutex
	samples []soakSample
	end     time.Duration
}

func newSoakCurves(ms []*hosttest.Process) *soakCurves { return &soakCurves{ms: ms} }

func (c *soakCurves) run(ctx context.Context, t *testing.T, every time.Duration, start time.Time) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		for _, m := range c.ms {
			if s, ok := sampleMember(m, time.Since(start)); ok {
				c.mu.Lock()
				c.samples = append(c.samples, s)
				c.mu.Unlock()
			}
		}
		select {
		case <-ctx.Done():
			c.mu.Lock()
			c.end = time.Since(start)
			c.mu.Unlock()
			return
		case <-tick.C:
		}
	}
}

// sampleMember reads a running member's resources; ok is false while it
// restarts.
func sampleMember(m *hosttest.Process, elapsed time.Duration) (soakSample, bool) {
	pid := m.Pid()
	s := soakSample{elapsed: elapsed, member: m.Name(), pid: pid}
	if pid == 0 || !m.Running() {
		return s, false
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, false
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.Fields(rest)[0], 64)
			s.values[soakRSS] = kb / 1024
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, false
	}
	s.values[soakOpenFiles] = float64(len(fds))
	g, ok := scrapeGoroutines(m.Endpoint())
	if !ok {
		return s, false
	}
	s.values[soakGoroutines] = g
	var size int64
	_ = filepath.WalkDir(m.DataDir(), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				size += info.Size()
			}
		}
		return nil
	})
	s.values[soakDataDir] = float64(size) / (1 << 20)
	return s, true
}

// scrapeGoroutines reads go_goroutines from /metrics.
func scrapeGoroutines(endpoint string) (float64, bool) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(endpoint + "/metrics")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(body)) {
		if rest, ok := strings.CutPrefix(line, "go_goroutines "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v, err == nil
		}
	}
	return 0, false
}

// write writes soak.csv and soak.svg to dir.
func (c *soakCurves) write(dir string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	b.WriteString("elapsed_s,member")
	for _, m := range soakMetrics {
		b.WriteString("," + m.name)
		if m.unit != "" {
			b.WriteString("_" + strings.ToLower(m.unit))
		}
	}
	b.WriteByte('\n')
	for _, s := range c.samples {
		fmt.Fprintf(&b, "%.0f,%s", s.elapsed.Seconds(), s.member)
		for _, v := range s.values {
			fmt.Fprintf(&b, ",%.1f", v)
		}
		b.WriteByte('\n')
	}
	if err := os.WriteFile(filepath.Join(dir, "soak.csv"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "soak.svg"), []byte(c.svg()), 0o644)
}

// svg draws one panel per resource, a line per member.
func (c *soakCurves) svg() string {
	const w, panelH, pad = 760, 170, 50
	colors := []string{"#1f77b4", "#d62728", "#2ca02c"}
	total := max(c.end.Seconds(), 1)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n",
		w+2*pad, soakMetricCount*(panelH+pad)+pad)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	for i, metric := range soakMetrics {
		top := pad + i*(panelH+pad)
		top0 := float64(top)
		hi := 0.0
		for _, s := range c.samples {
			hi = max(hi, s.values[i])
		}
		hi = max(hi*1.1, 1)
		label := metric.name
		if metric.unit != "" {
			label += " (" + metric.unit + ")"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="13">%s, 0 to %.0f, over %.0f s</text>`+"\n", pad, top-8, label, hi, total)
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`+"\n", pad, top, w, panelH)
		// The last two thirds, whose growth is bounded.
		x3 := pad + w/3
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#bbb" stroke-dasharray="4"/>`+"\n", x3, top, x3, top+panelH)
		for j, m := range c.ms {
			var pts []string
			for _, s := range c.samples {
				if s.member != m.Name() {
					continue
				}
				x := float64(pad) + s.elapsed.Seconds()/total*float64(w)
				y := top0 + float64(panelH) - s.values[i]/hi*float64(panelH)
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
			}
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`+"\n", colors[j%len(colors)], strings.Join(pts, " "))
			if i == 0 {
				fmt.Fprintf(&b, `<text x="%d" y="%d" fill="%s">%s</text>`+"\n", pad+w-150+j*50, top-8, colors[j%len(colors)], m.Name())
			}
		}
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// requireFlat checks each member's growth over the last two thirds.
func (c *soakCurves) requireFlat(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.ms {
		byPid := map[int][]soakSample{}
		for _, s := range c.samples {
			if s.member == m.Name() && s.elapsed >= c.end/3 {
				byPid[s.pid] = append(byPid[s.pid], s)
			}
		}
		var run []soakSample
		for _, samples := range byPid {
			if len(samples) > len(run) {
				run = samples
			}
		}
		if len(run) < 3 {
			t.Errorf("soak: %s: %d samples of one process in the last two thirds; too few to judge", m.Name(), len(run))
			continue
		}
		third := len(run) / 3
		for i, metric := range soakMetrics {
			var early, late []float64
			for _, s := range run[:third] {
				early = append(early, s.values[i])
			}
			for _, s := range run[len(run)-third:] {
				late = append(late, s.values[i])
			}
			e, l := median(early), median(late)
			bound := math.Max(e*metric.fraction, metric.absolute)
			t.Logf("soak: %s (%d processes in the last two thirds, judged on one of %d samples, %.0f s to %.0f s) %s: %.1f then %.1f: growth %+.1f (bound %.1f)",
				m.Name(), len(byPid), len(run), run[0].elapsed.Seconds(), run[len(run)-1].elapsed.Seconds(), metric.name, e, l, l-e, bound)
			if l-e > bound {
				t.Errorf("soak: %s: %s grew by %.1f over the last two thirds, more than %.1f", m.Name(), metric.name, l-e, bound)
			}
		}
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
