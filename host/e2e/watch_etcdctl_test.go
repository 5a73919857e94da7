package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// ctlWatch runs `etcdctl watch args...` until it exits or its output has
// been still for a while, and returns its transcript: stdout, then stderr
// and the exit status if it exited by itself.
func ctlWatch(t *testing.T, m *hosttest.Process, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	full := append([]string{"--endpoints=" + m.Endpoint(), "watch"}, args...)
	cmd := exec.CommandContext(ctx, hosttest.EtcdctlBin(t), full...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ETCDCTL_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	const still, atLeast, atMost = 700 * time.Millisecond, 1500 * time.Millisecond, 20 * time.Second
	start, last, lastChange := time.Now(), "", time.Now()
	entry := "$ etcdctl watch " + strings.Join(args, " ") + "\n"
	for {
		select {
		case err := <-exited:
			var ee *exec.ExitError
			code := 0
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			}
			return mask(entry + stdout.String() + fmt.Sprintf("[exit %d] %s", code, stderr.String()))
		case <-time.After(50 * time.Millisecond):
		}
		if out := stdout.String(); out != last {
			last, lastChange = out, time.Now()
		}
		if (time.Since(start) > atLeast && time.Since(lastChange) > still) || time.Since(start) > atMost {
			cancel()
			<-exited
			return mask(entry + stdout.String())
		}
	}
}

// requireSameWatches runs setup with etcdctl on fresh etcd and MetaStore
// servers, then each watch, and requires identical transcripts. between,
// if set, runs on each member after setup (a restart, say). It returns the
// transcripts of the watches.
func requireSameWatches(t *testing.T, setup []step, between func(*hosttest.Process), watches [][]string) []string {
	t.Helper()
	etcd, ms := servers(t)
	run := func(m *hosttest.Process) []string {
		out := runScript(t, m, setup)
		if between != nil {
			between(m)
		}
		for _, w := range watches {
			out = append(out, ctlWatch(t, m, w...))
		}
		return out
	}
	var want, got []string
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); want = run(etcd) }()
	go func() { defer wg.Done(); got = run(ms) }()
	wg.Wait()
	require.Equal(t, len(want), len(got))
	for i := range want {
		require.Equal(t, want[i], got[i], "step %d differs from etcd", i)
	}
	return got[len(setup):]
}

// watchHistory is a fixed history of puts, deletes and txns.
var watchHistory = []step{
	ctl("put", "foo", "1"),
	ctl("put", "foo1", "a"),
	ctl("put", "bar", "x"),
	ctl("put", "foo", "2"),
	ctlIn("\nput foo 3\nput foo2 b\ndel bar\n\n\n", "txn"),
	ctl("del", "foo1"),
	ctl("del", "fo", "--prefix"),
	ctl("put", "foo", "4"),
	ctl("put", "zoo", "z"),
}

func TestEtcdctlWatchReplay(t *testing.T) {
	out := requireSameWatches(t, watchHistory, nil, [][]string{
		{"foo", "--rev", "1"},
		{"foo", "--rev", "3", "--prev-kv"},
		{"fo", "--prefix", "--rev", "1"},
		{"fo", "--prefix", "--rev", "2", "--prev-kv", "-w", "json"},
		{"a", "g", "--rev", "4"},
		{"foo", "--rev", "6", "-w", "fields"},
		{"zoo", "--rev", "100"},
		{"nosuch", "--rev", "1"},
	})
	require.Equal(t, "$ etcdctl watch foo --rev 1\nPUT\nfoo\n1\nPUT\nfoo\n2\nPUT\nfoo\n3\nDELETE\nfoo\n\nPUT\nfoo\n4\n", out[0])
}

func TestEtcdctlWatchCompacted(t *testing.T) {
	setup := append(append([]step{}, watchHistory...), ctl("compaction", "6"))
	out := requireSameWatches(t, setup, nil, [][]string{
		{"foo", "--rev", "2"},
		{"foo", "--rev", "5", "-w", "json"},
		{"foo", "--rev", "6"},
		{"fo", "--prefix", "--rev", "6", "--prev-kv"},
	})
	require.Contains(t, out[0], "watch was canceled (etcdserver: mvcc: required revision has been compacted)")
}

func TestEtcdctlWatchAcrossRestart(t *testing.T) {
	requireSameWatches(t, watchHistory, func(m *hosttest.Process) { m.Restart(t) }, [][]string{
		{"fo", "--prefix", "--rev", "1", "--prev-kv"},
		{"", "--prefix", "--rev", "2", "-w", "json"},
	})
}
