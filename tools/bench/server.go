package main

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// readyLine is the log line both etcd and MetaStore print once they serve
// client requests.
const readyLine = "ready to serve client requests"

// serverSpec names a server binary under test.
type serverSpec struct {
	Name string `json:"name"`
	Bin  string `json:"bin"`
	// Engine is MetaStore's storage engine ("" for the default, bbolt).
	Engine string `json:"engine,omitempty"`
	// Config is the --config-file every member gets (the plugin catalog
	// of a plugin engine); empty for none.
	Config string `json:"config,omitempty"`
}

// serverSettings are the flags every server is started with, so that both
// run with the same raft and snapshot settings. The backend quota is left at
// the default of each (2 GiB for both).
type serverSettings struct {
	SnapshotCount     int `json:"snapshot_count"`
	HeartbeatMillis   int `json:"heartbeat_ms"`
	ElectionMillis    int `json:"election_timeout_ms"`
	ReadyTimeoutMilli int `json:"ready_timeout_ms"`
}

// server is one running member process. It listens on
// loopback only and keeps its data and log under dir.
type server struct {
	spec    serverSpec
	name    string
	dir     string
	dataDir string
	logPath string
	client  string
	peer    string
	cmd     *exec.Cmd
	done    chan struct{}
	// settings, initial and extra are what the member was started with,
	// kept for a restart.
	settings serverSettings
	initial  string
	extra    []string
	waitErr  error
}

// cluster is the members of one server under test, started together on
// loopback with fresh data directories under dir.
type cluster struct {
	dir     string
	members []*server
}

// endpoints returns the members' client URLs, in member order.
func (c *cluster) endpoints() []string {
	out := make([]string, len(c.members))
	for i, m := range c.members {
		out[i] = m.client
	}
	return out
}

func (c *cluster) stop() {
	var wg sync.WaitGroup
	for _, m := range c.members {
		wg.Go(m.stop)
	}
	wg.Wait()
}

// cpuTime returns the CPU time (user and system) the members' process
// groups have used so far, and their leading pids: a member restarted
// in between (the scale workload's restart) makes two readings
// incomparable.
func (c *cluster) cpuTime() (time.Duration, []int) {
	var total time.Duration
	var pids []int
	for _, m := range c.members {
		pgid := m.cmd.Process.Pid
		pids = append(pids, pgid)
		forGroup(pgid, func(pid int, f []string) {
			// utime and stime, fields 14 and 15 of stat: 12 and 13
			// after the state.
			if len(f) > 12 {
				u, _ := strconv.ParseInt(f[11], 10, 64)
				s, _ := strconv.ParseInt(f[12], 10, 64)
				total += time.Duration(u+s) * time.Second / clockTicks
			}
		})
	}
	return total, pids
}

// selfCPUTime returns the CPU time (user and system) this process, the
// load generator, has used so far.
func selfCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// clockTicks is the kernel's USER_HZ, the unit of /proc's CPU times: 100
// on every Linux architecture Go runs on.
const clockTicks = 100

// forGroup calls fn with the fields of /proc/<pid>/stat after the
// command's name (state, ppid, pgrp, ...) of every process of the group.
func forGroup(pgid int, fn func(pid int, fields []string)) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		i := strings.LastIndexByte(string(b), ')')
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 3 || f[2] != strconv.Itoa(pgid) {
			continue
		}
		fn(pid, f)
	}
}

