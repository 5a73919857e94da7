package hosttest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// ReadyLine is the log line a member prints once it serves client requests,
// the same line etcd prints.
const ReadyLine = "ready to serve client requests"

// Environment variables naming the binaries.
const (
	EnvMetastoreBin = "METASTORE_BIN"
	EnvEtcdctlBin   = "ETCDCTL_BIN"
	EnvEtcdBin      = "ETCD_BIN"
	EnvEtcdutlBin   = "ETCDUTL_BIN"
)

const (
	defaultReadyTimeout = 30 * time.Second
	defaultStopTimeout  = 30 * time.Second
	etcdctlTimeout      = 60 * time.Second
)

// Option configures StartMember and StartCluster.
type Option func(*config)

type config struct {
	name         string
	bin          string
	args         []string
	env          []string
	readyTimeout time.Duration
	stopTimeout  time.Duration
	faults       *Faults // peer proxies, when set
	// configure, when set, turns the member's settings into arguments
	// and environment instead of flags (WithSettings).
	configure func(Settings) (args, env []string)
}

// WithName sets the member name (default "default", or "m1".."mN" in a
// cluster).
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithArgs appends command-line arguments after the ones StartMember sets.
func WithArgs(args ...string) Option {
	return func(c *config) { c.args = append(c.args, args...) }
}

// WithEnv adds KEY=VALUE pairs to the member's environment.
func WithEnv(kv ...string) Option {
	return func(c *config) { c.env = append(c.env, kv...) }
}

// Settings are the name, data dir and URLs StartMember or StartCluster
// chose for a member, which it passes as flags unless WithSettings is
// given.
type Settings struct {
	Name, DataDir string
	// ClientURL is the client URL to listen on and advertise, PeerURL the
	// peer URL to advertise and ListenPeerURL the one to listen on (they
	// differ behind a fault proxy).
	ClientURL, PeerURL, ListenPeerURL string
	// InitialCluster is --initial-cluster, InitialClusterState
	// --initial-cluster-state ("" for the default, new).
	InitialCluster, InitialClusterState string
}

// WithSettings has the member's settings passed through what configure
// returns, arguments (such as --config-file) and environment variables
// (such as ETCD_*), instead of as flags; arguments WithArgs gives follow.
// configure is called at each start.
func WithSettings(configure func(Settings) (args, env []string)) Option {
	return func(c *config) { c.configure = configure }
}

// WithBinary runs the given binary instead of $METASTORE_BIN, for example
// EtcdBin(t) to run the reference etcd with the same flags.
func WithBinary(path string) Option { return func(c *config) { c.bin = path } }

// WithReadyTimeout bounds the wait for ReadyLine (default 30s).
func WithReadyTimeout(d time.Duration) Option {
	return func(c *config) { c.readyTimeout = d }
}

// WithStopTimeout bounds the wait after SIGTERM in Stop before the member is
// killed (default 30s).
func WithStopTimeout(d time.Duration) Option {
	return func(c *config) { c.stopTimeout = d }
}

// MetastoreBin returns $METASTORE_BIN, failing t if it is unset or missing.
func MetastoreBin(t testing.TB) string {
	t.Helper()
	return binFromEnv(t, EnvMetastoreBin, "make build")
}

// EtcdctlBin returns $ETCDCTL_BIN, failing t if it is unset or missing.
func EtcdctlBin(t testing.TB) string {
	t.Helper()
	return binFromEnv(t, EnvEtcdctlBin, "make tools")
}

// EtcdBin returns $ETCD_BIN, the reference etcd server, failing t if it is
// unset or missing.
func EtcdBin(t testing.TB) string {
	t.Helper()
	return binFromEnv(t, EnvEtcdBin, "make etcd")
}

// EtcdutlBin returns $ETCDUTL_BIN, etcd's offline tool (v3.7.3), failing t
// if it is unset or missing.
func EtcdutlBin(t testing.TB) string {
	t.Helper()
	return binFromEnv(t, EnvEtcdutlBin, "make tools")
}

func binFromEnv(t testing.TB, env, target string) string {
	t.Helper()
	p := os.Getenv(env)
	if p == "" {
		t.Fatalf("%s is not set: run `%s`, then run the tests with `make test` "+
			"(or set %s to the binary's absolute path)", env, target, env)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatalf("%s=%s: %v: run `%s` first", env, p, err, target)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		t.Fatalf("%s=%s is not an executable file: run `%s` first", env, p, target)
	}
	return p
}

