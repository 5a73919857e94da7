// Command metastore-bench runs the same load against MetaStore and the
// reference etcd, side by side in one run, and reports the ratios.
//
// Each run starts one server (or, with -members n, a cluster of n members)
// on fresh data directories under a temporary directory, listening on
// 127.0.0.1 only, runs one workload against it with clientv3 (connections
// spread over the members), reads the peak RSS and data directory size
// (summed over members), and stops it. -engine rocksdb runs MetaStore on the
// RocksDB storage plugin. Runs are interleaved: every round runs each workload against every
// server in turn before the next workload, and the server order alternates
// between rounds (etcd first in odd rounds, MetaStore first in even ones) so
// neither always runs on a warmer machine. The table reports medians over
// rounds; the ratios are metastore/etcd of those medians.
//
// Every run is bounded by an operation count and a deadline; the whole
// benchmark is bounded by -timeout.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// mode is a preset of rounds and per-run bounds.
type mode struct {
	Name      string        `json:"name"`
	Rounds    int           `json:"rounds"`
	OpsScale  float64       `json:"ops_scale"`
	FixedOps  int           `json:"fixed_ops,omitempty"` // when set, every run's op count
	TimeScale float64       `json:"deadline_scale"`
	Timeout   time.Duration `json:"timeout_ns"`
}

var modes = map[string]mode{
	"smoke": {Name: "smoke", Rounds: 1, FixedOps: 200, TimeScale: 0.5, Timeout: 90 * time.Second},
	"short": {Name: "short", Rounds: 3, OpsScale: 1, TimeScale: 1, Timeout: 45 * time.Minute},
	"full":  {Name: "full", Rounds: 7, OpsScale: 5, TimeScale: 4, Timeout: 4 * time.Hour},
}

type options struct {
	mode          mode
	workloads     []workload
	servers       []serverSpec
	members       int
	engine        string
	rocksdbPlugin string
	outDir        string
	tmpParent     string
	check         bool
	keep          bool
	settings      serverSettings
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "render" {
		if err := render(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "metastore-bench:", err)
			os.Exit(1)
		}
		return
	}
	opts, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "metastore-bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, opts.mode.Timeout)
	defer cancel()
	if err := run(ctx, opts); err != nil {
		fmt.Fprintln(os.Stderr, "metastore-bench:", err)
		os.Exit(1)
	}
}

