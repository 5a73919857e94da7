package concurrency_test

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	etcdconcurrency "go.etcd.io/etcd/client/v3/concurrency"

	"github.com/metastore/metastore/concurrency"
	"github.com/metastore/metastore/host/hosttest"
)

// Our primitives and etcd's own client/v3/concurrency (and etcdctl, which
// uses it) share keys: each side excludes the other.
func TestInterop(t *testing.T) {
	eachServer(t, func(t *testing.T, m *hosttest.Process) {
		c := m.Client(t)
		t.Run("mutex with etcd's mutex", func(t *testing.T) { testInteropMutex(t, c) })
		t.Run("election with etcd's election", func(t *testing.T) { testInteropElection(t, c) })
		t.Run("mutex with etcdctl lock", func(t *testing.T) { testInteropEtcdctlLock(t, m, c) })
		t.Run("election with etcdctl elect", func(t *testing.T) { testInteropEtcdctlElect(t, m, c) })
	})
}

func newEtcdSession(t *testing.T, c *clientv3.Client) *etcdconcurrency.Session {
	t.Helper()
	s, err := etcdconcurrency.NewSession(c)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func testInteropMutex(t *testing.T, c *clientv3.Client) {
	ctx := testCtx(t, testTimeout)
	ours := concurrency.NewMutex(newSession(t, c), "interop-mutex")
	theirs := etcdconcurrency.NewMutex(newEtcdSession(t, c), "interop-mutex")

	require.NoError(t, ours.Lock(ctx))
	require.ErrorIs(t, theirs.TryLock(ctx), etcdconcurrency.ErrLocked)
	theirsLocked := result(func() error { return theirs.Lock(ctx) })
	blocked(t, theirsLocked, 300*time.Millisecond)
	require.NoError(t, ours.Unlock(ctx))
	require.NoError(t, recvErr(t, theirsLocked, 10*time.Second))

	require.ErrorIs(t, ours.TryLock(ctx), concurrency.ErrLocked)
	oursLocked := result(func() error { return ours.Lock(ctx) })
	blocked(t, oursLocked, 300*time.Millisecond)
	require.NoError(t, theirs.Unlock(ctx))
	require.NoError(t, recvErr(t, oursLocked, 10*time.Second))
	require.NoError(t, ours.Unlock(ctx))
	assert.Empty(t, keys(t, c, "interop-mutex/"))
}

func testInteropElection(t *testing.T, c *clientv3.Client) {
	ctx := testCtx(t, testTimeout)
	ours := concurrency.NewElection(newSession(t, c), "interop-election")
	theirs := etcdconcurrency.NewElection(newEtcdSession(t, c), "interop-election")

	require.NoError(t, ours.Campaign(ctx, "ours"))
	leader, err := theirs.Leader(ctx)
	require.NoError(t, err)
	assert.Equal(t, "ours", string(leader.Kvs[0].Value))
	theirsLeads := result(func() error { return theirs.Campaign(ctx, "theirs") })
	blocked(t, theirsLeads, 300*time.Millisecond)
	require.NoError(t, ours.Resign(ctx))
	require.NoError(t, recvErr(t, theirsLeads, 10*time.Second))
	leader, err = ours.Leader(ctx)
	require.NoError(t, err)
	assert.Equal(t, "theirs", string(leader.Kvs[0].Value))

	obs := ours.Observe(ctx)
	assert.Equal(t, "theirs", observed(t, obs))
	require.NoError(t, theirs.Proclaim(ctx, "theirs again"))
	assert.Equal(t, "theirs again", observed(t, obs))
	require.NoError(t, theirs.Resign(ctx))
}

// bgEtcdctl is etcdctl running in the background, its stdout read line by
// line.
type bgEtcdctl struct {
	cmd   *exec.Cmd
	lines chan string
	done  chan error
}

// startEtcdctl runs etcdctl against m in the background, for at most
// testTimeout.
func startEtcdctl(t *testing.T, m *hosttest.Process, args ...string) *bgEtcdctl {
	t.Helper()
	ctx := testCtx(t, testTimeout)
	cmd := exec.CommandContext(ctx, hosttest.EtcdctlBin(t), append([]string{"--endpoints=" + m.Endpoint()}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ETCDCTL_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	b := &bgEtcdctl{cmd: cmd, lines: make(chan string, 16), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			b.lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, out)
		b.done <- cmd.Wait()
		close(b.lines)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-b.done
		if t.Failed() {
			t.Logf("etcdctl %v stderr:\n%s", args, stderr.String())
		}
	})
	return b
}

// line waits up to d for the next line of output.
func (b *bgEtcdctl) line(t *testing.T, d time.Duration) string {
	t.Helper()
	select {
	case l, ok := <-b.lines:
		require.True(t, ok, "etcdctl exited")
		return l
	case <-time.After(d):
		t.Fatalf("etcdctl printed nothing within %v", d)
		return ""
	}
}

// silent asserts that etcdctl prints nothing for d.
func (b *bgEtcdctl) silent(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case l := <-b.lines:
		t.Fatalf("etcdctl printed %q while it should wait", l)
	case <-time.After(d):
	}
}

