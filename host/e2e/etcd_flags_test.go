package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"golang.org/x/sys/unix"

	"github.com/metastore/metastore/host/hosttest"
)

// bothServers runs f against a real etcd and a MetaStore member started
// with the same arguments.
func bothServers(t *testing.T, args []string, f func(t *testing.T, m *hosttest.Process)) {
	t.Run("etcd", func(t *testing.T) {
		f(t, hosttest.StartMember(t, hosttest.WithBinary(hosttest.EtcdBin(t)), hosttest.WithArgs(args...)))
	})
	t.Run("metastore", func(t *testing.T) {
		f(t, hosttest.StartMember(t, hosttest.WithArgs(args...)))
	})
}

// TestMaxConcurrentStreams requires that, as in etcd, a client connection
// with --max-concurrent-streams=1 streams open cannot start another call
// until one ends, and that without the flag it can.
func TestMaxConcurrentStreams(t *testing.T) {
	putBesideWatch := func(t *testing.T, m *hosttest.Process) error {
		cli := m.Client(t)
		wctx, stop := context.WithCancel(context.Background())
		defer stop()
		wch := cli.Watch(wctx, "streams", clientv3.WithCreatedNotify())
		select {
		case <-wch:
		case <-time.After(10 * time.Second):
			t.Fatal("watch not created")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := cli.Put(ctx, "streams", "v")
		return err
	}
	bothServers(t, []string{"--max-concurrent-streams=1"}, func(t *testing.T, m *hosttest.Process) {
		err := putBesideWatch(t, m)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = m.Client(t).Put(ctx, "streams", "v")
		require.NoError(t, err, "once the watch stream ended")
	})
	bothServers(t, nil, func(t *testing.T, m *hosttest.Process) {
		require.NoError(t, putBesideWatch(t, m))
	})
}

// h2Conn is a raw HTTP/2 connection to a client URL with one gRPC stream
// (a watch) open, for seeing the server's pings and GOAWAYs.
type h2Conn struct {
	c      net.Conn
	fr     *http2.Framer
	wmu    sync.Mutex              // the reader and the test both write frames
	frames chan *http2.GoAwayFrame // closed at EOF
	acks   chan struct{}
	pinged atomic.Bool // the server sent a PING
}

func dialH2(t *testing.T, endpoint string) *h2Conn {
	t.Helper()
	u, err := url.Parse(endpoint)
	require.NoError(t, err)
	c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	h := &h2Conn{c: c, fr: http2.NewFramer(c, c), frames: make(chan *http2.GoAwayFrame, 16), acks: make(chan struct{}, 16)}
	h.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	_, err = io.WriteString(c, http2.ClientPreface)
	require.NoError(t, err)
	require.NoError(t, h.fr.WriteSettings())
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{
		{":method", "POST"}, {":scheme", "http"}, {":path", "/etcdserverpb.Watch/Watch"},
		{":authority", u.Host}, {"content-type", "application/grpc"}, {"te", "trailers"},
	} {
		require.NoError(t, enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]}))
	}
	require.NoError(t, h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true}))
	go h.read()
	return h
}

// read answers the server's SETTINGS and passes on what the test watches;
// it answers no PING.
func (h *h2Conn) read() {
	defer close(h.frames)
	for {
		f, err := h.fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				h.wmu.Lock()
				_ = h.fr.WriteSettingsAck()
				h.wmu.Unlock()
			}
		case *http2.PingFrame:
			if f.IsAck() {
				h.acks <- struct{}{}
			} else {
				h.pinged.Store(true)
			}
		case *http2.GoAwayFrame:
			h.frames <- f
		}
	}
}

