package concurrency_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/metastore/metastore/concurrency"
	"github.com/metastore/metastore/host/hosttest"
)

// A server the tests run against.
type server struct {
	name string
	opts func(t testing.TB) []hosttest.Option
}

// servers are the servers every test runs against, as subtests named after
// them.
var servers = []server{
	{name: "etcd", opts: func(t testing.TB) []hosttest.Option {
		return []hosttest.Option{hosttest.WithBinary(hosttest.EtcdBin(t))}
	}},
	{name: "metastore", opts: func(testing.TB) []hosttest.Option { return nil }},
}

// testTimeout bounds every test body; the whole package stays well under
// it.
const testTimeout = 30 * time.Second

// eachServer runs f once per server in servers, each with a fresh
// single member that f's subtests share (they use distinct key prefixes).
func eachServer(t *testing.T, f func(t *testing.T, m *hosttest.Process)) {
	eachServerIn(t, servers, f)
}

// eachServerIn is eachServer over the given servers.
func eachServerIn(t *testing.T, in []server, f func(t *testing.T, m *hosttest.Process)) {
	for _, srv := range in {
		t.Run(srv.name, func(t *testing.T) {
			f(t, startMember(t, srv))
		})
	}
}

// eachServerKind runs f once per server without starting a member, for
// tests that start (and kill) their own.
func eachServerKind(t *testing.T, f func(t *testing.T, start func() *hosttest.Process)) {
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			f(t, func() *hosttest.Process { return startMember(t, srv) })
		})
	}
}

func startMember(t *testing.T, srv server) *hosttest.Process {
	t.Helper()
	return hosttest.StartMember(t, srv.opts(t)...)
}

// testCtx is a context that ends with the test or after d.
func testCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// newSession opens a Session closed when the test ends.
func newSession(t *testing.T, c *clientv3.Client, opts ...concurrency.SessionOption) *concurrency.Session {
	t.Helper()
	s, err := concurrency.NewSession(c, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// keys returns the keys under prefix, oldest first.
func keys(t *testing.T, c *clientv3.Client, prefix string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := c.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly(),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend))
	require.NoError(t, err)
	out := make([]string, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		out[i] = string(kv.Key)
	}
	return out
}

// waitKeys waits until prefix holds n keys, for tests that must order
// contenders; it fails the test after 10s.
func waitKeys(t *testing.T, c *clientv3.Client, prefix string, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return len(keys(t, c, prefix)) == n },
		10*time.Second, 10*time.Millisecond, "waiting for %d keys under %q", n, prefix)
}

// result runs f in a goroutine and returns a channel with its error.
func result(f func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	return ch
}

// recvErr waits for an error from ch for at most d.
func recvErr(t *testing.T, ch <-chan error, d time.Duration) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(d):
		t.Fatalf("no result within %v", d)
		return nil
	}
}

// blocked asserts that ch delivers nothing for d.
func blocked(t *testing.T, ch <-chan error, d time.Duration) {
	t.Helper()
	select {
	case err := <-ch:
		t.Fatalf("returned while it should block: %v", err)
	case <-time.After(d):
	}
}