// peakRSS returns the sum over members of their peak RSS.
func (c *cluster) peakRSS() (int64, error) {
	var total int64
	for _, m := range c.members {
		n, err := m.peakRSS()
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// diskUsage returns the sum over members of their data directory size.
func (c *cluster) diskUsage() (int64, error) {
	var total int64
	for _, m := range c.members {
		n, err := m.diskUsage()
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// startCluster starts n members of spec with fresh data directories under
// parent. One member runs as etcd's single-member default ("default", no
// token); n > 1 bootstraps a new cluster with --initial-cluster-state new and
// a token of its own. more are flags every member gets. It waits until
// every member printed readyLine and answered a linearizable read.
func startCluster(ctx context.Context, spec serverSpec, set serverSettings, parent string, n int, more ...string) (*cluster, error) {
	dir, err := os.MkdirTemp(parent, spec.Name+"-")
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir}
	ports, err := freePorts(2 * n)
	if err != nil {
		return c, err
	}
	var initial []string
	for i := range n {
		name := "default"
		if n > 1 {
			name = fmt.Sprintf("m%d", i+1)
		}
		mdir := dir
		if n > 1 {
			mdir = filepath.Join(dir, name)
			if err := os.Mkdir(mdir, 0o755); err != nil {
				return c, err
			}
		}
		m := &server{
			spec:    spec,
			name:    name,
			dir:     mdir,
			dataDir: filepath.Join(mdir, "data"),
			logPath: filepath.Join(mdir, "server.log"),
			client:  fmt.Sprintf("http://127.0.0.1:%d", ports[2*i]),
			peer:    fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1]),
			done:    make(chan struct{}),
		}
		c.members = append(c.members, m)
		initial = append(initial, m.name+"="+m.peer)
	}
	var extra []string
	if n > 1 {
		extra = []string{"--initial-cluster-token", filepath.Base(dir), "--initial-cluster-state", "new"}
	}
	if spec.Config != "" {
		extra = append(extra, "--config-file", spec.Config)
	}
	if spec.Engine == "memory" {
		extra = append(extra, "--storage-engine", "memory")
	}
	extra = append(extra, more...)
	for _, m := range c.members {
		if err := m.start(set, strings.Join(initial, ","), extra); err != nil {
			c.stop()
			return c, err
		}
	}
	readyCtx, cancel := context.WithTimeout(ctx, time.Duration(set.ReadyTimeoutMilli)*time.Millisecond)
	defer cancel()
	for _, m := range c.members {
		if err := m.waitReady(readyCtx); err != nil {
			c.stop()
			return c, fmt.Errorf("%s member %s not ready: %w; log tail:\n%s", spec.Name, m.name, err, m.logTail(20))
		}
	}
	return c, nil
}

// start starts the member's process; initial is the --initial-cluster value.
func (s *server) start(set serverSettings, initial string, extra []string) error {
	s.settings, s.initial, s.extra = set, initial, extra
	args := []string{
		"--name", s.name,
		"--data-dir", s.dataDir,
		"--listen-client-urls", s.client,
		"--advertise-client-urls", s.client,
		"--listen-peer-urls", s.peer,
		"--initial-advertise-peer-urls", s.peer,
		"--initial-cluster", initial,
		"--snapshot-count", strconv.Itoa(set.SnapshotCount),
		"--heartbeat-interval", strconv.Itoa(set.HeartbeatMillis),
		"--election-timeout", strconv.Itoa(set.ElectionMillis),
	}
	args = append(args, extra...)
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	s.cmd = exec.Command(s.spec.Bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start %s member %s: %w", s.spec.Name, s.name, err)
	}
	go func() { s.waitErr = s.cmd.Wait(); close(s.done) }()
	return nil
}

func (s *server) waitReady(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !s.logContains(readyLine) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return fmt.Errorf("exited: %v", s.waitErr)
		case <-tick.C:
		}
	}
	cli, err := newClient(s.client)
	if err != nil {
		return err
	}
	defer cli.Close()
	for {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := cli.Get(rctx, "bench-ready-probe")
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last read: %v)", ctx.Err(), err)
		case <-s.done:
			return fmt.Errorf("exited: %v", s.waitErr)
		case <-tick.C:
		}
	}
}

func (s *server) logContains(line string) bool {
	b, err := os.ReadFile(s.logPath)
	return err == nil && strings.Contains(string(b), line)
}

func (s *server) logTail(n int) string {
	f, err := os.Open(s.logPath)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// peakRSS returns the sum of the peak resident set sizes (VmHWM) of the
// member's process group: the server and any process it started in its
// group (a storage plugin).
func (s *server) peakRSS() (int64, error) {
	pgid := s.cmd.Process.Pid
	total, err := procField(pgid, "VmHWM:")
	if err != nil {
		return 0, err
	}
	forGroup(pgid, func(pid int, _ []string) {
		if pid == pgid {
			return
		}
		if n, err := procField(pid, "VmHWM:"); err == nil {
			total += n
		}
	})
	return total, nil
}

// procField reads one kB field (such as "VmHWM:") of /proc/<pid>/status, in
// bytes.
func procField(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// diskUsage returns the bytes allocated on disk under the data directory
// (like du), so preallocated WAL files count at their allocated size.
func (s *server) diskUsage() (int64, error) {
	var total int64
	err := filepath.WalkDir(s.dataDir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			total += st.Blocks * 512
		}
		return nil
	})
	return total, err
}

// stop sends SIGTERM to the server's process group, then SIGKILL after 10s.
func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	pgid := s.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.done
	}
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// newClient opens one clientv3 connection to endpoint.
func newClient(endpoint string) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{
		Endpoints:          []string{endpoint},
		DialTimeout:        5 * time.Second,
		Logger:             zap.NewNop(),
		MaxCallRecvMsgSize: 64 << 20,
	})
}