func parseFlags() (options, error) {
	var (
		o        options
		modeName = flag.String("mode", envOr("BENCH", "short"), "smoke, short or full (default $BENCH or short)")
		wlist    = flag.String("workloads", "all", "comma-separated workloads: "+workloadNames(workloads())+"; or auth: "+workloadNames(authWorkloads())+"; by name only: "+workloadNames(pauseWorkloads()))
		slist    = flag.String("servers", "etcd,metastore", "comma-separated servers to run: etcd, metastore")
		etcdBin  = flag.String("etcd", envOr("ETCD_BIN", "bin/etcd"), "reference etcd binary")
		msBin    = flag.String("metastore", envOr("METASTORE_BIN", "bin/metastore"), "metastore binary")
		rounds   = flag.Int("rounds", 0, "rounds (0: the mode's default)")
		ops      = flag.Int("ops", 0, "max operations per run for every workload (0: the mode's default)")
		timeout  = flag.Duration("timeout", 0, "bound on the whole benchmark (0: the mode's default)")
	)
	flag.IntVar(&o.members, "members", envInt("BENCH_MEMBERS", 1), "members per server: 1, or a cluster of n on loopback (default $BENCH_MEMBERS or 1)")
	flag.StringVar(&o.engine, "engine", envOr("BENCH_ENGINE", "bbolt"), "MetaStore's storage engine: bbolt, memory, or rocksdb (the plugin, see -rocksdb-plugin) (default $BENCH_ENGINE or bbolt)")
	flag.StringVar(&o.rocksdbPlugin, "rocksdb-plugin", "", "RocksDB plugin binary for -engine rocksdb (default metastore-storage-rocksdb next to the metastore binary)")
	flag.StringVar(&o.outDir, "out", "bench-results", "directory for the JSON results and SVG chart")
	flag.StringVar(&o.tmpParent, "tmp", "", "parent of the temporary data directories (default the system temp dir)")
	flag.BoolVar(&o.check, "check", false, "exit non-zero when a supported workload failed or had errors")
	flag.BoolVar(&o.keep, "keep", false, "keep data directories and server logs")
	flag.IntVar(&o.settings.SnapshotCount, "snapshot-count", 10000, "--snapshot-count for every server")
	flag.IntVar(&o.settings.HeartbeatMillis, "heartbeat-interval", 100, "--heartbeat-interval (ms) for every server")
	flag.IntVar(&o.settings.ElectionMillis, "election-timeout", 1000, "--election-timeout (ms) for every server")
	flag.Parse()
	o.settings.ReadyTimeoutMilli = 30000

	m, ok := modes[*modeName]
	if !ok {
		return o, fmt.Errorf("unknown mode %q (smoke, short, full)", *modeName)
	}
	if *rounds > 0 {
		m.Rounds = *rounds
	}
	if *ops > 0 {
		m.FixedOps = *ops
	}
	if *timeout > 0 {
		m.Timeout = *timeout
	}
	o.mode = m
	if o.members < 1 {
		return o, fmt.Errorf("-members %d: want at least 1", o.members)
	}
	switch o.engine {
	case "bbolt", "memory", "rocksdb":
	default:
		return o, fmt.Errorf("unknown engine %q (bbolt, memory, rocksdb)", o.engine)
	}
	if o.rocksdbPlugin == "" {
		o.rocksdbPlugin = filepath.Join(filepath.Dir(*msBin), "metastore-storage-rocksdb")
	}
	var err error
	if o.workloads, err = selectWorkloads(*wlist); err != nil {
		return o, err
	}
	for _, name := range strings.Split(*slist, ",") {
		switch strings.TrimSpace(name) {
		case "etcd":
			o.servers = append(o.servers, serverSpec{Name: "etcd", Bin: *etcdBin})
		case "metastore":
			spec := serverSpec{Name: "metastore", Bin: *msBin}
			if o.engine != "bbolt" {
				spec.Engine = o.engine
			}
			o.servers = append(o.servers, spec)
		default:
			return o, fmt.Errorf("unknown server %q (etcd, metastore)", name)
		}
	}
	for _, s := range o.servers {
		if _, err := exec.LookPath(s.Bin); err != nil {
			return o, fmt.Errorf("%s binary: %w (make build / make etcd)", s.Name, err)
		}
	}
	return o, nil
}