// interrupt sends SIGINT (etcdctl then unlocks or resigns) and waits up to
// 10s for it to exit.
func (b *bgEtcdctl) interrupt(t *testing.T) {
	t.Helper()
	require.NoError(t, b.cmd.Process.Signal(syscall.SIGINT))
	for {
		select {
		case _, ok := <-b.lines:
			if !ok {
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatal("etcdctl did not exit within 10s of SIGINT")
		}
	}
}

func testInteropEtcdctlLock(t *testing.T, m *hosttest.Process, c *clientv3.Client) {
	ctx := testCtx(t, testTimeout)
	ours := concurrency.NewMutex(newSession(t, c), "interop-ctl-lock")
	require.NoError(t, ours.Lock(ctx))
	ctl := startEtcdctl(t, m, "lock", "interop-ctl-lock")
	ctl.silent(t, 500*time.Millisecond)
	waitKeys(t, c, "interop-ctl-lock/", 2)
	require.NoError(t, ours.Unlock(ctx))
	// etcdctl prints the key once it holds the lock.
	key := ctl.line(t, 10*time.Second)
	assert.True(t, strings.HasPrefix(key, "interop-ctl-lock/"), "etcdctl printed %q", key)

	require.ErrorIs(t, ours.TryLock(ctx), concurrency.ErrLocked)
	oursLocked := result(func() error { return ours.Lock(ctx) })
	blocked(t, oursLocked, 300*time.Millisecond)
	ctl.interrupt(t)
	require.NoError(t, recvErr(t, oursLocked, 10*time.Second))
	assert.Equal(t, []string{ours.Key()}, keys(t, c, "interop-ctl-lock/"))
	require.NoError(t, ours.Unlock(ctx))
}

func testInteropEtcdctlElect(t *testing.T, m *hosttest.Process, c *clientv3.Client) {
	ctx := testCtx(t, testTimeout)
	ours := concurrency.NewElection(newSession(t, c), "interop-ctl-elect")
	require.NoError(t, ours.Campaign(ctx, "ours"))

	observer := startEtcdctl(t, m, "elect", "--listen", "interop-ctl-elect")
	assert.Equal(t, ours.Key(), observer.line(t, 10*time.Second))
	assert.Equal(t, "ours", observer.line(t, 10*time.Second))

	ctl := startEtcdctl(t, m, "elect", "interop-ctl-elect", "etcdctl-proposal")
	ctl.silent(t, 500*time.Millisecond)
	waitKeys(t, c, "interop-ctl-elect/", 2)
	require.NoError(t, ours.Resign(ctx))
	ctlKey := ctl.line(t, 10*time.Second)
	assert.Equal(t, "etcdctl-proposal", ctl.line(t, 10*time.Second))
	assert.Equal(t, ctlKey, observer.line(t, 10*time.Second))
	assert.Equal(t, "etcdctl-proposal", observer.line(t, 10*time.Second))
	leader, err := ours.Leader(ctx)
	require.NoError(t, err)
	assert.Equal(t, "etcdctl-proposal", string(leader.Kvs[0].Value))

	oursLeads := result(func() error { return ours.Campaign(ctx, "ours again") })
	blocked(t, oursLeads, 300*time.Millisecond)
	ctl.interrupt(t)
	require.NoError(t, recvErr(t, oursLeads, 10*time.Second))
	assert.Equal(t, ours.Key(), observer.line(t, 10*time.Second))
	assert.Equal(t, "ours again", observer.line(t, 10*time.Second))
	require.NoError(t, ours.Resign(ctx))
	observer.interrupt(t)
}