// Process is one metastore process under test, running or stopped: a
// handle on the binary, named apart from the member it serves as
// (host.Member, the member record membership.Member).
type Process struct {
	t       testing.TB
	cfg     config
	name    string
	dataDir string
	client  string // client URL, http://127.0.0.1:port
	peer    string // peer URL, http://127.0.0.1:port
	// listenPeer, when set, is the URL the member listens on for peers
	// while it advertises peer (a fault proxy in front of it).
	listenPeer string
	cluster    string // --initial-cluster value
	state      string // --initial-cluster-state, when not the default

	out *logBuffer

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd has exited
	waitErr error
	pgids   []int // process groups to kill on cleanup
}

// StartMember starts a single-member cluster and waits until it serves
// client requests.
func StartMember(t testing.TB, opts ...Option) *Process {
	t.Helper()
	cfg := newConfig(opts, "default")
	ports := FreePorts(t, 2)
	m := newMember(t, cfg, cfg.name, ports[0], ports[1])
	m.cluster = m.name + "=" + m.peer
	m.start()
	m.waitReady()
	return m
}

// StartCluster starts n members that form one cluster, named m1..mN unless
// WithName is given (then name1..nameN), and waits until each serves client
// requests.
func StartCluster(t testing.TB, n int, opts ...Option) []*Process {
	t.Helper()
	if n < 1 {
		t.Fatalf("hosttest: StartCluster needs at least one member, got %d", n)
	}
	cfg := newConfig(opts, "m")
	ports := FreePorts(t, 2*n)
	ms := make([]*Process, n)
	peers := make([]string, n)
	for i := range ms {
		ms[i] = newMember(t, cfg, fmt.Sprintf("%s%d", cfg.name, i+1), ports[2*i], ports[2*i+1])
		peers[i] = ms[i].name + "=" + ms[i].peer
	}
	for _, m := range ms {
		m.cluster = strings.Join(peers, ",")
		m.start()
	}
	for _, m := range ms {
		m.waitReady()
	}
	return ms
}

