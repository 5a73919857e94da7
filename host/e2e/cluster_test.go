package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/metastore/metastore/host/hosttest"
)

// clusterFlags make elections quick on loopback.
var clusterFlags = hosttest.WithArgs("--heartbeat-interval", "50", "--election-timeout", "500")

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// leaderOf returns the member all running members agree leads.
func leaderOf(t *testing.T, ms ...*hosttest.Process) *hosttest.Process {
	t.Helper()
	var lead *hosttest.Process
	require.Eventually(t, func() bool {
		lead = nil
		var id uint64
		for _, m := range ms {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			st, err := m.Client(t).Status(ctx, m.Endpoint())
			cancel()
			if err != nil || st.Leader == 0 || (id != 0 && st.Leader != id) {
				return false
			}
			id = st.Leader
			if st.Header.MemberId == st.Leader {
				lead = m
			}
		}
		return lead != nil
	}, 20*time.Second, 50*time.Millisecond, "the members agree on a leader")
	return lead
}

type memberJSON struct {
	ID         uint64   `json:"ID"`
	Name       string   `json:"name"`
	PeerURLs   []string `json:"peerURLs"`
	ClientURLs []string `json:"clientURLs"`
	IsLearner  bool     `json:"isLearner"`
}

func memberList(t *testing.T, m *hosttest.Process) []memberJSON {
	t.Helper()
	out, err := m.Etcdctl(t, "member", "list", "-w", "json")
	require.NoError(t, err)
	var resp struct {
		Members []memberJSON `json:"members"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &resp), out)
	return resp.Members
}

func TestClusterBootstrapReplicatesAndReadsEverywhere(t *testing.T) {
	ms := hosttest.StartCluster(t, 3, clusterFlags)
	leaderOf(t, ms...)
	for i, w := range ms {
		_, err := w.Client(t).Put(ctxFor(t, 10*time.Second), fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i))
		require.NoError(t, err)
		// A linearizable read on every other member sees the write at once.
		for _, r := range ms {
			resp, err := r.Client(t).Get(ctxFor(t, 10*time.Second), fmt.Sprintf("k%d", i))
			require.NoError(t, err)
			require.Len(t, resp.Kvs, 1, "member %s reads k%d", r.Name(), i)
			require.Equal(t, fmt.Sprintf("v%d", i), string(resp.Kvs[0].Value))
		}
	}
	// Serializable reads are local, and every member gets there.
	for _, r := range ms {
		require.Eventually(t, func() bool {
			resp, err := r.Client(t).Get(ctxFor(t, 5*time.Second), "k", clientv3.WithPrefix(), clientv3.WithSerializable())
			return err == nil && len(resp.Kvs) == 3
		}, 10*time.Second, 20*time.Millisecond)
		out, err := r.Etcdctl(t, "get", "k2", "--consistency=s", "--print-value-only")
		require.NoError(t, err)
		require.Equal(t, "v2\n", out)
	}
	// Every member lists the three, with their names and client URLs.
	for _, r := range ms {
		list := memberList(t, r)
		require.Len(t, list, 3)
		byName := map[string]memberJSON{}
		for _, m := range list {
			byName[m.Name] = m
		}
		for _, m := range ms {
			require.Equal(t, []string{m.PeerURL()}, byName[m.Name()].PeerURLs)
			require.Eventually(t, func() bool {
				for _, l := range memberList(t, r) {
					if l.Name == m.Name() && len(l.ClientURLs) == 1 && l.ClientURLs[0] == m.Endpoint() {
						return true
					}
				}
				return false
			}, 10*time.Second, 100*time.Millisecond)
		}
	}
}

func TestClusterLeaderKilledUnderLoadLosesNothing(t *testing.T) {
	ms := hosttest.StartCluster(t, 3, clusterFlags)
	lead := leaderOf(t, ms...)
	var survivors []*hosttest.Process
	for _, m := range ms {
		if m != lead {
			survivors = append(survivors, m)
		}
	}
	cli := hosttest.NewClient(t, strings.Split(hosttest.Endpoints(ms...), ",")...)
	var (
		mu    sync.Mutex
		acked []ackedPut
		wg    sync.WaitGroup
	)
	ctx := ctxFor(t, 60*time.Second)
	stop := make(chan struct{})
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 3000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key, val := fmt.Sprintf("w/1/%02d/%05d", w, i), fmt.Sprintf("v-%d-%d", w, i)
				cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
				resp, err := cli.Put(cctx, key, val)
				cancel()
				if err != nil {
					continue // in flight during the failover; may or may not be applied
				}
				mu.Lock()
				acked = append(acked, ackedPut{key, val, resp.Header.Revision})
				mu.Unlock()
			}
		}()
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	require.Eventually(t, func() bool { return count() >= 300 }, 30*time.Second, 5*time.Millisecond)
	lead.Kill()
	before := count()
	newLead := leaderOf(t, survivors...)
	require.NotEqual(t, lead, newLead)
	require.Eventually(t, func() bool { return count() >= before+300 }, 30*time.Second, 10*time.Millisecond,
		"writes resume under the new leader")
	close(stop)
	wg.Wait()

	mu.Lock()
	all := append([]ackedPut(nil), acked...)
	mu.Unlock()
	for _, m := range survivors {
		requireAckedKeys(t, m.Client(t), all)
	}
	// The killed leader restarts from its data dir and catches up.
	lead.Start()
	lead.WaitReady()
	requireAckedKeys(t, lead.Client(t), all)
	var want int64
	for _, m := range survivors {
		st, err := m.Client(t).Status(ctxFor(t, 10*time.Second), m.Endpoint())
		require.NoError(t, err)
		want = st.Header.Revision
	}
	require.Eventually(t, func() bool {
		st, err := lead.Client(t).Status(ctxFor(t, 5*time.Second), lead.Endpoint())
		return err == nil && st.Header.Revision == want
	}, 20*time.Second, 50*time.Millisecond)
}

// requireAckedKeys checks every acknowledged put with a linearizable read
// on the member cli is connected to. Writes that failed at the client may
// have been applied too, so revisions need not be dense here.
func requireAckedKeys(t *testing.T, cli *clientv3.Client, acked []ackedPut) {
	t.Helper()
	resp, err := cli.Get(ctxFor(t, 30*time.Second), "w/", clientv3.WithPrefix())
	require.NoError(t, err)
	got := make(map[string][2]any, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		got[string(kv.Key)] = [2]any{string(kv.Value), kv.ModRevision}
	}
	for _, a := range acked {
		g, ok := got[a.key]
		require.True(t, ok, "acknowledged put of %s lost", a.key)
		require.Equal(t, [2]any{a.value, a.rev}, g, "acknowledged put of %s changed", a.key)
	}
}

func TestClusterMemberAddAndRemove(t *testing.T) {
	ms := hosttest.StartCluster(t, 3, clusterFlags)
	leaderOf(t, ms...)
	_, err := ms[0].Etcdctl(t, "put", "before", "1")
	require.NoError(t, err)

	m4 := hosttest.PrepareMember(t, "m4", clusterFlags)
	out, err := hosttest.UntilHealthy(t, func() (string, error) {
		return ms[1].Etcdctl(t, "member", "add", "m4", "--peer-urls="+m4.PeerURL())
	})
	require.NoError(t, err)
	require.Contains(t, out, "Member ")
	require.Contains(t, out, " added to cluster ")
	require.Contains(t, out, `ETCD_INITIAL_CLUSTER_STATE="existing"`)
	require.Len(t, memberList(t, ms[0]), 4)

	m4.Join(t, ms...)
	out, err = m4.Etcdctl(t, "get", "before", "--print-value-only")
	require.NoError(t, err)
	require.Equal(t, "1\n", out)
	require.Eventually(t, func() bool {
		for _, l := range memberList(t, ms[2]) {
			if l.Name == "m4" && len(l.ClientURLs) == 1 {
				return true
			}
		}
		return false
	}, 10*time.Second, 100*time.Millisecond, "m4 publishes its name and client URL")

	// Remove m1: the others go on, and m1 stops.
	var id uint64
	for _, l := range memberList(t, ms[1]) {
		if l.Name == "m1" {
			id = l.ID
		}
	}
	out, err = hosttest.UntilHealthy(t, func() (string, error) {
		return ms[1].Etcdctl(t, "member", "remove", fmt.Sprintf("%x", id))
	})
	require.NoError(t, err)
	// etcdctl prints the id as %16x: space-padded when it has fewer digits.
	require.Contains(t, out, fmt.Sprintf("Member %16x removed from cluster", id))
	require.Len(t, memberList(t, ms[2]), 3)
	_, err = m4.Etcdctl(t, "put", "after", "2")
	require.NoError(t, err)
	out, err = ms[2].Etcdctl(t, "get", "after", "--print-value-only")
	require.NoError(t, err)
	require.Equal(t, "2\n", out)
	require.Eventually(t, func() bool { return !ms[0].Running() }, 20*time.Second, 50*time.Millisecond,
		"the removed member stops")
	require.Contains(t, ms[0].Output(), "the member has been permanently removed from the cluster")

	// Errors as etcd words them.
	_, err = ms[1].Etcdctl(t, "member", "remove", fmt.Sprintf("%x", id))
	require.ErrorContains(t, err, "etcdserver: member not found")
	_, err = hosttest.UntilHealthy(t, func() (string, error) {
		return ms[1].Etcdctl(t, "member", "add", "dup", "--peer-urls="+m4.PeerURL())
	})
	require.ErrorContains(t, err, "etcdserver: Peer URLs already exists")
}

func TestClusterLearnerPromote(t *testing.T) {
	ms := hosttest.StartCluster(t, 3, clusterFlags)
	leaderOf(t, ms...)
	l := hosttest.PrepareMember(t, "learner", clusterFlags)
	out, err := hosttest.UntilHealthy(t, func() (string, error) {
		return ms[0].Etcdctl(t, "member", "add", "learner", "--learner", "--peer-urls="+l.PeerURL())
	})
	require.NoError(t, err)
	require.Contains(t, out, "added as learner to cluster")
	var id uint64
	for _, m := range memberList(t, ms[0]) {
		if m.IsLearner {
			id = m.ID
		}
	}
	require.NotZero(t, id)
	hex := fmt.Sprintf("%x", id)

	// Not started: far behind the leader.
	_, err = ms[1].Etcdctl(t, "member", "promote", hex)
	require.ErrorContains(t, err, "etcdserver: can only promote a learner member which is in sync with leader")
	// A second learner is one too many.
	_, err = hosttest.UntilHealthy(t, func() (string, error) {
		return ms[0].Etcdctl(t, "member", "add", "l2", "--learner", "--peer-urls=http://127.0.0.1:1")
	})
	require.ErrorContains(t, err, "etcdserver: too many learner members in cluster")

	l.Join(t, ms...)
	require.Eventually(t, func() bool {
		_, err := ms[1].Etcdctl(t, "member", "promote", hex)
		return err == nil
	}, 20*time.Second, 200*time.Millisecond, "the learner is promoted once it caught up")
	for _, m := range memberList(t, ms[2]) {
		require.False(t, m.IsLearner, "member %s", m.Name)
	}
	_, err = ms[1].Etcdctl(t, "member", "promote", hex)
	require.ErrorContains(t, err, "etcdserver: can only promote a learner member")
}

// TestClusterRefusesPeerOfAnotherCluster starts a member whose
// --initial-cluster names a member of another cluster: that member refuses
// it, naming both cluster ids.
func TestClusterRefusesPeerOfAnotherCluster(t *testing.T) {
	ms := hosttest.StartCluster(t, 3, clusterFlags)
	leaderOf(t, ms...)
	stranger := hosttest.PrepareMember(t, "stranger", clusterFlags,
		hosttest.WithArgs("--initial-cluster-token", "other"))
	// A two-member "cluster" of the stranger and m2: it can never elect a
	// leader, and m2 refuses its messages.
	stranger.SetInitialCluster("m2=" + ms[1].PeerURL() + ",stranger=" + stranger.PeerURL())
	stranger.Start()
	require.Eventually(t, func() bool {
		return strings.Contains(ms[1].Output(), "refused a peer of another cluster")
	}, 20*time.Second, 50*time.Millisecond)
	require.Eventually(t, func() bool {
		return strings.Contains(stranger.Output(), "peer: cluster ID mismatch")
	}, 20*time.Second, 50*time.Millisecond)
	// The cluster goes on serving.
	_, err := ms[1].Etcdctl(t, "put", "k", "v")
	require.NoError(t, err)
	stranger.Kill()
}
