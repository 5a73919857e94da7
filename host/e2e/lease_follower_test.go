package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
	keepAliveThroughFollower(t, followersOf(lead, ms)[0].Endpoint())
}

// TestLeaseKeepAliveThroughAFollowerTLS: the same with https client URLs
// only, peer TLS, and auth on: the follower forwards over the peer
// connection, and the leader accepts the caller's token.
func TestLeaseKeepAliveThroughAFollowerTLS(t *testing.T) {
	c := startTLSCluster(t, 3)
	f := without(c.leaderOf(c.ms...), c.ms)[0]
	out, err := c.ctl(c.ms[0], "user", "add", "root", "--new-user-password=rootpw")
	require.NoError(t, err, out)
	out, err = c.ctl(c.ms[0], "auth", "enable")
	require.NoError(t, err, out)
	keepAliveThroughFollower(t, f.client, append(c.tlsFlags(), "--user", "root:rootpw")...)
}

var grantedID = regexp.MustCompile(`lease ([0-9a-f]+) granted with TTL`)

// keepAliveThroughFollower grants a lease through the follower at
// endpoint with etcdctl and flags, keeps it alive through it past its
// TTL with the streaming keep-alive and single ones, asks its TTL, and
// then lets it expire.
func keepAliveThroughFollower(t *testing.T, endpoint string, flags ...string) {
	t.Helper()
	ctl := func(args ...string) string {
		t.Helper()
		out, err := hosttest.Etcdctl(t, endpoint, "", append(slices.Clone(flags), args...)...)
		require.NoError(t, err, out)
		return out
	}
	const ttl = 4
	g := grantedID.FindStringSubmatch(ctl("lease", "grant", strconv.Itoa(ttl)))
	require.NotNil(t, g)
	id := g[1]
	ctl("put", "kept", "v", "--lease="+id)
	kept := func() bool { return ctl("get", "kept", "--print-value-only") == "v\n" }

	// The streaming keep-alive, for three TTLs, then single ones.
	ctx, cancel := context.WithTimeout(context.Background(), 3*ttl*time.Second)
	defer cancel()
	args := append([]string{"--endpoints=" + endpoint}, flags...)
	cmd := exec.CommandContext(ctx, hosttest.EtcdctlBin(t), append(args, "lease", "keep-alive", id)...)
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
		out := ctl("lease", "keep-alive", "--once", id)
		require.Contains(t, out, fmt.Sprintf("lease %s keepalived with TTL(%d)", id, ttl))
		time.Sleep(time.Second)
	}
	out := ctl("lease", "timetolive", id, "--keys")
	m := remainingTTL.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	remaining, _ := strconv.Atoi(m[2])
	require.Equal(t, strconv.Itoa(ttl), m[1], out)
	require.Positive(t, remaining, out)
	require.Contains(t, out, "attached keys([kept])")
	require.True(t, kept(), "the lease outlived four TTLs")

	// Without keep-alives the lease expires, and the follower says so.
	require.Eventually(t, func() bool { return !kept() }, 20*time.Second, 100*time.Millisecond)
	require.Contains(t, ctl("lease", "timetolive", id), "already expired")
}
