package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// member is one running metastore process and a client of it.
type member struct {
	cmd     *exec.Cmd
	cli     *clientv3.Client
	logPath string
	done    chan error
}

// startMember starts metastore with the config file cfg and its data in
// dir, on the loopback ports given (the same across restarts: the peer URL
// is part of the member's identity), and waits until it answers.
func startMember(ctx context.Context, bin, cfg, dir string, ports []int) (*member, error) {
	clientURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	logPath := filepath.Join(dir, "member.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "--config-file", cfg, "--name", "bench",
		"--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "bench="+peerURL, "--log-level", "warn",
		// No raft snapshot within a run: every server does the same work.
		"--snapshot-count", "1000000")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	m := &member{cmd: cmd, logPath: logPath, done: make(chan error, 1)}
	go func() { m.done <- cmd.Wait() }()
	m.cli, err = clientv3.New(clientv3.Config{Endpoints: []string{clientURL}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err == nil {
		err = waitReady(ctx, m)
	}
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("starting %s: %w (log %s)", bin, err, logPath)
	}
	return m, nil
}

func waitReady(ctx context.Context, m *member) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := m.cli.Get(cctx, "ready-check")
		cancel()
		if err == nil {
			return nil
		}
		select {
		case exitErr := <-m.done:
			return fmt.Errorf("exited: %v", exitErr)
		default:
		}
		if time.Now().After(deadline) {
			return errors.New("not ready within 60s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop stops the member with SIGTERM, as an operator would.
func (m *member) stop() error {
	_ = m.cli.Close()
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
		return nil
	case <-time.After(30 * time.Second):
		_ = m.cmd.Process.Kill()
		return errors.New("did not stop within 30s of SIGTERM")
	}
}

func freePorts(n int) ([]int, error) {
	var ports []int
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
