package e2e

import (
	"context"
	"fmt"
	"strings"
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

// TestStrictReconfigCheckCountsDownMembersTLS: the same with https client
// URLs only and peer TLS, where the follower asks the leader over the
// peer connection.
func TestStrictReconfigCheckCountsDownMembersTLS(t *testing.T) {
	p := newTestPKI(t)
	cert, key := p.issue(t, "peer")
	ms := newURLMembers(t, 3, "https", "https", append(peerTLSArgs(p, cert, key), "--heartbeat-interval", "50", "--election-timeout", "500")...)
	startURLCluster(t, ms)
	ctl := func(m *urlMember, args ...string) (string, error) {
		return hosttest.Etcdctl(t, m.client, "", append([]string{"--cacert", p.caFile, "--cert", cert, "--key", key}, args...)...)
	}
	ids := map[*urlMember]uint64{}
	statusOf := func(m *urlMember) (id, lead uint64) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		st, err := tlsClient(t, p, m.client, "peer").Status(ctx, m.client)
		if err != nil {
			return 0, 0
		}
		return st.Header.MemberId, st.Leader
	}
	for _, m := range ms {
		ids[m], _ = statusOf(m)
		require.NotZero(t, ids[m])
	}
	// leaderOf returns the leader of the members in up, once they agree.
	leaderOf := func(up ...*urlMember) (lead *urlMember) {
		require.Eventually(t, func() bool {
			lead = nil
			var agreed uint64
			for _, m := range up {
				_, l := statusOf(m)
				if l == 0 || agreed != 0 && l != agreed {
					return false
				}
				agreed = l
				if l == ids[m] {
					lead = m
				}
			}
			return lead != nil
		}, 10*time.Second, 100*time.Millisecond)
		return lead
	}
	others := func(x *urlMember, of []*urlMember) (out []*urlMember) {
		for _, m := range of {
			if m != x {
				out = append(out, m)
			}
		}
		return out
	}
	lead := leaderOf(ms...)
	down := others(lead, ms)[0]
	down.Kill()
	time.Sleep(2 * time.Second)
	lead = leaderOf(others(down, ms)...)
	live := others(down, others(lead, ms))[0]

	_, err := ctl(live, "member", "remove", fmt.Sprintf("%x", ids[lead]))
	require.ErrorContains(t, err, "etcdserver: unhealthy cluster", "the follower asked the leader")
	out, err := ctl(lead, "member", "list")
	require.NoError(t, err, out)
	require.Equal(t, 3, strings.Count(out, "\n"), out)

	out, err = ctl(live, "member", "remove", fmt.Sprintf("%x", ids[down]))
	require.NoError(t, err, out)
	require.Contains(t, out, fmt.Sprintf("Member %16x removed", ids[down]))
	out, err = ctl(lead, "put", "after", "1")
	require.NoError(t, err, out)
}