// pings sends n pings 20 ms apart and returns the first GOAWAY the server
// answers with, or nil if it acknowledged them all.
func (h *h2Conn) pings(t *testing.T, n int) *http2.GoAwayFrame {
	t.Helper()
	for i := range n {
		h.wmu.Lock()
		err := h.fr.WritePing(false, [8]byte{byte(i)})
		h.wmu.Unlock()
		if err != nil {
			break // closed: the GOAWAY is on its way
		}
		select {
		case <-h.acks:
		case g, ok := <-h.frames:
			require.True(t, ok, "connection closed without GOAWAY")
			return g
		case <-time.After(10 * time.Second):
			t.Fatal("no answer to a ping")
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case g, ok := <-h.frames:
		require.True(t, ok, "connection closed without GOAWAY")
		return g
	case <-time.After(200 * time.Millisecond):
		return nil
	}
}

// TestGRPCKeepAliveFlags requires etcd's keepalive enforcement and server
// pings: by default a client pinging every 20 ms is sent GOAWAY
// too_many_pings; with --grpc-keepalive-min-time=1ms it is not, and with
// --grpc-keepalive-interval/--grpc-keepalive-timeout of 1s the server pings
// an idle connection and closes it when no answer comes.
func TestGRPCKeepAliveFlags(t *testing.T) {
	bothServers(t, nil, func(t *testing.T, m *hosttest.Process) {
		g := dialH2(t, m.Endpoint()).pings(t, 5)
		require.NotNil(t, g, "pings every 20 ms were accepted")
		require.Equal(t, http2.ErrCodeEnhanceYourCalm, g.ErrCode)
		require.Equal(t, "too_many_pings", string(g.DebugData()))
	})
	args := []string{"--grpc-keepalive-min-time=1ms", "--grpc-keepalive-interval=1s", "--grpc-keepalive-timeout=1s"}
	bothServers(t, args, func(t *testing.T, m *hosttest.Process) {
		h := dialH2(t, m.Endpoint())
		require.Nil(t, h.pings(t, 5))
		deadline := time.After(20 * time.Second)
		for {
			select {
			case _, ok := <-h.frames:
				if !ok {
					require.True(t, h.pinged.Load(), "closed without pinging")
					return
				}
			case <-deadline:
				t.Fatalf("unanswered connection not closed (server pinged: %t)", h.pinged.Load())
			}
		}
	})
}

// TestEnablePprof requires /debug/pprof/ on the client URL with
// --enable-pprof and a 404 without, as etcd.
func TestEnablePprof(t *testing.T) {
	get := func(t *testing.T, m *hosttest.Process, path string) int {
		resp, err := http.Get(m.Endpoint() + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	bothServers(t, []string{"--enable-pprof"}, func(t *testing.T, m *hosttest.Process) {
		require.Equal(t, http.StatusOK, get(t, m, "/debug/pprof/"))
		require.Equal(t, http.StatusOK, get(t, m, "/debug/pprof/goroutine?debug=1"))
		require.Contains(t, m.Output(), `"pprof is enabled"`)
	})
	bothServers(t, nil, func(t *testing.T, m *hosttest.Process) {
		require.Equal(t, http.StatusNotFound, get(t, m, "/debug/pprof/"))
		require.Equal(t, http.StatusNotFound, get(t, m, "/debug/pprof/goroutine?debug=1"))
	})
	// The same setting from the environment and from the config file.
	m := hosttest.StartMember(t, hosttest.WithEnv("METASTORE_ENABLE_PPROF=true"))
	require.Equal(t, http.StatusOK, get(t, m, "/debug/pprof/"))
	file := filepath.Join(t.TempDir(), "metastore.yaml")
	require.NoError(t, os.WriteFile(file, []byte("enable-pprof: true\n"), 0o600))
	m = hosttest.StartMember(t, hosttest.WithArgs("--config-file", file))
	require.Equal(t, http.StatusOK, get(t, m, "/debug/pprof/"))
}

// TestMetricsLevel requires etcd's --metrics values: extensive serves the
// gRPC handling-time histograms, as etcd; basic serves them too in
// MetaStore (etcd leaves them out); any other value is accepted as basic,
// as etcd does.
func TestMetricsLevel(t *testing.T) {
	histogram := func(t *testing.T, m *hosttest.Process) bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := m.Client(t).Put(ctx, "metrics", "v")
		require.NoError(t, err)
		_, ok := scrape(t, m.Endpoint())["grpc_server_handling_seconds"]
		return ok
	}
	for _, level := range []string{"extensive", "basic", "bogus"} {
		t.Run(level, func(t *testing.T) {
			etcd := hosttest.StartMember(t, hosttest.WithBinary(hosttest.EtcdBin(t)), hosttest.WithArgs("--metrics", level))
			require.Equal(t, level == "extensive", histogram(t, etcd))
			ms := hosttest.StartMember(t, hosttest.WithArgs("--metrics="+level))
			require.True(t, histogram(t, ms))
		})
	}
}

// TestPreVote requires raft's Pre-Vote by default and none with
// --pre-vote=false, as etcd: the first election of a new member goes
// through the pre-candidate state only with it.
func TestPreVote(t *testing.T) {
	bothServers(t, nil, func(t *testing.T, m *hosttest.Process) {
		require.Contains(t, m.Output(), "became pre-candidate at term 1")
	})
	bothServers(t, []string{"--pre-vote=false"}, func(t *testing.T, m *hosttest.Process) {
		require.Contains(t, m.Output(), "became candidate at term 2")
		require.NotContains(t, m.Output(), "pre-candidate")
	})
}

// addLearner adds a learner that never starts.
func addLearner(t *testing.T, m *hosttest.Process, name string, port int) error {
	_, err := hosttest.UntilHealthy(t, func() (string, error) {
		return m.Etcdctl(t, "member", "add", name, "--learner", fmt.Sprintf("--peer-urls=http://127.0.0.1:%d", port))
	})
	return err
}

// TestMaxLearners requires etcd's limit on learners: one by default, the
// next refused with etcd's error; --max-learners=2 admits a second.
func TestMaxLearners(t *testing.T) {
	bothServers(t, nil, func(t *testing.T, m *hosttest.Process) {
		require.NoError(t, addLearner(t, m, "l1", 1))
		require.ErrorContains(t, addLearner(t, m, "l2", 2), "etcdserver: too many learner members in cluster")
	})
	bothServers(t, []string{"--max-learners=2"}, func(t *testing.T, m *hosttest.Process) {
		require.NoError(t, addLearner(t, m, "l1", 1))
		require.NoError(t, addLearner(t, m, "l2", 2))
		require.ErrorContains(t, addLearner(t, m, "l3", 3), "etcdserver: too many learner members in cluster")
	})
}

// TestSocketReusePort requires SO_REUSEPORT on the client and peer
// listeners with --socket-reuse-port, as etcd: another socket with the
// option may then bind the same ports while the member runs, and without
// the flag it may not. --socket-reuse-address is accepted (Go sets
// SO_REUSEADDR on every listener already).
func TestSocketReusePort(t *testing.T) {
	bindBeside := func(t *testing.T, endpoint string) error {
		u, err := url.Parse(endpoint)
		require.NoError(t, err)
		lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			})
			return errors.Join(err, serr)
		}}
		l, err := lc.Listen(context.Background(), "tcp", u.Host)
		if err == nil {
			_ = l.Close()
		}
		return err
	}
	bothServers(t, []string{"--socket-reuse-port", "--socket-reuse-address"}, func(t *testing.T, m *hosttest.Process) {
		require.NoError(t, bindBeside(t, m.Endpoint()))
		require.NoError(t, bindBeside(t, m.PeerURL()))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := m.Client(t).Put(ctx, "k", "v")
		require.NoError(t, err)
	})
	bothServers(t, nil, func(t *testing.T, m *hosttest.Process) {
		require.ErrorIs(t, bindBeside(t, m.Endpoint()), syscall.EADDRINUSE)
		require.ErrorIs(t, bindBeside(t, m.PeerURL()), syscall.EADDRINUSE)
	})
}

