package e2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/metastore/metastore/host/hosttest"
	"github.com/metastore/metastore/host/hosttest/linearize"
)

// EnvFaultRounds selects the long fault run: that many rounds of every
// fault (`make fault` sets it). Unset, TestFaultsLinearizable runs one.
const EnvFaultRounds = "METASTORE_FAULT_ROUNDS"

// faultPlan bounds a fault run.
type faultPlan struct {
	rounds    int           // rounds of the fault schedule
	maxOps    int           // calls across all clients
	clients   int           // concurrent clients
	pause     time.Duration // each client's pause between calls
	preload   int           // puts before the faults, to restart over snapshots
	checkTime time.Duration // bound of the linearizability check
}

func faultPlanFromEnv(t *testing.T) faultPlan {
	p := faultPlan{rounds: 1, maxOps: 1500, clients: 4, pause: 10 * time.Millisecond, checkTime: time.Minute}
	if s := os.Getenv(EnvFaultRounds); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err, "%s=%q", EnvFaultRounds, s)
		require.True(t, n >= 1 && n <= 20, "%s=%d: 1 to 20 rounds", EnvFaultRounds, n)
		p.rounds, p.maxOps, p.clients, p.pause, p.preload, p.checkTime = n, 4000*n, 8, 30*time.Millisecond, 20000, 3*time.Minute
	}
	return p
}

// TestFaultsLinearizable runs concurrent clients against a three-member
// cluster while members are killed (leader and follower), restarted,
// partitioned and healed, and one is replaced by an empty member. After
// the faults every acknowledged write is on every member, the members
// hold the same keys and HashKV, and the clients' history is
// linearizable.
func TestFaultsLinearizable(t *testing.T) {
	plan := faultPlanFromEnv(t)
	faults := hosttest.NewFaults()
	ms := hosttest.StartCluster(t, 3, clusterFlags, snapshotFlags, hosttest.WithFaults(faults))
	leaderOf(t, ms...)
	// Preload in chunks, each within putMany's time bound.
	for i := 0; i < plan.preload; i += 5000 {
		rev := putMany(t, ms[0].Client(t), fmt.Sprintf("preload/%d", i/5000), min(5000, plan.preload-i))
		t.Logf("preloaded %d keys, revision %d", min(i+5000, plan.preload), rev)
	}

	keys := []string{"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"}
	w := linearize.Workload{Keys: keys, MaxOps: plan.maxOps, Pause: plan.pause, OpTimeout: 2 * time.Second}
	for range plan.clients {
		w.Clients = append(w.Clients, hosttest.NewClient(t, memberEndpoints(ms)...))
	}
	h := linearize.NewHistory()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	loadDone := make(chan struct{})
	var loadTime time.Duration
	start := time.Now()
	go func() {
		defer close(loadDone)
		w.Run(ctx, h)
		loadTime = time.Since(start)
	}()

	injected := map[string]int{}
	var burst []ackedPut
	for round := range plan.rounds {
		burst = append(burst, injectFaults(t, faults, ms, round, injected)...)
	}
	faultTime := time.Since(start)
	// Let the load run on the healed cluster, then stop it.
	time.Sleep(time.Second)
	cancel()
	<-loadDone

	stats := h.Stats()
	t.Logf("faults injected: %v in %v; load ran %v; history: %s", injected,
		faultTime.Round(time.Millisecond), loadTime.Round(time.Millisecond), stats)
	require.Greater(t, stats.Ops-stats.Unknown, 100, "enough calls completed to check anything")

	lead := leaderOf(t, ms...)
	resp, err := lead.Client(t).Put(ctxFor(t, 10*time.Second), "fault/done", "1")
	require.NoError(t, err)
	requireSameState(t, resp.Header.Revision, ms...)
	requireAckedWritesOnEveryMember(t, h.Operations(), ms)
	requireAckedKeys(t, lead.Client(t), burst)
	t.Logf("acknowledged puts of the bursts the leader was killed in: %d", len(burst))

	dir, err := os.MkdirTemp("", "metastore-fault-")
	require.NoError(t, err)
	start = time.Now()
	err = linearize.Check(h.Operations(), plan.checkTime, dir)
	t.Logf("linearizability check of %d ops took %v", stats.Ops, time.Since(start).Round(time.Millisecond))
	require.NoError(t, err)
	_ = os.RemoveAll(dir)
}

