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
	require.Contains(t, out, fmt.Sprintf("Member %16x removed", downID))
	require.Len(t, memberList(t, lead), 2)
	_, err = lead.Client(t).Put(ctxFor(t, 10*time.Second), "after", "1")
	require.NoError(t, err, "the two left keep a quorum")
}

// tlsCluster is a cluster whose members serve https client URLs only and
// talk to each other over peer TLS.
type tlsCluster struct {
	t         *testing.T
	p         *testPKI
	cert, key string
	args      []string
	ms        []*urlMember
	ids       map[*urlMember]uint64
}

func startTLSCluster(t *testing.T, n int) *tlsCluster {
	t.Helper()
	c := &tlsCluster{t: t, p: newTestPKI(t), ids: map[*urlMember]uint64{}}
	c.cert, c.key = c.p.issue(t, "peer")
	c.args = append(peerTLSArgs(c.p, c.cert, c.key), "--heartbeat-interval", "50", "--election-timeout", "500")
	c.ms = newURLMembers(t, n, "https", "https", c.args...)
	startURLCluster(t, c.ms)
	for _, m := range c.ms {
		c.ids[m], _ = c.status(m)
		require.NotZero(t, c.ids[m])
	}
	return c
}

// tlsFlags are etcdctl's flags to reach the members.
func (c *tlsCluster) tlsFlags() []string {
	return []string{"--cacert", c.p.caFile, "--cert", c.cert, "--key", c.key}
}

func (c *tlsCluster) ctl(m *urlMember, args ...string) (string, error) {
	return hosttest.Etcdctl(c.t, m.client, "", append(c.tlsFlags(), args...)...)
}

// status returns m's id and the leader it knows, zeros if it does not answer.
func (c *tlsCluster) status(m *urlMember) (id, lead uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := tlsClient(c.t, c.p, m.client, "peer").Status(ctx, m.client)
	if err != nil {
		return 0, 0
	}
	return st.Header.MemberId, st.Leader
}

// leaderOf returns the leader of the members up, once they agree on one.
func (c *tlsCluster) leaderOf(up ...*urlMember) (lead *urlMember) {
	c.t.Helper()
	require.Eventually(c.t, func() bool {
		lead = nil
		var agreed uint64
		for _, m := range up {
			_, l := c.status(m)
			if l == 0 || agreed != 0 && l != agreed {
				return false
			}
			agreed = l
			if l == c.ids[m] {
				lead = m
			}
		}
		return lead != nil
	}, 10*time.Second, 100*time.Millisecond)
	return lead
}

// without returns the members of of other than x.
func without(x *urlMember, of []*urlMember) (out []*urlMember) {
	for _, m := range of {
		if m != x {
			out = append(out, m)
		}
	}
	return out
}

// TestStrictReconfigCheckCountsDownMembersTLS: the same with https client
// URLs only and peer TLS, where the follower asks the leader over the
// peer connection.
func TestStrictReconfigCheckCountsDownMembersTLS(t *testing.T) {
	c := startTLSCluster(t, 3)
	lead := c.leaderOf(c.ms...)
	down := without(lead, c.ms)[0]
	down.Kill()
	time.Sleep(2 * time.Second)
	lead = c.leaderOf(without(down, c.ms)...)
	live := without(down, without(lead, c.ms))[0]

	_, err := c.ctl(live, "member", "remove", fmt.Sprintf("%x", c.ids[lead]))
	require.ErrorContains(t, err, "etcdserver: unhealthy cluster", "the follower asked the leader")
	out, err := c.ctl(lead, "member", "list")
	require.NoError(t, err, out)
	require.Equal(t, 3, strings.Count(out, "\n"), out)

	out, err = c.ctl(live, "member", "remove", fmt.Sprintf("%x", c.ids[down]))
	require.NoError(t, err, out)
	require.Contains(t, out, fmt.Sprintf("Member %16x removed", c.ids[down]))
	out, err = c.ctl(lead, "put", "after", "1")
	require.NoError(t, err, out)
}

// TestLearnerPromoteThroughAFollowerTLS: a follower forwards a learner's
// promotion to the leader over peer TLS, the client URLs being https only.
func TestLearnerPromoteThroughAFollowerTLS(t *testing.T) {
	c := startTLSCluster(t, 3)
	f := without(c.leaderOf(c.ms...), c.ms)[0]
	l := newURLMembers(t, 1, "https", "https", c.args...)[0]
	l.name = "p4"
	out, err := hosttest.UntilHealthy(t, func() (string, error) {
		return c.ctl(f, "member", "add", l.name, "--learner", "--peer-urls", l.peer)
	})
	require.NoError(t, err, out)
	require.Contains(t, out, "added as learner to cluster")
	l.start(t, append(c.ms, l), "existing")
	l.WaitReady()
	list, err := c.ctl(f, "member", "list")
	require.NoError(t, err, list)
	id := memberID(t, list, l.peer)

	require.Eventually(t, func() bool {
		out, err = c.ctl(f, "member", "promote", id)
		return err == nil
	}, 20*time.Second, 200*time.Millisecond, "the learner is promoted once it caught up: %s %v", out, err)
	require.Contains(t, out, "promoted in cluster")
	// The new member publishes its name and client URLs through raft once
	// it serves; until the follower has applied that, it lists the member
	// as unstarted, as etcd does.
	want := fmt.Sprintf("started, p4, %s, %s, false", l.peer, l.client)
	require.Eventually(t, func() bool {
		list, err = c.ctl(f, "member", "list")
		return err == nil && strings.Contains(list, want)
	}, 10*time.Second, 200*time.Millisecond, "the follower lists the promoted member: %s %v", list, err)
}
