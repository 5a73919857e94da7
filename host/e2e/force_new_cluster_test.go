package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/metastore/metastore/host/hosttest"
)

// fastElections are clusterFlags as plain arguments, for SetArgs.
var fastElections = []string{"--heartbeat-interval", "50", "--election-timeout", "500"}

// forceOutcome is what an operator sees recovering a three-member cluster
// that lost two members with --force-new-cluster.
type forceOutcome struct {
	WritesRefusedWithoutQuorum bool
	LogsForcingRestart         bool
	MembersAfterForce          int
	SameMemberID               bool
	SameName                   bool
	SameClusterID              bool
	LeadsItself                bool
	AcknowledgedKeysKept       bool
	RevisionKept               bool
	HashKVKept                 bool
	NextWriteRevision          int64 // relative to the last before the loss
	MembersAfterPlainRestart   int
	KeysAfterPlainRestart      int64
	MembersAfterJoin           int
	JoinerHasEveryKey          bool
	RemovedMemberExits         bool
	WritesAfterRemovedReturns  bool
}

// forceNewClusterScenario runs the recovery against the binary bin,
// started with args besides fastElections, and records what it observes
// and the member it recovered.
func forceNewClusterScenario(t *testing.T, bin string, args ...string) (forceOutcome, *hosttest.Process) {
	const keys = 50
	var out forceOutcome
	binary := hosttest.WithBinary(bin)
	args = append(slices.Clone(fastElections), args...)
	ms := hosttest.StartCluster(t, 3, binary, hosttest.WithArgs(args...))
	leaderOf(t, ms...)
	lost, survivor := ms[:2], ms[2]

	acked := map[string]int64{}
	var lastRev int64
	for i := range keys {
		k := fmt.Sprintf("key-%02d", i)
		resp, err := ms[i%3].Client(t).Put(ctxFor(t, 10*time.Second), k, "v"+k)
		require.NoError(t, err)
		acked[k], lastRev = resp.Header.Revision, resp.Header.Revision
	}
	cli := survivor.Client(t)
	_, err := cli.Get(ctxFor(t, 10*time.Second), "key-", clientv3.WithPrefix()) // the survivor has applied them all
	require.NoError(t, err)
	st, err := cli.Status(ctxFor(t, 10*time.Second), survivor.Endpoint())
	require.NoError(t, err)
	id, cluster := st.Header.MemberId, st.Header.ClusterId
	hash, err := cli.HashKV(ctxFor(t, 10*time.Second), survivor.Endpoint(), lastRev)
	require.NoError(t, err)

	for _, m := range lost {
		m.Kill()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	_, err = cli.Put(ctx, "no-quorum", "x")
	cancel()
	out.WritesRefusedWithoutQuorum = err != nil

	survivor.SetArgs(append(slices.Clone(args), "--force-new-cluster")...)
	survivor.Restart(t)
	out.LogsForcingRestart = strings.Contains(survivor.Output(), "forcing restart member")
	cli = survivor.Client(t)
	members := memberList(t, survivor)
	out.MembersAfterForce = len(members)
	out.SameMemberID = len(members) == 1 && members[0].ID == id
	out.SameName = len(members) == 1 && members[0].Name == survivor.Name()
	st, err = cli.Status(ctxFor(t, 10*time.Second), survivor.Endpoint())
	require.NoError(t, err)
	out.SameClusterID = st.Header.ClusterId == cluster
	out.LeadsItself = st.Leader == id

	resp, err := cli.Get(ctxFor(t, 10*time.Second), "", clientv3.WithPrefix())
	require.NoError(t, err)
	out.RevisionKept = resp.Header.Revision == lastRev
	out.AcknowledgedKeysKept = len(resp.Kvs) == keys
	for _, kv := range resp.Kvs {
		out.AcknowledgedKeysKept = out.AcknowledgedKeysKept && acked[string(kv.Key)] == kv.ModRevision
	}
	after, err := cli.HashKV(ctxFor(t, 10*time.Second), survivor.Endpoint(), lastRev)
	require.NoError(t, err)
	out.HashKVKept = after.Hash == hash.Hash && after.CompactRevision == hash.CompactRevision
	put, err := cli.Put(ctxFor(t, 10*time.Second), "after-recovery", "1")
	require.NoError(t, err)
	out.NextWriteRevision = put.Header.Revision - lastRev

	// Nothing brings the old membership back on a plain restart.
	survivor.SetArgs(args...)
	survivor.Restart(t)
	out.MembersAfterPlainRestart = len(memberList(t, survivor))
	resp, err = survivor.Client(t).Get(ctxFor(t, 10*time.Second), "", clientv3.WithPrefix(), clientv3.WithCountOnly())
	require.NoError(t, err)
	out.KeysAfterPlainRestart = resp.Count

	joiner := hosttest.PrepareMember(t, "m4", binary, hosttest.WithArgs(args...))
	_, err = hosttest.UntilHealthy(t, func() (string, error) {
		return survivor.Etcdctl(t, "member", "add", "m4", "--peer-urls="+joiner.PeerURL())
	})
	require.NoError(t, err)
	joiner.Join(t, survivor)
	out.MembersAfterJoin = len(memberList(t, joiner))
	resp, err = joiner.Client(t).Get(ctxFor(t, 10*time.Second), "", clientv3.WithPrefix(), clientv3.WithCountOnly())
	require.NoError(t, err)
	out.JoinerHasEveryKey = resp.Count == keys+1

	// A member the recovery removed is refused when it comes back.
	lost[0].Start()
	out.RemovedMemberExits = waitFor(30*time.Second, func() bool { return !lost[0].Running() })
	_, err = joiner.Client(t).Put(ctxFor(t, 10*time.Second), "after-removed-returned", "1")
	out.WritesAfterRemovedReturns = err == nil
	return out, survivor
}

// waitFor polls cond until it holds or d passes and reports whether it held.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

func TestForceNewClusterRecoversALostQuorumAsEtcd(t *testing.T) {
	want := forceOutcome{
		WritesRefusedWithoutQuorum: true,
		LogsForcingRestart:         true,
		MembersAfterForce:          1,
		SameMemberID:               true,
		SameName:                   true,
		SameClusterID:              true,
		LeadsItself:                true,
		AcknowledgedKeysKept:       true,
		RevisionKept:               true,
		HashKVKept:                 true,
		NextWriteRevision:          1,
		MembersAfterPlainRestart:   1,
		KeysAfterPlainRestart:      51,
		MembersAfterJoin:           2,
		JoinerHasEveryKey:          true,
		RemovedMemberExits:         true,
		WritesAfterRemovedReturns:  true,
	}
	t.Run("metastore", func(t *testing.T) {
		got, _ := forceNewClusterScenario(t, hosttest.MetastoreBin(t))
		require.Equal(t, want, got)
	})
	t.Run("etcd", func(t *testing.T) {
		got, _ := forceNewClusterScenario(t, hosttest.EtcdBin(t))
		require.Equal(t, want, got)
	})
	// The survivor's log was snapshotted and compacted: the membership
	// comes from the WAL's snapshot marker.
	t.Run("metastore with log snapshots", func(t *testing.T) {
		got, survivor := forceNewClusterScenario(t, hosttest.MetastoreBin(t),
			"--snapshot-count", "10", "--snapshot-catchup-entries", "5")
		require.Equal(t, want, got)
		require.Contains(t, survivor.Output(), "raft: snapshot taken")
	})
}

// forceLearnerScenario restarts the learner of a one-voter cluster, whose
// voter is lost, with --force-new-cluster, and reports whether it exited
// without serving clients.
func forceLearnerScenario(t *testing.T, bin string) (exited bool, output string) {
	binary := hosttest.WithBinary(bin)
	voter := hosttest.StartCluster(t, 1, binary, hosttest.WithArgs(fastElections...))[0]
	learner := hosttest.PrepareMember(t, "learner", binary, hosttest.WithArgs(fastElections...))
	_, err := hosttest.UntilHealthy(t, func() (string, error) {
		return voter.Etcdctl(t, "member", "add", "learner", "--learner", "--peer-urls="+learner.PeerURL())
	})
	require.NoError(t, err)
	learner.Join(t, voter)
	_, err = voter.Client(t).Put(ctxFor(t, 10*time.Second), "k", "v")
	require.NoError(t, err)
	require.True(t, waitFor(10*time.Second, func() bool {
		resp, err := learner.Client(t).Get(ctxFor(t, 10*time.Second), "k", clientv3.WithSerializable())
		return err == nil && len(resp.Kvs) == 1
	}), "the learner has the key")

	voter.Kill()
	learner.Kill()
	learner.SetArgs(append(fastElections, "--force-new-cluster")...)
	learner.Start()
	exited = waitFor(30*time.Second, func() bool { return !learner.Running() })
	return exited && learner.ExitErr() != nil, learner.Output()
}

// TestForceNewClusterRefusesALearner: a learner cannot become a cluster of
// one. etcd panics when raft is asked to remove its last voter; MetaStore
// refuses before it changes the WAL, and says why.
func TestForceNewClusterRefusesALearner(t *testing.T) {
	exited, out := forceLearnerScenario(t, hosttest.EtcdBin(t))
	require.True(t, exited, "etcd exits")
	require.Contains(t, out, "removed all voters")
	exited, out = forceLearnerScenario(t, hosttest.MetastoreBin(t))
	require.True(t, exited, "metastore exits")
	forced := out[strings.LastIndex(out, "--force-new-cluster\n"):]
	require.Contains(t, forced, "a learner cannot force a new cluster")
	require.NotContains(t, forced, hosttest.ReadyLine)
}

// TestForceNewClusterWithoutDataBootstrapsAsUsual: members without data
// given --force-new-cluster form the cluster --initial-cluster describes,
// in etcd and in MetaStore.
func TestForceNewClusterWithoutDataBootstrapsAsUsual(t *testing.T) {
	for _, bin := range []string{hosttest.EtcdBin(t), hosttest.MetastoreBin(t)} {
		ms := hosttest.StartCluster(t, 3, hosttest.WithBinary(bin), hosttest.WithArgs(append(fastElections, "--force-new-cluster")...))
		leaderOf(t, ms...)
		require.Len(t, memberList(t, ms[0]), 3, bin)
		for _, m := range ms {
			require.NotContains(t, m.Output(), "forcing restart member", bin)
		}
	}
}

// forceUncommittedScenario kills both followers of a three-member cluster
// and writes through the leader, which appends the write to its log but
// cannot commit it; the leader, forced into a cluster of one, must drop
// it. A long election timeout keeps the leader leading while it takes the
// write. It returns whether the member logged the discard, whether the
// write is absent and whether the member then leads itself.
func forceUncommittedScenario(t *testing.T, bin string) (logged, absent, leads bool) {
	args := []string{"--heartbeat-interval", "100", "--election-timeout", "3000"}
	ms := hosttest.StartCluster(t, 3, hosttest.WithBinary(bin), hosttest.WithArgs(args...))
	lead := leaderOf(t, ms...)
	_, err := lead.Client(t).Put(ctxFor(t, 10*time.Second), "committed", "1")
	require.NoError(t, err)
	for _, m := range ms {
		if m != lead {
			m.Kill()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_, err = lead.Client(t).Put(ctx, "uncommitted", "1")
	cancel()
	require.Error(t, err, "no quorum commits it")

	lead.SetArgs(append(args, "--force-new-cluster")...)
	lead.Restart(t)
	logged = strings.Contains(lead.Output(), "discarding uncommitted WAL entries")
	resp, err := lead.Client(t).Get(ctxFor(t, 10*time.Second), "", clientv3.WithPrefix())
	require.NoError(t, err)
	absent = len(resp.Kvs) == 1 && string(resp.Kvs[0].Key) == "committed"
	st, err := lead.Client(t).Status(ctxFor(t, 10*time.Second), lead.Endpoint())
	require.NoError(t, err)
	return logged, absent, st.Leader == st.Header.MemberId
}

func TestForceNewClusterDiscardsUncommittedEntriesAsEtcd(t *testing.T) {
	for _, bin := range []string{hosttest.EtcdBin(t), hosttest.MetastoreBin(t)} {
		logged, absent, leads := forceUncommittedScenario(t, bin)
		require.True(t, logged, "%s logs the discard", bin)
		require.True(t, absent, "%s drops the uncommitted write", bin)
		require.True(t, leads, "%s leads itself", bin)
	}
}