func memberEndpoints(ms []*hosttest.Process) []string {
	eps := make([]string, len(ms))
	for i, m := range ms {
		eps[i] = m.Endpoint()
	}
	return eps
}

// injectFaults runs one round of the fault schedule under the load: kill
// the leader in the middle of a burst of puts (whose acknowledged puts it
// returns) and restart it, then a follower; partition one member (the
// leader in odd rounds) and heal; replace a follower by an empty member.
func injectFaults(t *testing.T, faults *hosttest.Faults, ms []*hosttest.Process, round int, injected map[string]int) []ackedPut {
	t.Helper()
	settle := func() { time.Sleep(700 * time.Millisecond) }

	lead := leaderOf(t, ms...)
	acked := writeUntilKilled(t, lead, round, 8, 250)
	injected["kill leader"]++
	settle()
	leaderOf(t, followersOf(lead, ms)...)
	lead.Restart(t)
	injected["restart"]++
	settle()

	lead = leaderOf(t, ms...)
	f := followersOf(lead, ms)[round%2]
	f.Kill()
	injected["kill follower"]++
	settle()
	f.Restart(t)
	injected["restart"]++
	settle()

	lead = leaderOf(t, ms...)
	victim := followersOf(lead, ms)[0]
	if round%2 == 1 {
		victim = lead
	}
	inBefore, outBefore := faults.Refused()
	faults.Isolate(victim)
	injected["partition"]++
	rest := followersOf(victim, ms)
	newLead := leaderOf(t, rest...)
	require.NotEqual(t, victim, newLead)
	// Cut off, the member loses its leader (check quorum steps a leader
	// down; a follower's pre-vote finds no one).
	require.Eventually(t, func() bool {
		st, err := victim.Client(t).Status(ctxFor(t, time.Second), victim.Endpoint())
		return err == nil && st.Leader == 0
	}, 20*time.Second, 50*time.Millisecond, "%s, partitioned, has no leader", victim.Name())
	// Both directions were cut: the others' connections to it, and its
	// own (pre-votes, or a leader's heartbeats) to them.
	require.Eventually(t, func() bool {
		in, out := faults.Refused()
		return in > inBefore && out > outBefore
	}, 10*time.Second, 50*time.Millisecond, "the proxies refused connections to and from %s", victim.Name())
	settle()
	faults.Heal()
	injected["heal"]++
	leaderOf(t, ms...)
	settle()

	lead = leaderOf(t, ms...)
	f = followersOf(lead, ms)[(round+1)%2]
	f.Rejoin(t, lead, followersOf(f, ms)...)
	injected["remove and re-add empty"]++
	leaderOf(t, ms...)
	settle()
	return acked
}

// requireAckedWritesOnEveryMember reads, at the revision each
// acknowledged write returned, its key from every member (serializable,
// so each member answers from its own state): the put or swapped value is
// there with that mod revision, a delete left no key.
func requireAckedWritesOnEveryMember(t *testing.T, ops []porcupine.Operation, ms []*hosttest.Process) {
	t.Helper()
	checked := 0
	for _, m := range ms {
		cli := m.Client(t)
		for _, op := range ops {
			in, out := op.Input.(linearize.Input), op.Output.(linearize.Output)
			if out.Unknown || in.Kind == linearize.Get || (in.Kind == linearize.CAS && !out.Succeeded) ||
				(in.Kind == linearize.Delete && out.Deleted == 0) {
				continue
			}
			resp, err := cli.Get(ctxFor(t, 10*time.Second), in.Key, clientv3.WithRev(out.Revision), clientv3.WithSerializable())
			require.NoError(t, err)
			what := fmt.Sprintf("%s on %s at revision %d", in.Kind, m.Name(), out.Revision)
			if in.Kind == linearize.Delete {
				require.Empty(t, resp.Kvs, what)
				continue
			}
			require.Len(t, resp.Kvs, 1, what)
			require.Equal(t, in.Value, string(resp.Kvs[0].Value), what)
			require.Equal(t, out.Revision, resp.Kvs[0].ModRevision, what)
			checked++
		}
	}
	require.Positive(t, checked)
	t.Logf("acknowledged writes checked on every member: %d", checked/len(ms))
}