// render prints the table, the goals and the README tables of a saved
// report (metastore-bench render bench-results/<time>.json).
func render(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var r report
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	r.printTable(os.Stdout)
	fmt.Println()
	fmt.Print(r.markdown())
	return nil
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// bounds returns the op count and deadline of w in mode m.
func (m mode) bounds(w workload) (int, time.Duration) {
	ops := int(float64(w.Ops) * m.OpsScale)
	if m.FixedOps > 0 {
		ops = m.FixedOps
	}
	return max(ops, 1), time.Duration(float64(w.Deadline) * m.TimeScale)
}

func run(ctx context.Context, o options) error {
	started := time.Now()
	rep := &report{
		Time: started.UTC().Format(time.RFC3339), Mode: o.mode, Members: o.members,
		Settings: o.settings, Workloads: o.workloads,
		Host: hostInfo{CPUs: runtime.NumCPU(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, Kernel: kernel()},
	}
	for _, s := range o.servers {
		rep.Servers = append(rep.Servers, serverInfo{serverSpec: s, Version: version(s.Bin)})
	}
	tmp, err := os.MkdirTemp(o.tmpParent, "metastore-bench-")
	if err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(tmp)
	}
	for i := range o.servers {
		if o.servers[i].Engine == "rocksdb" {
			if o.servers[i].Config, err = writePluginConfig(tmp, o.rocksdbPlugin); err != nil {
				return err
			}
		}
	}
	for i, s := range o.servers {
		rep.Servers[i].serverSpec = s
	}
	fmt.Printf("metastore-bench: mode %s, %d round(s), %d workload(s), servers %s, %d member(s) each, metastore engine %s, data under %s\n",
		o.mode.Name, o.mode.Rounds, len(o.workloads), serverNames(o.servers), o.members, o.engine, tmp)
	for round := 1; round <= o.mode.Rounds; round++ {
		for _, w := range o.workloads {
			for _, s := range roundOrder(o.servers, round) {
				if ctx.Err() != nil {
					return fmt.Errorf("stopped before round %d %s on %s: %w", round, w.Name, s.Name, context.Cause(ctx))
				}
				r := runOne(ctx, o, tmp, s, w, round)
				rep.Runs = append(rep.Runs, r)
				fmt.Fprintf(os.Stderr, "  round %d  %-16s %-10s %s\n", round, w.Name, s.Name, r.line())
			}
		}
	}
	rep.ElapsedSec = time.Since(started).Seconds()
	rep.summarize(o.servers)
	rep.printTable(os.Stdout)
	if err := rep.write(o.outDir, started); err != nil {
		return err
	}
	if o.check {
		return rep.check()
	}
	return nil
}

// roundOrder returns the servers in the order round runs them: as given in
// odd rounds, reversed in even ones.
func roundOrder(servers []serverSpec, round int) []serverSpec {
	out := append([]serverSpec(nil), servers...)
	if round%2 == 0 {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out
}

// runOne starts a fresh server (o.members members), runs w against it and stops it.
func runOne(ctx context.Context, o options, tmp string, spec serverSpec, w workload, round int) runResult {
	r := runResult{Round: round, Workload: w.Name, Server: spec.Name, Status: statusOK}
	fail := func(err error) runResult {
		r.Status, r.Detail = statusFailed, err.Error()
		if errors.Is(err, errUnsupported) {
			r.Status = statusUnsupported
		}
		return r
	}
	authArgs, err := authServerArgs(w, tmp)
	if err != nil {
		return fail(err)
	}
	// Dirty pages left by what ran before (the build that make bench
	// starts with, the last run's removed data directory) would otherwise
	// be written back during this run, beside its fsyncs: put-1c, run
	// right after the build, measured etcd 17 % and MetaStore 27 % slower
	// than a few minutes later.
	syscall.Sync()
	srv, err := startCluster(ctx, spec, o.settings, tmp, o.members, authArgs...)
	defer func() {
		if srv != nil && !o.keep {
			os.RemoveAll(srv.dir)
		}
	}()
	if err != nil {
		return fail(err)
	}
	defer srv.stop()
	// Connections are spread over the members round robin.
	eps := srv.endpoints()
	dial := newClient
	if w.Auth != "" {
		if err := enableAuth(ctx, eps[0]); err != nil {
			return fail(err)
		}
		dial = newAuthClient
	}
	env := &runEnv{clients: w.Clients, value: benchValue(), cluster: srv}
	for i := range w.Conns {
		cli, err := dial(eps[i%len(eps)])
		if err != nil {
			return fail(err)
		}
		defer cli.Close()
		env.conns = append(env.conns, cli)
	}
	ops, deadline := o.mode.bounds(w)
	env.maxOps = ops
	rctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	cpuBefore, pidsBefore := srv.cpuTime()
	genBefore := selfCPUTime()
	lat, err := w.run(rctx, env)
	if err != nil {
		return fail(err)
	}
	genUsed := selfCPUTime() - genBefore
	r.fill(lat)
	if cpuAfter, pidsAfter := srv.cpuTime(); slices.Equal(pidsBefore, pidsAfter) && r.Ops > 0 {
		r.CPUPerOpUs = float64(cpuAfter-cpuBefore) / float64(time.Microsecond) / float64(r.Ops)
		r.GenCPUPerOpUs = float64(genUsed) / float64(time.Microsecond) / float64(r.Ops)
	}
	if r.PeakRSS, err = srv.peakRSS(); err != nil {
		return fail(err)
	}
	if peak, ok := r.Extra["load_peak_rss_bytes"]; ok {
		r.PeakRSS = int64(peak) // the workload restarted the server
		r.CPUPerOpUs, r.GenCPUPerOpUs = r.Extra["load_cpu_us_per_op"], r.Extra["load_gen_cpu_us_per_op"]
	}
	if r.DiskBytes, err = srv.diskUsage(); err != nil {
		return fail(err)
	}
	if r.Ops == 0 {
		return fail(fmt.Errorf("no operation completed within %v (%d errors)", deadline, r.Errors))
	}
	return r
}

// benchValue returns a value of valueSize bytes.
func benchValue() []byte {
	v := make([]byte, valueSize)
	for i := range v {
		v[i] = 'a' + byte(i%26)
	}
	return v
}

func serverNames(ss []serverSpec) string {
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = s.Name
	}
	return strings.Join(names, ",")
}

// version returns the first line of `bin --version`.
func version(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "unknown: " + err.Error()
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line)
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return runtime.GOOS
	}
	return strings.TrimSpace(string(b))
}
