package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// TestStrictReconfigCheckCountsDownMembers: with --strict-reconfig-check
// (the default), removing a live voter while another voter is down would
// leave one active member of two, and is refused with etcd's "unhealthy
// cluster", whether the leader or a follower is asked. The down member
// itself may be removed.
func TestStrictReconfigCheckCountsDownMembers(t *testing.T) {
	ms := hosttest.StartCluster(t, 3, clusterFlags)
	lead := leaderOf(t, ms...)
	down := followersOf(lead, ms)[0]
	downID := memberIDOf(t, down, ms...)

	down.Kill()
	// The leader counts a member down once it has been silent for an
	// election timeout (500ms here).
	time.Sleep(2 * time.Second)
	lead = leaderOf(t, followersOf(down, ms)...)
	live := followersOf(down, followersOf(lead, ms))[0]
	leadID, liveID := memberIDOf(t, lead, lead), memberIDOf(t, live, lead)

	_, err := lead.Etcdctl(t, "member", "remove", fmt.Sprintf("%x", liveID))
	require.ErrorContains(t, err, "etcdserver: unhealthy cluster")
	_, err = live.Etcdctl(t, "member", "remove", fmt.Sprintf("%x", leadID))
	require.ErrorContains(t, err, "etcdserver: unhealthy cluster")
	require.Len(t, memberList(t, lead), 3, "nothing was removed")

	out, err := live.Etcdctl(t, "member", "remove", fmt.Sprintf("%x", downID))
	require.NoError(t, err)
	require.Contains(t, out, fmt.Sprintf("Member %x removed", downID))
	require.Len(t, memberList(t, lead), 2)
	_, err = lead.Client(t).Put(ctxFor(t, 10*time.Second), "after", "1")
	require.NoError(t, err, "the two left keep a quorum")
}