// TestUnsafeNoFsync requires that, as etcd, writes add no WAL fsync with
// --unsafe-no-fsync, while without it each is fsynced; MetaStore also
// warns of the flag. (etcd turns the fsyncs off only after creating its
// WAL, so it counts those of the creation.)
func TestUnsafeNoFsync(t *testing.T) {
	fsyncsAfterWrites := func(t *testing.T, m *hosttest.Process) float64 {
		const metric = "etcd_disk_wal_fsync_duration_seconds"
		before := value(t, scrape(t, m.Endpoint()), metric)
		cli := m.Client(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for i := range 20 {
			_, err := cli.Put(ctx, fmt.Sprintf("fsync/%d", i), "v")
			require.NoError(t, err)
		}
		return value(t, scrape(t, m.Endpoint()), metric) - before
	}
	bothServers(t, []string{"--unsafe-no-fsync"}, func(t *testing.T, m *hosttest.Process) {
		require.Zero(t, fsyncsAfterWrites(t, m))
	})
	bothServers(t, nil, func(t *testing.T, m *hosttest.Process) {
		require.GreaterOrEqual(t, fsyncsAfterWrites(t, m), 20.0)
	})
	m := hosttest.StartMember(t, hosttest.WithEnv("METASTORE_UNSAFE_NO_FSYNC=true"))
	require.Contains(t, m.Output(), "fsync is disabled (--unsafe-no-fsync)")
	require.Zero(t, fsyncsAfterWrites(t, m))
	require.Zero(t, value(t, scrape(t, m.Endpoint()), "etcd_disk_wal_fsync_duration_seconds"))
}

// TestCompactionBatchLimit requires --compaction-batch-limit to bound the
// revisions each compaction batch goes through, as etcd's: 50 revisions
// take one batch by default and several with a limit of 10, and the
// compaction's result is the same.
func TestCompactionBatchLimit(t *testing.T) {
	compact := func(t *testing.T, m *hosttest.Process) {
		cli := m.Client(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var rev int64
		for i := range 50 {
			r, err := cli.Put(ctx, "batch", fmt.Sprint(i))
			require.NoError(t, err)
			rev = r.Header.Revision
		}
		_, err := cli.Compact(ctx, rev, clientv3.WithCompactPhysical())
		require.NoError(t, err)
		_, err = cli.Get(ctx, "batch", clientv3.WithRev(rev-1))
		require.ErrorContains(t, err, "mvcc: required revision has been compacted")
		r, err := cli.Get(ctx, "batch")
		require.NoError(t, err)
		require.Equal(t, "49", string(r.Kvs[0].Value))
	}
	batches := func(t *testing.T, m *hosttest.Process) int {
		var n int
		require.Eventually(t, func() bool {
			_, after, ok := strings.Cut(m.Output(), `"msg":"finished compaction"`)
			if ok {
				_, after, ok = strings.Cut(after, `"batches":`)
			}
			if !ok {
				return false
			}
			_, err := fmt.Sscanf(after, "%d", &n)
			return err == nil
		}, 10*time.Second, 50*time.Millisecond)
		return n
	}
	bothServers(t, []string{"--compaction-batch-limit=10"}, compact)
	m := hosttest.StartMember(t, hosttest.WithArgs("--compaction-batch-limit=10"))
	compact(t, m)
	require.GreaterOrEqual(t, batches(t, m), 5)
	m = hosttest.StartMember(t)
	compact(t, m)
	require.Equal(t, 1, batches(t, m))
}

// TestMaxLearnersAtRestart requires that, as etcd, a member restarted with
// a --max-learners below the learners its cluster has refuses to start.
func TestMaxLearnersAtRestart(t *testing.T) {
	for _, bin := range []string{hosttest.EtcdBin(t), hosttest.MetastoreBin(t)} {
		t.Run(filepath.Base(bin), func(t *testing.T) {
			// The binary behind a script that takes --max-learners from a
			// file, so that the restart can lower it.
			dir := t.TempDir()
			limit := filepath.Join(dir, "max-learners")
			require.NoError(t, os.WriteFile(limit, []byte("2"), 0o600))
			script := filepath.Join(dir, "server")
			require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\nexec "+bin+` "$@" --max-learners=$(cat `+limit+")\n"), 0o700))
			m := hosttest.StartMember(t, hosttest.WithBinary(script))
			require.NoError(t, addLearner(t, m, "l1", 1))
			require.NoError(t, addLearner(t, m, "l2", 2))
			require.NoError(t, m.Stop())
			require.NoError(t, os.WriteFile(limit, []byte("1"), 0o600))
			m.Start()
			require.Eventually(t, func() bool { return !m.Running() }, 30*time.Second, 100*time.Millisecond)
			require.Error(t, m.ExitErr())
			require.Contains(t, m.Output(), "too many learner members in cluster")
		})
	}
}