func newConfig(opts []Option, name string) config {
	cfg := config{name: name, readyTimeout: defaultReadyTimeout, stopTimeout: defaultStopTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

func newMember(t testing.TB, cfg config, name string, clientPort, peerPort int) *Process {
	t.Helper()
	if cfg.bin == "" {
		cfg.bin = MetastoreBin(t)
	}
	m := &Process{
		t:       t,
		cfg:     cfg,
		name:    name,
		dataDir: filepath.Join(t.TempDir(), name+".data"),
		client:  fmt.Sprintf("http://127.0.0.1:%d", clientPort),
		peer:    fmt.Sprintf("http://127.0.0.1:%d", peerPort),
		out:     &logBuffer{},
	}
	if cfg.faults != nil {
		cfg.faults.interpose(t, m)
	}
	t.Cleanup(func() {
		m.cleanup()
		if t.Failed() {
			t.Logf("output of member %s (%s):\n%s", m.name, m.cfg.bin, m.out.String())
		}
	})
	return m
}

// Name is the member name.
func (m *Process) Name() string { return m.name }

// Endpoint is the client URL, e.g. http://127.0.0.1:40123.
func (m *Process) Endpoint() string { return m.client }

// PeerURL is the peer URL.
func (m *Process) PeerURL() string { return m.peer }

// DataDir is the member's data directory.
func (m *Process) DataDir() string { return m.dataDir }

// Output is everything the member has written to stdout and stderr, across
// restarts.
func (m *Process) Output() string { return m.out.String() }

// Pid is the process id of the running process, or 0.
func (m *Process) Pid() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil || m.cmd.Process == nil {
		return 0
	}
	return m.cmd.Process.Pid
}

// Running reports whether the process has been started and has not exited.
func (m *Process) Running() bool {
	m.mu.Lock()
	done := m.done
	m.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// command returns the member's arguments and the environment variables
// added to the test's.
func (m *Process) command() (args, env []string) {
	s := Settings{Name: m.name, DataDir: m.dataDir, ClientURL: m.client, PeerURL: m.peer, ListenPeerURL: m.peer,
		InitialCluster: m.cluster, InitialClusterState: m.state}
	if m.listenPeer != "" {
		s.ListenPeerURL = m.listenPeer
	}
	if m.cfg.configure != nil {
		args, env = m.cfg.configure(s)
		return append(slices.Clone(args), m.cfg.args...), append(slices.Clone(m.cfg.env), env...)
	}
	return append(s.Flags(), m.cfg.args...), m.cfg.env
}

// Flags returns the settings as the flags StartMember passes when
// WithSettings is not given, for a configure function that adds to them.
func (s Settings) Flags() []string {
	args := []string{
		"--name", s.Name,
		"--data-dir", s.DataDir,
		"--listen-client-urls", s.ClientURL,
		"--advertise-client-urls", s.ClientURL,
		"--listen-peer-urls", s.ListenPeerURL,
		"--initial-advertise-peer-urls", s.PeerURL,
		"--initial-cluster", s.InitialCluster,
	}
	if s.InitialClusterState != "" {
		args = append(args, "--initial-cluster-state", s.InitialClusterState)
	}
	return args
}

// start launches the process without waiting for it to become ready.
func (m *Process) start() {
	m.t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.done != nil {
		select {
		case <-m.done:
		default:
			m.t.Fatalf("hosttest: member %s is already running", m.name)
		}
	}
	args, env := m.command()
	fmt.Fprintf(m.out, "=== hosttest: starting %s %s\n", m.cfg.bin, strings.Join(append(slices.Clone(env), args...), " "))
	cmd := exec.Command(m.cfg.bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = m.out
	cmd.Stderr = m.out
	cmd.SysProcAttr = sysProcAttr()
	mark := m.out.Len()
	if err := cmd.Start(); err != nil {
		m.t.Fatalf("hosttest: starting member %s: %v", m.name, err)
	}
	m.out.setMark(mark)
	m.cmd = cmd
	m.pgids = append(m.pgids, cmd.Process.Pid)
	done := make(chan struct{})
	m.done = done
	m.waitErr = nil
	go func() {
		err := cmd.Wait()
		m.mu.Lock()
		m.waitErr = err
		m.mu.Unlock()
		fmt.Fprintf(m.out, "=== hosttest: member %s exited: %v\n", m.name, exitText(err))
		close(done)
	}()
}

// waitReady waits until ReadyLine appears in output written since the last
// start, failing the test if the process exits first or the timeout passes.
func (m *Process) waitReady() {
	m.t.Helper()
	m.mu.Lock()
	done := m.done
	m.mu.Unlock()
	deadline := time.NewTimer(m.cfg.readyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if m.out.containsSinceMark(ReadyLine) {
			return
		}
		select {
		case <-done:
			if m.out.containsSinceMark(ReadyLine) {
				return
			}
			m.mu.Lock()
			err := m.waitErr
			m.mu.Unlock()
			m.t.Fatalf("hosttest: member %s exited before %q: %s (its output follows)",
				m.name, ReadyLine, exitText(err))
		case <-deadline.C:
			m.Kill()
			m.t.Fatalf("hosttest: member %s did not print %q within %v (its output follows)",
				m.name, ReadyLine, m.cfg.readyTimeout)
		case <-tick.C:
		}
	}
}

// Kill sends SIGKILL to the member process (not to processes it started) and
// waits for it to exit. It does nothing if the member is not running.
func (m *Process) Kill() {
	m.mu.Lock()
	cmd, done := m.cmd, m.done
	m.mu.Unlock()
	if cmd == nil || done == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// Stop sends SIGTERM and waits for the process to exit. If it has not exited
// within the stop timeout it is killed and Stop returns an error. Exiting
// with any status after SIGTERM counts as stopped.
func (m *Process) Stop() error {
	m.mu.Lock()
	cmd, done := m.cmd, m.done
	m.mu.Unlock()
	if cmd == nil || done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(m.cfg.stopTimeout)
	defer timer.Stop()
	select {
	case <-done:
		return nil
	case <-timer.C:
		m.Kill()
		return fmt.Errorf("hosttest: member %s did not exit within %v of SIGTERM; killed", m.name, m.cfg.stopTimeout)
	}
}

// ExitErr is the result of the last process's Wait: nil while running or
// after a zero exit status.
func (m *Process) ExitErr() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.waitErr
}

// Restart stops the member if it is running (SIGTERM), then starts it again
// with the same name, ports, data directory and arguments, and waits until it
// serves client requests.
func (m *Process) Restart(t testing.TB) {
	t.Helper()
	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
	m.start()
	m.waitReady()
}

func (m *Process) cleanup() {
	m.mu.Lock()
	pgids := m.pgids
	m.mu.Unlock()
	// Kill every process group this member ever led, so that processes it
	// started (plugins) do not outlive the test.
	for _, pg := range pgids {
		killGroup(pg)
	}
	m.Kill()
}

// Client returns a clientv3 client connected to this member; it is closed
// when the test ends.
func (m *Process) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	return NewClient(t, m.client)
}

// NewClient returns a clientv3 client for the given endpoints, closed when
// the test ends.
func NewClient(t testing.TB, endpoints ...string) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		t.Fatalf("hosttest: clientv3.New(%v): %v", endpoints, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Endpoints joins the members' client URLs with commas, as --endpoints takes
// them.
func Endpoints(ms ...*Process) string {
	eps := make([]string, len(ms))
	for i, m := range ms {
		eps[i] = m.client
	}
	return strings.Join(eps, ",")
}

// Etcdctl runs $ETCDCTL_BIN --endpoints=<this member> args... and returns its
// stdout. A non-zero exit yields a *CmdError carrying stderr.
func (m *Process) Etcdctl(t testing.TB, args ...string) (string, error) {
	t.Helper()
	return Etcdctl(t, m.client, "", args...)
}

// EtcdctlStdin is Etcdctl with the given standard input (for `txn`, `put`
// without a value, and the like).
func (m *Process) EtcdctlStdin(t testing.TB, stdin string, args ...string) (string, error) {
	t.Helper()
	return Etcdctl(t, m.client, stdin, args...)
}

// Etcdctl runs $ETCDCTL_BIN --endpoints=endpoints args... with stdin as its
// standard input and returns its stdout. ETCDCTL_* variables of the test's
// environment are dropped (etcdctl 3.7 speaks only v3 and warns about an
// ETCDCTL_API it does not recognise). A non-zero exit yields a *CmdError
// carrying stderr.
func Etcdctl(t testing.TB, endpoints, stdin string, args ...string) (string, error) {
	t.Helper()
	bin := EtcdctlBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), etcdctlTimeout)
	defer cancel()
	full := append([]string{"--endpoints=" + endpoints}, args...)
	cmd := exec.CommandContext(ctx, bin, full...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ETCDCTL_") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr strings.Builder
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("timed out after %v: %w", etcdctlTimeout, err)
		}
		return stdout.String(), &CmdError{Args: full, Stderr: stderr.String(), Err: err}
	}
	return stdout.String(), nil
}

