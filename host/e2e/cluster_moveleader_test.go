package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// memberIDOf returns the id the member list gives m.
func memberIDOf(t *testing.T, m *hosttest.Process, ms ...*hosttest.Process) uint64 {
	t.Helper()
	for _, mj := range memberList(t, ms[0]) {
		if mj.Name == m.Name() {
			return mj.ID
		}
	}
	t.Fatalf("member %s not listed", m.Name())
	return 0
}

func TestClusterMoveLeader(t *testing.T) {
	ms := hosttest.StartCluster(t, 3, clusterFlags)
	// Every member reaches its peers for the strict reconfiguration
	// check's 5 s before leadership moves.
	time.Sleep(5500 * time.Millisecond)
	lead := leaderOf(t, ms...)
	target := followersOf(lead, ms)[0]
	targetID := memberIDOf(t, target, ms...)
	all := hosttest.Endpoints(ms...)

	// etcdctl finds the leader among the endpoints and asks it.
	out, err := hosttest.Etcdctl(t, all, "", "move-leader", fmt.Sprintf("%x", targetID))
	require.NoError(t, err, out)
	require.Contains(t, out, fmt.Sprintf("Leadership transferred from %x to %x", memberIDOf(t, lead, ms...), targetID))
	require.Equal(t, target, leaderOf(t, ms...))

	// Asked of a member that does not lead: etcd's "not leader".
	follower := followersOf(target, ms)[0]
	_, err = follower.Client(t).MoveLeader(ctxFor(t, 5*time.Second), memberIDOf(t, lead, ms...))
	require.ErrorContains(t, err, "etcdserver: not leader")
	// etcdctl given only followers finds no leader to ask.
	_, err = hosttest.Etcdctl(t, follower.Endpoint(), "", "move-leader", fmt.Sprintf("%x", targetID))
	require.ErrorContains(t, err, "no leader endpoint given at")

	// An unknown member and a learner cannot lead.
	_, err = hosttest.Etcdctl(t, all, "", "move-leader", "abcdef")
	require.ErrorContains(t, err, "etcdserver: bad leader transferee")
	// The new leader has reached its peers with probes while it followed,
	// so the strict reconfiguration check's 5 s did not restart with its
	// leadership, seconds ago: a member can be added at once, as in etcd.
	out, err = target.Etcdctl(t, "member", "add", "learner", "--learner", "--peer-urls=http://127.0.0.1:1")
	require.NoError(t, err, out)
	var learner uint64
	for _, m := range memberList(t, target) {
		if m.IsLearner {
			learner = m.ID
		}
	}
	require.NotZero(t, learner)
	_, err = hosttest.Etcdctl(t, all, "", "move-leader", fmt.Sprintf("%x", learner))
	require.ErrorContains(t, err, "etcdserver: bad leader transferee")
	require.Equal(t, target, leaderOf(t, ms...), "a refused transfer leaves the leader in place")

	// Moving leadership back works as well.
	out, err = hosttest.Etcdctl(t, strings.Join([]string{lead.Endpoint(), target.Endpoint()}, ","), "",
		"move-leader", fmt.Sprintf("%x", memberIDOf(t, lead, ms...)))
	require.NoError(t, err, out)
	require.Equal(t, lead, leaderOf(t, ms...))
}
