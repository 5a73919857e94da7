//go:build soak

// The soak is built only with the soak tag (`make soak`): it runs for
// SOAK_DURATION, far past make test's budget.

package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/metastore/metastore/host/hosttest"
	"github.com/metastore/metastore/host/hosttest/linearize"
)

// The soak test runs a 3-member cluster of the real binary, its engines
// the bbolt plugin process, for SOAK_DURATION under a mixed load: puts,
// txns and ranges, 1,000 watchers (some reading slowly), lease churn,
// compaction and defragmentation on a schedule, a member restarted every
// few minutes and a plugin process killed between restarts. At the end:
// the history of a sampled set of keys is linearizable (porcupine), every
// acknowledged write of unique keys is on every member, the members'
// HashKV agree, and the resource curves (RSS, goroutines, open files,
// data-dir size, sampled every 10 s into SOAK_OUT/soak.csv and
// soak.svg) grow less than soakBounds over the last two thirds.
//
// It runs only when SOAK_DURATION is set: `make soak`.

// soakPlan is the schedule of a soak run.
type soakPlan struct {
	duration     time.Duration
	restartEvery time.Duration // one member restarted (killed or stopped) in turn
	pluginEvery  time.Duration // one plugin process killed, between restarts
	compactEvery time.Duration
	defragEvery  time.Duration // one member defragmented in turn
	sampleEvery  time.Duration
	out          string // where the CSV and the chart go
}

func soakPlanFromEnv(t *testing.T) soakPlan {
	v := os.Getenv("SOAK_DURATION")
	if v == "" {
		t.Fatal("SOAK_DURATION is not set: run the soak with `make soak`")
	}
	d, err := time.ParseDuration(v)
	require.NoError(t, err, "SOAK_DURATION=%q", v)
	require.GreaterOrEqual(t, d, time.Minute, "SOAK_DURATION: at least a minute")
	p := soakPlan{
		duration:     d,
		restartEvery: min(max(d/10, 45*time.Second), 3*time.Minute),
		compactEvery: 30 * time.Second,
		defragEvery:  2 * time.Minute,
		sampleEvery:  10 * time.Second,
		out:          os.Getenv("SOAK_OUT"),
	}
	p.pluginEvery = p.restartEvery
	if d < 10*time.Minute {
		p.defragEvery = 40 * time.Second
	}
	if p.out == "" {
		p.out = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(p.out, 0o755))
	return p
}

func TestSoak(t *testing.T) {
	plan := soakPlanFromEnv(t)
	bin := pluginBin(t, "bbolt")
	ms := hosttest.StartCluster(t, 3, clusterFlags, pluginConfig(t, "bbolt", bin, fileSum(t, bin)),
		hosttest.WithArgs("--snapshot-count", "5000", "--enable-pprof"))
	leaderOf(t, ms...)
	t.Logf("soak: %v, a member restarted every %v, a plugin killed every %v (between restarts), compaction every %v, defrag every %v; results in %s",
		plan.duration, plan.restartEvery, plan.pluginEvery, plan.compactEvery, plan.defragEvery, plan.out)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(plan.duration)

	// The checked history: a few keys, few clients, paced so that
	// porcupine checks it in minutes whatever the duration.
	keys := []string{"lin/0", "lin/1", "lin/2", "lin/3", "lin/4", "lin/5"}
	hist := linearize.NewHistory()
	lin := linearize.Workload{Keys: keys, MaxOps: 1 << 30, Pause: 100 * time.Millisecond, OpTimeout: 5 * time.Second}
	for range 3 {
		lin.Clients = append(lin.Clients, hosttest.NewClient(t, memberEndpoints(ms)...))
	}
	wg.Go(func() { lin.Run(ctx, hist) })

	load := newSoakLoad(t, ms)
	load.start(ctx, &wg)
	curves := newSoakCurves(ms)
	wg.Go(func() { curves.run(ctx, t, plan.sampleEvery, start) })

	events := runSoakSchedule(ctx, t, plan, ms, end)

	cancel()
	wg.Wait()
	load.close()
	t.Logf("soak: schedule done: %v", events)
	t.Logf("soak: load: %s", load.stats())
	stats := hist.Stats()
	t.Logf("soak: checked history: %s", stats)

	// The end checks, on the cluster at rest.
	lead := leaderOf(t, ms...)
	resp, err := lead.Client(t).Put(ctxFor(t, 10*time.Second), "soak/done", "1")
	require.NoError(t, err)
	requireSameState(t, resp.Header.Revision, ms...)
	load.requireAckedOnEveryMember(t)

	require.NoError(t, curves.write(plan.out))
	saveHeapProfiles(t, ms, plan.out)
	curves.requireFlat(t)

	require.Greater(t, stats.Ops-stats.Unknown, 100, "enough checked calls completed")
	checkStart := time.Now()
	dir := filepath.Join(plan.out, "porcupine")
	require.NoError(t, linearize.Check(hist.Operations(), 10*time.Minute, dir))
	t.Logf("soak: linearizability check of %d ops took %v", stats.Ops, time.Since(checkStart).Round(time.Millisecond))
	t.Logf("soak: %v of load, nothing lost; curves in %s", plan.duration, plan.out)
}

