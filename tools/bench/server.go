package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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

// server is one running single-member server process. It listens on
// loopback only and keeps its data and log under dir.
type server struct {
	spec    serverSpec
	dir     string
	dataDir string
	logPath string
	client  string
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
}

// startServer starts spec as a single member with a fresh data directory
// under parent and waits until it prints readyLine and answers a
// linearizable read.
func startServer(ctx context.Context, spec serverSpec, set serverSettings, parent string) (*server, error) {
	dir, err := os.MkdirTemp(parent, spec.Name+"-")
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	s := &server{
		spec:    spec,
		dir:     dir,
		dataDir: filepath.Join(dir, "data"),
		logPath: filepath.Join(dir, "server.log"),
		client:  fmt.Sprintf("http://127.0.0.1:%d", ports[0]),
		done:    make(chan struct{}),
	}
	peer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	args := []string{
		"--name", "default",
		"--data-dir", s.dataDir,
		"--listen-client-urls", s.client,
		"--advertise-client-urls", s.client,
		"--listen-peer-urls", peer,
		"--initial-advertise-peer-urls", peer,
		"--initial-cluster", "default=" + peer,
		"--snapshot-count", strconv.Itoa(set.SnapshotCount),
		"--heartbeat-interval", strconv.Itoa(set.HeartbeatMillis),
		"--election-timeout", strconv.Itoa(set.ElectionMillis),
	}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	s.cmd = exec.Command(spec.Bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	go func() { s.waitErr = s.cmd.Wait(); close(s.done) }()
	readyCtx, cancel := context.WithTimeout(ctx, time.Duration(set.ReadyTimeoutMilli)*time.Millisecond)
	defer cancel()
	if err := s.waitReady(readyCtx); err != nil {
		s.stop()
		return nil, fmt.Errorf("%s not ready: %w; log tail:\n%s", spec.Name, err, s.logTail(20))
	}
	return s, nil
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

// peakRSS returns the process's peak resident set size (VmHWM) in bytes.
func (s *server) peakRSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
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
