package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/metastore/metastore/host/hosttest"
	"github.com/metastore/metastore/host/hosttest/linearize"
)

// TestFaultCheckRejectsAStaleRead: the history check catches what a
// partition makes possible. A serializable read on a partitioned member
// (which does not promise linearizability) returns the value from before
// a write the majority acknowledged; recorded as a get, the history is
// not linearizable. A linearizable read there fails instead of going
// stale.
func TestFaultCheckRejectsAStaleRead(t *testing.T) {
	faults := hosttest.NewFaults()
	ms := hosttest.StartCluster(t, 3, clusterFlags, hosttest.WithFaults(faults))
	lead := leaderOf(t, ms...)
	cut := followersOf(lead, ms)[0]
	h := linearize.NewHistory()
	put := func(v string) {
		call := h.Now()
		resp, err := lead.Client(t).Put(ctxFor(t, 10*time.Second), "k", v)
		require.NoError(t, err)
		h.Add(0, linearize.Input{Kind: linearize.Put, Key: "k", Value: v}, linearize.Output{Revision: resp.Header.Revision}, call, h.Now())
	}
	put("v1")
	require.Eventually(t, func() bool {
		resp, err := cut.Client(t).Get(ctxFor(t, time.Second), "k", clientv3.WithSerializable())
		return err == nil && len(resp.Kvs) == 1
	}, 10*time.Second, 20*time.Millisecond)

	faults.Isolate(cut)
	leaderOf(t, followersOf(cut, ms)...)
	put("v2")
	call := h.Now()
	resp, err := cut.Client(t).Get(ctxFor(t, 10*time.Second), "k", clientv3.WithSerializable())
	require.NoError(t, err)
	require.Len(t, resp.Kvs, 1)
	require.Equal(t, "v1", string(resp.Kvs[0].Value), "the partitioned member has not seen v2")
	h.Add(1, linearize.Input{Kind: linearize.Get, Key: "k"}, linearize.Output{Found: true, Value: "v1"}, call, h.Now())
	require.ErrorIs(t, linearize.Check(h.Operations(), 10*time.Second, t.TempDir()), linearize.ErrNotLinearizable)

	_, err = cut.Client(t).Get(ctxFor(t, 3*time.Second), "k")
	require.Error(t, err, "a linearizable read on the partitioned member does not answer")
	faults.Heal()
	leaderOf(t, ms...)
}