// runSoakSchedule restarts members, kills plugins, compacts and
// defragments until end, and returns how many of each it did.
func runSoakSchedule(ctx context.Context, t *testing.T, plan soakPlan, ms []*hosttest.Process, end time.Time) map[string]int {
	events := map[string]int{}
	clis := make([]*clientv3.Client, len(ms))
	for i, m := range ms {
		clis[i] = m.Client(t)
	}
	all := hosttest.NewClient(t, memberEndpoints(ms)...)
	restart := time.NewTicker(plan.restartEvery)
	defer restart.Stop()
	compact := time.NewTicker(plan.compactEvery)
	defer compact.Stop()
	defrag := time.NewTicker(plan.defragEvery)
	defer defrag.Stop()
	var plugin <-chan time.Time
	n := 0
	left := time.After(time.Until(end))
	for time.Now().Before(end) {
		select {
		case <-ctx.Done():
			return events
		case <-left:
		case <-restart.C:
			m := ms[n%len(ms)]
			if n%2 == 0 {
				m.Kill()
				events["member killed"]++
			} else {
				require.NoError(t, m.Stop())
				events["member stopped"]++
			}
			time.Sleep(2 * time.Second)
			m.Restart(t)
			soakLeader(t, clis, ms)
			n++
			plugin = time.After(plan.pluginEvery / 2)
		case <-plugin:
			m := ms[(n+1)%len(ms)]
			for _, pid := range hosttest.ChildPids(m.Pid(), "metastore-stor") {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				events["plugin killed"]++
			}
		case <-compact.C:
			if soakCompact(t, all) {
				events["compaction"]++
			}
		case <-defrag.C:
			i := events["defrag"] % len(ms)
			m := ms[i]
			c, cancel := context.WithTimeout(ctx, 30*time.Second)
			if _, err := clis[i].Defragment(c, m.Endpoint()); err == nil {
				events["defrag"]++
			} else {
				events["defrag failed"]++
				t.Logf("soak: defragmenting %s: %v", m.Name(), err)
			}
			cancel()
		}
	}
	return events
}

// soakCompact compacts to 500 revisions before the current one.
func soakCompact(t *testing.T, cli *clientv3.Client) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, "soak/compact")
	if err != nil || resp.Header.Revision <= 500 {
		return false
	}
	_, err = cli.Compact(ctx, resp.Header.Revision-500, clientv3.WithCompactPhysical())
	if err != nil {
		t.Logf("soak: compacting at %d: %v", resp.Header.Revision-500, err)
	}
	return err == nil
}

// saveHeapProfiles writes each member's heap profile (pprof's format) to
// dir as heap-<member>.pb.gz, for a look at where memory went.
func saveHeapProfiles(t *testing.T, ms []*hosttest.Process, dir string) {
	client := &http.Client{Timeout: 30 * time.Second}
	for _, m := range ms {
		resp, err := client.Get(m.Endpoint() + "/debug/pprof/heap")
		if err != nil {
			t.Logf("soak: heap profile of %s: %v", m.Name(), err)
			continue
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "heap-"+m.Name()+".pb.gz"), data, 0o644)
		}
		if err != nil {
			t.Logf("soak: heap profile of %s: %v", m.Name(), err)
		}
	}
}

// soakLeader waits until the members agree on a leader, asking through
// the clients the soak holds, so that no connection is opened per call.
func soakLeader(t *testing.T, clis []*clientv3.Client, ms []*hosttest.Process) {
	t.Helper()
	require.Eventually(t, func() bool {
		var lead uint64
		for i, m := range ms {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			st, err := clis[i].Status(ctx, m.Endpoint())
			cancel()
			if err != nil || st.Leader == 0 || (lead != 0 && st.Leader != lead) {
				return false
			}
			lead = st.Leader
		}
		return true
	}, 60*time.Second, 100*time.Millisecond, "the members agree on a leader")
}