// CmdError is a failed command run.
type CmdError struct {
	Args   []string
	Stderr string
	Err    error
}

func (e *CmdError) Error() string {
	return fmt.Sprintf("etcdctl %s: %v: %s", strings.Join(e.Args, " "), e.Err, strings.TrimSpace(e.Stderr))
}

func (e *CmdError) Unwrap() error { return e.Err }

// ExitCode is the command's exit status, or -1 if it did not exit normally.
func (e *CmdError) ExitCode() int {
	var ee *exec.ExitError
	if errors.As(e.Err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// FreePorts returns n distinct free loopback TCP ports. All listeners are
// held open until every port is chosen, so the ports differ.
//
// They are chosen below the kernel's ephemeral range: a port the kernel
// hands out for bind(":0") is also one it hands out as the local port of
// outgoing connections, and between this function's return and the
// member's bind one of the many connections a test's members open took
// it ("address already in use", seen in make test). Below the range
// only another test process choosing at random can, which a random
// choice over thousands of ports makes rare. Within a process no port is
// handed out twice, so two calls (a member's client and peer ports) never
// collide.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, 0, n)
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	low, high := portsBelowEphemeral()
	handedOut.Lock()
	defer handedOut.Unlock()
	for tries := 0; len(ports) < n; tries++ {
		addr := "127.0.0.1:0"
		if high > low && tries < 1000 {
			port := low + rand.IntN(high-low)
			if handedOut.ports[port] {
				continue
			}
			addr = fmt.Sprintf("127.0.0.1:%d", port)
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			if addr == "127.0.0.1:0" {
				t.Fatalf("hosttest: finding a free port: %v", err)
			}
			continue
		}
		port := l.Addr().(*net.TCPAddr).Port
		ls = append(ls, l)
		ports = append(ports, port)
		handedOut.ports[port] = true
	}
	return ports
}

// handedOut are the ports FreePorts has returned in this process.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: make(map[int]bool)}

// portsBelowEphemeral returns the ports [low, high) FreePorts chooses
// from: up to 16,384 ports below the kernel's ephemeral range, starting
// no lower than 10000; low == high when the range is unknown or too low.
func portsBelowEphemeral() (low, high int) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, 0
	}
	var first, last int
	if _, err := fmt.Sscan(string(b), &first, &last); err != nil {
		return 0, 0
	}
	high = first
	low = max(10000, high-16384)
	if high-low < 1000 {
		return 0, 0
	}
	return low, high
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// logBuffer collects a member's output. Writes come from one goroutine at a
// time (exec uses one pipe when Stdout == Stderr); reads from any.
type logBuffer struct {
	mu   sync.Mutex
	buf  []byte
	mark int
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

func (b *logBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.buf)
}

func (b *logBuffer) setMark(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mark = n
}

func (b *logBuffer) containsSinceMark(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Contains(string(b.buf[b.mark:]), s)
}
