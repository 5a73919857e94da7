package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/metastore/metastore/host/hosttest"
)

var remainingTTL = regexp.MustCompile(`granted with TTL\((\d+)s\), remaining\((-?\d+)s\)`)

// TestLeaseKeepAliveThroughAFollower: a follower forwards keep-alives and
// TTL queries to the leader, as etcd does, so etcdctl connected to a
// follower keeps a lease alive past its TTL; once it stops, the lease
// expires.
func TestLeaseKeepAliveThroughAFollower(t *testing.T) {
	ms := hosttest.StartCluster(t, 3, clusterFlags)
	lead := leaderOf(t, ms...)
	f := followersOf(lead, ms)[0]
	const ttl = 4
	grant, err := f.Client(t).Grant(ctxFor(t, 10*time.Second), ttl)
	require.NoError(t, err)
	_, err = f.Client(t).Put(ctxFor(t, 10*time.Second), "kept", "v", clientv3.WithLease(grant.ID))
	require.NoError(t, err)
	id := fmt.Sprintf("%x", grant.ID)

	// The streaming keep-alive, for three TTLs, then single ones.
	ctx, cancel := context.WithTimeout(context.Background(), 3*ttl*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, hosttest.EtcdctlBin(t), "--endpoints="+f.Endpoint(), "lease", "keep-alive", id)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ETCDCTL_") { // etcdctl warns about ETCDCTL_BIN
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	_ = cmd.Wait() // killed when ctx ends
	renewed := strings.Count(stdout.String(), fmt.Sprintf("lease %s keepalived with TTL(%d)", id, ttl))
	require.GreaterOrEqual(t, renewed, 2, "stdout: %s\nstderr: %s", stdout.String(), stderr.String())
	require.NotContains(t, stderr.String(), "Error")
	start := time.Now()
	for time.Since(start) < ttl*time.Second {
		out, err := f.Etcdctl(t, "lease", "keep-alive", "--once", id)
		require.NoError(t, err)
		require.Contains(t, out, fmt.Sprintf("lease %s keepalived with TTL(%d)", id, ttl))
		time.Sleep(time.Second)
	}
	out, err := f.Etcdctl(t, "lease", "timetolive", id, "--keys")
	require.NoError(t, err)
	m := remainingTTL.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	remaining, _ := strconv.Atoi(m[2])
	require.Equal(t, strconv.Itoa(ttl), m[1], out)
	require.Positive(t, remaining, out)
	require.Contains(t, out, "attached keys([kept])")
	require.True(t, keyExists(t, f.Client(t), "kept"), "the lease outlived four TTLs")

	// Without keep-alives the lease expires, and the follower says so.
	require.Eventually(t, func() bool { return !keyExists(t, f.Client(t), "kept") }, 20*time.Second, 100*time.Millisecond)
	out, err = f.Etcdctl(t, "lease", "timetolive", id)
	require.NoError(t, err)
	require.Contains(t, out, "already expired")
}
