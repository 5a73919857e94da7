package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// The scale workload measures what a large store costs: it loads Ops keys
// (16-byte keys, 256-byte values) from 200 clients, then measures the
// server at rest: its resident memory, a count-only and a keys-only read
// of every key, and the time a restart takes until the member answers a
// linearizable read again. Its samples are the load's puts.
const (
	scaleSettle   = 3 * time.Second // rest before the resident memory is read
	scaleReads    = 3               // count-only and keys-only reads, the median is kept
	scalePageKeys = 100000          // keys-only reads page through the keys this many at a time
)

func scaleWorkloads() []workload {
	return []workload{
		{Name: "scale", Desc: "load 1,000,000 keys (16 B keys, 256 B values, 200 clients), then memory, full-range reads and restart",
			Clients: 200, Conns: 20, Ops: 1000000, Deadline: 400 * time.Second, Unit: "puts", run: runScale},
	}
}

// scaleKey returns the 16-byte key number i.
func scaleKey(i int) string { return fmt.Sprintf("/scale/%010d", i) }

func runScale(ctx context.Context, env *runEnv) (latencies, error) {
	if env.cluster == nil {
		return latencies{}, errors.New("scale: no cluster to restart")
	}
	val := string(env.value)
	cpuBefore, _ := env.cluster.cpuTime()
	genBefore := selfCPUTime()
	lat, err := closedLoop(ctx, env, func(ctx context.Context, c, i int) error {
		_, err := env.conn(c).Put(ctx, scaleKey(i), val)
		return err
	})
	if err != nil {
		return lat, err
	}
	keys := len(lat.samples)
	extra := map[string]float64{"keys": float64(keys)}
	// The CPU the load took, read before the restart replaces the process.
	if cpuAfter, _ := env.cluster.cpuTime(); keys > 0 {
		extra["load_cpu_us_per_op"] = float64(cpuAfter-cpuBefore) / float64(time.Microsecond) / float64(keys)
		extra["load_gen_cpu_us_per_op"] = float64(selfCPUTime()-genBefore) / float64(time.Microsecond) / float64(keys)
	}
	if extra["load_peak_rss_bytes"], err = floatOf(env.cluster.peakRSS()); err != nil {
		return lat, err
	}
	// The reads and the restart run on a context of their own: the load's
	// deadline may have ended it.
	rctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cli := env.conn(0)
	if extra["count_ms"], err = medianTime(scaleReads, func() error { return countAll(rctx, cli, keys) }); err != nil {
		return lat, err
	}
	if extra["keys_only_ms"], err = medianTime(scaleReads, func() error { return keysOnlyAll(rctx, cli, keys) }); err != nil {
		return lat, err
	}
	time.Sleep(scaleSettle)
	if extra["final_rss_bytes"], err = floatOf(env.cluster.rss()); err != nil {
		return lat, err
	}
	extra["bytes_per_key"] = extra["final_rss_bytes"] / float64(max(keys, 1))
	if extra["data_dir_bytes"], err = floatOf(env.cluster.diskUsage()); err != nil {
		return lat, err
	}
	restart, err := env.cluster.restart(rctx)
	if err != nil {
		return lat, fmt.Errorf("restart: %w", err)
	}
	extra["restart_ms"] = ms(restart)
	if err := countAll(rctx, cli, keys); err != nil {
		return lat, fmt.Errorf("after restart: %w", err)
	}
	lat.extra = extra
	return lat, nil
}

func floatOf(n int64, err error) (float64, error) { return float64(n), err }

// medianTime runs fn n times and returns the median of its times in ms.
func medianTime(n int, fn func() error) (float64, error) {
	times := make([]float64, 0, n)
	for range n {
		t0 := time.Now()
		if err := fn(); err != nil {
			return 0, err
		}
		times = append(times, ms(time.Since(t0)))
	}
	return median(times), nil
}

// countAll reads how many keys the scale prefix holds, and checks it.
func countAll(ctx context.Context, cli *clientv3.Client, want int) error {
	resp, err := cli.Get(ctx, "/scale/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return err
	}
	if resp.Count != int64(want) {
		return fmt.Errorf("count-only range: %d keys, want %d", resp.Count, want)
	}
	return nil
}

// keysOnlyAll reads every key of the scale prefix, without values, in pages
// of scalePageKeys at the revision of the first page, as a client listing a
// large prefix does.
func keysOnlyAll(ctx context.Context, cli *clientv3.Client, want int) error {
	end := clientv3.GetPrefixRangeEnd("/scale/")
	start, got, rev := "/scale/", 0, int64(0)
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithKeysOnly(), clientv3.WithLimit(scalePageKeys)}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := cli.Get(ctx, start, opts...)
		if err != nil {
			return err
		}
		rev = resp.Header.Revision
		got += len(resp.Kvs)
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	if got != want {
		return fmt.Errorf("keys-only range: %d keys, want %d", got, want)
	}
	return nil
}

// rss returns the sum over members of their current resident set size.
func (c *cluster) rss() (int64, error) {
	var total int64
	for _, m := range c.members {
		n, err := procField(m.cmd.Process.Pid, "VmRSS:")
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// restart stops every member and starts it again on the same data, and
// returns how long the members took from their start until each served a
// linearizable read.
func (c *cluster) restart(ctx context.Context) (time.Duration, error) {
	c.stop()
	t0 := time.Now()
	for _, m := range c.members {
		m.done = make(chan struct{})
		if err := m.start(m.settings, m.initial, m.extra); err != nil {
			return 0, err
		}
	}
	for _, m := range c.members {
		if err := m.waitReady(ctx); err != nil {
			return 0, fmt.Errorf("member %s not ready: %w; log tail:\n%s", m.name, err, m.logTail(20))
		}
	}
	return time.Since(t0), nil
}

// scaleFigures are the scale workload's figures at rest, as printed: name,
// extra key, and whether it is a byte count.
var scaleFigures = []struct {
	name, key string
	bytes     bool
}{
	{"final RSS", "final_rss_bytes", true},
	{"bytes/key", "bytes_per_key", false},
	{"count-only ms", "count_ms", false},
	{"keys-only ms", "keys_only_ms", false},
	{"restart ms", "restart_ms", false},
	{"data dir", "data_dir_bytes", true},
}

// printScale prints the scale workload's figures at rest, each server's
// median and the ratio metastore/etcd (below 1: metastore better).
func (r *report) printScale(out io.Writer) {
	e, eok := r.summary("scale", "etcd")
	m, mok := r.summary("scale", "metastore")
	if !mok || m.Status != statusOK || m.Extra == nil {
		return
	}
	fmt.Fprintf(out, "\nscale, %.0f keys: %-14s %12s %12s %7s\n", m.Extra["keys"], "", "etcd", "metastore", "ratio")
	for _, f := range scaleFigures {
		ev, mv := 0.0, m.Extra[f.key]
		if eok && e.Status == statusOK {
			ev = e.Extra[f.key]
		}
		show := func(v float64) string {
			if f.bytes {
				return fmtBytes(int64(v))
			}
			return fmt.Sprintf("%.0f", v)
		}
		fmt.Fprintf(out, "  %-28s %12s %12s %7s\n", f.name, show(ev), show(mv), fmtRatio(div(mv, ev)))
	}
}
