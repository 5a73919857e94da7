package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/metastore/metastore/host/hosttest"
)

// etcdMetricNames are the etcd metrics dashboards and alerts use that
// MetaStore serves from its first scrape.
var etcdMetricNames = []string{
	"etcd_server_has_leader",
	"etcd_server_is_leader",
	"etcd_server_leader_changes_seen_total",
	"etcd_server_proposals_committed_total",
	"etcd_server_proposals_applied_total",
	"etcd_server_proposals_pending",
	"etcd_server_proposals_failed_total",
	"etcd_server_slow_apply_total",
	"etcd_server_quota_backend_bytes",
	"etcd_server_version",
	"etcd_server_go_version",
	"etcd_server_id",
	"etcd_server_is_learner",
	"etcd_cluster_version",
	"etcd_mvcc_db_total_size_in_bytes",
	"etcd_mvcc_db_total_size_in_use_in_bytes",
	"etcd_debugging_mvcc_keys_total",
	"etcd_debugging_mvcc_current_revision",
	"etcd_debugging_mvcc_compact_revision",
	"etcd_debugging_mvcc_watcher_total",
	"etcd_debugging_mvcc_slow_watcher_total",
	"etcd_disk_wal_fsync_duration_seconds",
	"etcd_disk_wal_write_duration_seconds",
	"etcd_disk_wal_write_bytes_total",
	"etcd_disk_backend_commit_duration_seconds",
	"etcd_server_heartbeat_send_failures_total",
	"etcd_server_feature_enabled",
	"etcd_network_known_peers",
	"etcd_debugging_auth_revision",
	"grpc_server_started_total",
	"grpc_server_handled_total",
	"process_cpu_seconds_total",
	"process_resident_memory_bytes",
	"process_open_fds",
	"go_goroutines",
	"go_memstats_alloc_bytes",
}

// scrape fetches and parses /metrics.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return families
}

// value returns the value of the family's series whose labels include
// labels ("k=v" each): a gauge's or counter's value, a histogram's count.
func value(t *testing.T, families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	_, ok := families[name]
	require.True(t, ok, "metric %s missing", name)
	v, ok := lookup(families, name, labels...)
	if !ok {
		t.Fatalf("metric %s has no series with labels %v", name, labels)
	}
	return v
}

// lookup is value for a series that may be missing.
func lookup(families map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	for _, m := range families[name].GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue(), true
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue(), true
		case m.GetHistogram() != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

func hasLabels(m *dto.Metric, labels []string) bool {
	have := map[string]string{}
	for _, lp := range m.GetLabel() {
		have[lp.GetName()] = lp.GetValue()
	}
	for _, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		if have[k] != v {
			return false
		}
	}
	return true
}

// TestMetricsScrape requires etcd's metric names with etcd's labels, on the
// client URL and on --listen-metrics-urls, and values that move with load.
func TestMetricsScrape(t *testing.T) {
	metricsURL := freeURL(t)
	m := hosttest.StartMember(t, hosttest.WithArgs("--listen-metrics-urls", metricsURL,
		"--feature-gates", "InitialCorruptCheck=true"))
	before := scrape(t, m.Endpoint())
	for _, name := range etcdMetricNames {
		require.Contains(t, before, name)
	}
	require.Equal(t, 1.0, value(t, before, "etcd_server_has_leader"))
	require.Equal(t, 1.0, value(t, before, "etcd_server_is_leader"))
	require.Equal(t, 1.0, value(t, before, "etcd_server_leader_changes_seen_total"))
	require.Equal(t, 1.0, value(t, before, "etcd_server_version", "server_version=3.7.3"))
	// Every etcd 3.7 feature gate, with its stage: on as set or by
	// default.
	require.Len(t, before["etcd_server_feature_enabled"].GetMetric(), 11)
	require.Equal(t, 1.0, value(t, before, "etcd_server_feature_enabled", "name=InitialCorruptCheck", "stage=ALPHA"))
	require.Equal(t, 0.0, value(t, before, "etcd_server_feature_enabled", "name=CompactHashCheck", "stage=ALPHA"))
	require.Equal(t, 1.0, value(t, before, "etcd_server_feature_enabled", "name=FastLeaseKeepAlive", "stage=BETA"))
	require.Equal(t, 0.0, value(t, before, "etcd_server_feature_enabled", "name=AllAlpha", "stage=ALPHA"))
	require.Equal(t, 0.0, value(t, before, "etcd_server_heartbeat_send_failures_total"))
	// Pre-initialized at zero, as etcd does, for every method.
	require.Equal(t, 0.0, value(t, before, "grpc_server_handled_total",
		"grpc_type=unary", "grpc_service=etcdserverpb.KV", "grpc_method=Put", "grpc_code=OK"))

	cli := m.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const n = 50
	for i := range n {
		_, err := cli.Put(ctx, fmt.Sprintf("metrics/%03d", i), "v")
		require.NoError(t, err)
	}
	_, err := cli.Get(ctx, "metrics/", clientv3.WithPrefix())
	require.NoError(t, err)
	_, err = cli.Put(ctx, "", "v")
	require.Error(t, err)
	_, err = cli.UserAdd(ctx, "metrics-user", "pw")
	require.NoError(t, err)
	_, err = cli.UserAdd(ctx, "metrics-user", "pw")
	require.Error(t, err, "a user that exists")
	time.Sleep(300 * time.Millisecond) // let the write buffer flush

	after := scrape(t, metricsURL)
	grew := func(name string, by float64, labels ...string) {
		t.Helper()
		b, a := value(t, before, name, labels...), value(t, after, name, labels...)
		require.GreaterOrEqual(t, a-b, by, "%s%v: %v -> %v", name, labels, b, a)
	}
	grew("etcd_server_proposals_committed_total", n)
	grew("etcd_server_proposals_applied_total", n)
	grew("etcd_debugging_mvcc_current_revision", n)
	grew("etcd_disk_wal_fsync_duration_seconds", 1)
	grew("etcd_disk_wal_write_duration_seconds", 1)
	grew("etcd_disk_wal_write_bytes_total", float64(n*len("metrics/000v")))
	grew("etcd_disk_backend_commit_duration_seconds", 1)
	grew("grpc_server_handled_total", n, "grpc_method=Put", "grpc_code=OK")
	grew("grpc_server_handled_total", 1, "grpc_method=Put", "grpc_code=InvalidArgument")
	grew("grpc_server_handled_total", 1, "grpc_method=Range", "grpc_code=OK")
	grew("grpc_server_handling_seconds", n, "grpc_method=Put")
	// Series appear with the first request of their kind, as in etcd.
	require.Equal(t, float64(n), value(t, after, "etcd_server_apply_duration_seconds", "version=v3", "op=Put", "success=true"))
	require.Equal(t, 1.0, value(t, after, "etcd_server_apply_duration_seconds", "version=v3", "op=AuthUserAdd", "success=true"))
	require.Equal(t, 1.0, value(t, after, "etcd_server_apply_duration_seconds", "version=v3", "op=AuthUserAdd", "success=false"))
	grew("etcd_debugging_auth_revision", 1)
	require.Equal(t, float64(n), value(t, after, "etcd_debugging_mvcc_keys_total"))
	require.Equal(t, 0.0, value(t, after, "etcd_server_proposals_pending"))
	require.Greater(t, value(t, after, "etcd_mvcc_db_total_size_in_bytes"), 0.0)
	require.Greater(t, value(t, after, "etcd_mvcc_db_total_size_in_use_in_bytes"), 0.0)
}

// TestMetricNamesServedByEtcd guards the names against drift: every etcd_*
// metric MetaStore serves on a fresh member, real etcd serves too, with
// the same type and label names.
func TestMetricNamesServedByEtcd(t *testing.T) {
	// etcd serves grpc_server_handling_seconds with --metrics=extensive.
	etcd := hosttest.StartMember(t, hosttest.WithBinary(hosttest.EtcdBin(t)), hosttest.WithArgs("--metrics", "extensive"))
	ms := hosttest.StartMember(t)
	want, got := scrape(t, etcd.Endpoint()), scrape(t, ms.Endpoint())
	requireServedByEtcd(t, want, got)
	// The same gates at the same stages.
	require.Equal(t, featureGates(want), featureGates(got))
}

// requireServedByEtcd requires every etcd_* and grpc_server_* metric in
// got to be in want too, with the same type and label names.
func requireServedByEtcd(t *testing.T, want, got map[string]*dto.MetricFamily) {
	t.Helper()
	for name, f := range got {
		if !strings.HasPrefix(name, "etcd_") && !strings.HasPrefix(name, "grpc_server_") {
			continue
		}
		wf, ok := want[name]
		require.True(t, ok, "MetaStore serves %s, etcd does not", name)
		require.Equal(t, wf.GetType(), f.GetType(), name)
		require.Equal(t, labelNames(wf), labelNames(f), name)
	}
}

// featureGates lists etcd_server_feature_enabled's name and stage labels.
func featureGates(families map[string]*dto.MetricFamily) []string {
	var out []string
	for _, m := range families["etcd_server_feature_enabled"].GetMetric() {
		var name, stage string
		for _, lp := range m.GetLabel() {
			switch lp.GetName() {
			case "name":
				name = lp.GetValue()
			case "stage":
				stage = lp.GetValue()
			}
		}
		out = append(out, name+"/"+stage)
	}
	slices.Sort(out)
	return out
}

func labelNames(f *dto.MetricFamily) []string {
	if len(f.GetMetric()) == 0 {
		return nil
	}
	var out []string
	for _, lp := range f.GetMetric()[0].GetLabel() {
		out = append(out, lp.GetName())
	}
	return out
}

// TestMetricsScrapeCounters requires the etcd metrics MetaStore counts from
// client traffic, leases, peers and the process, on a three-member
// cluster, and that each moves with load.
func TestMetricsScrapeCounters(t *testing.T) {
	ms := hosttest.StartCluster(t, 3)
	m := ms[0]
	names := []string{
		"etcd_network_peer_round_trip_time_seconds",
		"etcd_debugging_lease_granted_total", "etcd_debugging_lease_revoked_total",
		"etcd_debugging_lease_renewed_total", "etcd_debugging_lease_ttl_total",
		"etcd_debugging_server_lease_expired_total",
		"os_fd_used", "os_fd_limit",
		"etcd_server_client_requests_total",
		"etcd_server_snapshot_apply_in_progress_total",
		"etcd_server_slow_apply_total", "etcd_server_slow_read_indexes_total", "etcd_server_read_indexes_failed_total",
		"etcd_network_client_grpc_sent_bytes_total", "etcd_network_client_grpc_received_bytes_total",
		"etcd_mvcc_put_total", "etcd_mvcc_delete_total", "etcd_mvcc_range_total", "etcd_mvcc_txn_total",
		"etcd_debugging_mvcc_total_put_size_in_bytes", "etcd_debugging_mvcc_watch_stream_total",
		"etcd_debugging_mvcc_events_total", "etcd_disk_defrag_inflight",
		"etcd_disk_backend_defrag_duration_seconds", "etcd_mvcc_hash_rev_duration_seconds",
	}
	// The lessor's primary is the leader: its member revokes expired leases.
	cli := hosttest.NewClient(t, ms[0].Endpoint(), ms[1].Endpoint(), ms[2].Endpoint())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	mc := m.Client(t)
	_, err := mc.Put(ctx, "warm", "up") // the first request: client_requests_total has a series
	require.NoError(t, err)
	before := scrapeAll(t, ms)
	require.Greater(t, value(t, before[0], "os_fd_used"), 0.0)
	require.Greater(t, value(t, before[0], "os_fd_limit"), value(t, before[0], "os_fd_used"))
	require.Equal(t, 0.0, value(t, before[0], "etcd_server_snapshot_apply_in_progress_total"))

	w := mc.Watch(ctx, "load/", clientv3.WithPrefix())
	const n = 20
	for i := range n {
		_, err := mc.Put(ctx, fmt.Sprintf("load/%02d", i), "value")
		require.NoError(t, err)
	}
	for got := 0; got < n; {
		wr := <-w
		require.NoError(t, wr.Err())
		got += len(wr.Events)
	}
	_, err = mc.Get(ctx, "load/", clientv3.WithPrefix())
	require.NoError(t, err)
	_, err = mc.Delete(ctx, "load/00")
	require.NoError(t, err)
	_, err = mc.Txn(ctx).If(clientv3.Compare(clientv3.Version("load/01"), ">", 0)).
		Then(clientv3.OpPut("load/01", "x"), clientv3.OpGet("load/02")).Commit()
	require.NoError(t, err)
	lease, err := mc.Grant(ctx, 60)
	require.NoError(t, err)
	_, err = mc.KeepAliveOnce(ctx, lease.ID)
	require.NoError(t, err)
	_, err = mc.Revoke(ctx, lease.ID)
	require.NoError(t, err)
	short, err := cli.Grant(ctx, 1)
	require.NoError(t, err)
	_, err = mc.Defragment(ctx, m.Endpoint())
	require.NoError(t, err)
	_, err = mc.HashKV(ctx, m.Endpoint(), 0)
	require.NoError(t, err)

	var after []map[string]*dto.MetricFamily
	require.Eventually(t, func() bool {
		after = scrapeAll(t, ms)
		ttl, err := cli.TimeToLive(ctx, short.ID)
		return err == nil && ttl.TTL == -1 && sumOf(t, after, "etcd_debugging_server_lease_expired_total") >= 1 &&
			value(t, after[0], "etcd_network_peer_round_trip_time_seconds", "To="+peerHex(t, cli, ms[1])) >= 1
	}, 30*time.Second, 200*time.Millisecond, "the short lease expires; peers are probed")
	for _, name := range names {
		require.Contains(t, after[0], name)
	}
	grew := func(name string, by float64, labels ...string) {
		t.Helper()
		b, a := value(t, before[0], name, labels...), value(t, after[0], name, labels...)
		require.GreaterOrEqual(t, a-b, by, "%s%v: %v -> %v", name, labels, b, a)
	}
	grew("etcd_mvcc_put_total", n+1)
	grew("etcd_mvcc_range_total", 2)
	grew("etcd_mvcc_delete_total", 1)
	grew("etcd_mvcc_txn_total", 1)
	grew("etcd_debugging_mvcc_total_put_size_in_bytes", float64(n*len("load/00value")))
	grew("etcd_debugging_mvcc_events_total", n)
	grew("etcd_debugging_lease_granted_total", 1)
	grew("etcd_debugging_lease_renewed_total", 1)
	grew("etcd_debugging_lease_revoked_total", 1)
	grew("etcd_debugging_lease_ttl_total", 1)
	grew("etcd_disk_backend_defrag_duration_seconds", 1)
	grew("etcd_mvcc_hash_rev_duration_seconds", 1)
	grew("etcd_network_client_grpc_received_bytes_total", float64(n*len("load/00value")))
	grew("etcd_network_client_grpc_sent_bytes_total", 100)
	grew("etcd_server_client_requests_total", n, "type=unary")
	require.Equal(t, 1.0, value(t, after[0], "etcd_debugging_mvcc_watch_stream_total"))
	require.Equal(t, 0.0, value(t, after[0], "etcd_disk_defrag_inflight"))
	require.Equal(t, 0.0, value(t, after[0], "etcd_server_read_indexes_failed_total"))
}

// scrapeAll scrapes every member.
func scrapeAll(t *testing.T, ms []*hosttest.Process) []map[string]*dto.MetricFamily {
	t.Helper()
	out := make([]map[string]*dto.MetricFamily, len(ms))
	for i, m := range ms {
		out[i] = scrape(t, m.Endpoint())
	}
	return out
}

// sumOf sums a counter over the members.
func sumOf(t *testing.T, all []map[string]*dto.MetricFamily, name string) float64 {
	t.Helper()
	sum := 0.0
	for _, f := range all {
		sum += value(t, f, name)
	}
	return sum
}

// peerHex is m's member id as the peer metrics label it.
func peerHex(t *testing.T, cli *clientv3.Client, m *hosttest.Process) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := cli.Status(ctx, m.Endpoint())
	require.NoError(t, err)
	return fmt.Sprintf("%x", st.Header.MemberId)
}

// memberIDs maps each member to its id as the peer metrics label it.
func memberIDs(t *testing.T, ms []*hosttest.Process) map[*hosttest.Process]string {
	t.Helper()
	cli := ms[0].Client(t)
	ids := map[*hosttest.Process]string{}
	for _, m := range ms {
		ids[m] = peerHex(t, cli, m)
	}
	return ids
}

// activePairs reports whether each of ms counts each other as an active
// peer (want true) or none of them does (want false).
func activePairs(t *testing.T, ms []*hosttest.Process, ids map[*hosttest.Process]string, want bool) bool {
	t.Helper()
	wantValue := 0.0
	if want {
		wantValue = 1
	}
	for i, f := range scrapeAll(t, ms) {
		for _, p := range ms {
			if p == ms[i] {
				continue
			}
			v, ok := lookup(f, "etcd_network_active_peers", "Local="+ids[ms[i]], "Remote="+ids[p])
			if !ok || v != wantValue {
				return false
			}
		}
	}
	return true
}

// TestMetricsPeerNetwork requires etcd's peer network metrics on a
// three-member cluster. The bytes members send and receive move with
// writes, and every member has a working connection to every other. Once
// a follower is SIGKILLed the leader counts the messages it fails to send
// it, on and on (what etcd's etcdMembersDown alert rates), and both
// survivors count it disconnected and inactive. Restarted far behind, it
// gets a snapshot, which both ends count.
func TestMetricsPeerNetwork(t *testing.T) {
	ms := hosttest.StartCluster(t, 3, snapshotFlags)
	lead := leaderOf(t, ms...)
	fs := followersOf(lead, ms)
	ids := memberIDs(t, ms)
	require.Eventually(t, func() bool { return activePairs(t, ms, ids, true) },
		20*time.Second, 100*time.Millisecond, "every member reaches every other")

	before := scrapeAll(t, ms)
	index := map[*hosttest.Process]int{}
	for i, m := range ms {
		index[m] = i
		for _, p := range ms {
			require.Equal(t, 1.0, value(t, before[i], "etcd_network_known_peers", "Local="+ids[m], "Remote="+ids[p]))
		}
	}
	cli := lead.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const n, size = 50, 1024
	for i := range n {
		_, err := cli.Put(ctx, fmt.Sprintf("net/%02d", i), strings.Repeat("v", size))
		require.NoError(t, err)
	}
	after := scrapeAll(t, ms)
	grew := func(m *hosttest.Process, name string, by float64, label string) {
		t.Helper()
		b, _ := lookup(before[index[m]], name, label)
		a := value(t, after[index[m]], name, label)
		require.GreaterOrEqual(t, a-b, by, "%s of %s{%s}: %v -> %v", name, m.Name(), label, b, a)
	}
	for _, f := range fs {
		grew(lead, "etcd_network_peer_sent_bytes_total", n*size, "To="+ids[f])
		grew(f, "etcd_network_peer_received_bytes_total", n*size, "From="+ids[lead])
		grew(f, "etcd_network_peer_sent_bytes_total", 1, "To="+ids[lead]) // its acknowledgements
		grew(lead, "etcd_network_peer_received_bytes_total", 1, "From="+ids[f])
	}

	victim, survivors := fs[0], []*hosttest.Process{lead, fs[1]}
	victimHas := raftIndex(t, lead) // at most: the victim's log ends at or before it
	victim.Kill()
	var failures float64
	require.Eventually(t, func() bool {
		now := scrapeAll(t, survivors)
		failures, _ = lookup(now[0], "etcd_network_peer_sent_failures_total", "To="+ids[victim])
		for i, f := range now {
			local := ids[survivors[i]]
			active, _ := lookup(f, "etcd_network_active_peers", "Local="+local, "Remote="+ids[victim])
			lost, _ := lookup(f, "etcd_network_disconnected_peers_total", "Local="+local, "Remote="+ids[victim])
			if active != 0 || lost < 1 {
				return false
			}
		}
		return failures > 0
	}, 20*time.Second, 100*time.Millisecond, "the survivors notice %s is gone", victim.Name())
	require.Eventually(t, func() bool {
		v, _ := lookup(scrape(t, lead.Endpoint()), "etcd_network_peer_sent_failures_total", "To="+ids[victim])
		return v > failures
	}, 10*time.Second, 100*time.Millisecond, "the leader keeps failing to reach %s", victim.Name())
	require.True(t, activePairs(t, survivors, ids, true), "the survivors still reach each other")

	// Far more entries than the leader keeps for slow followers: the
	// victim needs a snapshot when it comes back.
	writeUntilCompactedPast(t, cli, lead, "behind", 300, victimHas)
	victim.Restart(t)
	require.Eventually(t, func() bool {
		l, v := scrape(t, lead.Endpoint()), scrape(t, victim.Endpoint())
		sent, _ := lookup(l, "etcd_network_snapshot_send_success", "To="+ids[victim])
		took, _ := lookup(l, "etcd_network_snapshot_send_total_duration_seconds", "To="+ids[victim])
		got, _ := lookup(v, "etcd_network_snapshot_receive_success", "From="+ids[lead])
		gotTook, _ := lookup(v, "etcd_network_snapshot_receive_total_duration_seconds", "From="+ids[lead])
		return sent >= 1 && took >= 1 && got >= 1 && gotTook >= 1
	}, 30*time.Second, 100*time.Millisecond, "the leader sends %s a snapshot", victim.Name())
	require.Eventually(t, func() bool { return activePairs(t, ms, ids, true) },
		20*time.Second, 100*time.Millisecond, "every member reaches every other again")
	l := scrape(t, lead.Endpoint())
	require.Equal(t, 0.0, value(t, l, "etcd_network_snapshot_send_failures", "To="+ids[victim]))
	require.Equal(t, 0.0, value(t, l, "etcd_network_snapshot_send_inflights_total", "To="+ids[victim]))
}

// TestPeerMetricNamesServedByEtcd is TestMetricNamesServedByEtcd for the
// peer metrics: on three-member clusters of each, one follower SIGKILLed,
// every etcd_* metric MetaStore's leader serves, etcd's leader serves too,
// with the same type and label names.
func TestPeerMetricNamesServedByEtcd(t *testing.T) {
	leaderAfterKill := func(ms []*hosttest.Process) map[string]*dto.MetricFamily {
		lead := leaderOf(t, ms...)
		victim := followersOf(lead, ms)[0]
		ids := memberIDs(t, ms)
		_, err := lead.Client(t).Put(ctxFor(t, 10*time.Second), "k", "v")
		require.NoError(t, err)
		victim.Kill()
		var got map[string]*dto.MetricFamily
		require.Eventually(t, func() bool {
			got = scrape(t, lead.Endpoint())
			failures, _ := lookup(got, "etcd_network_peer_sent_failures_total", "To="+ids[victim])
			lost, _ := lookup(got, "etcd_network_disconnected_peers_total", "Remote="+ids[victim])
			return failures > 0 && lost > 0
		}, 20*time.Second, 100*time.Millisecond, "the leader counts %s lost", victim.Name())
		return got
	}
	want := leaderAfterKill(hosttest.StartCluster(t, 3, hosttest.WithBinary(hosttest.EtcdBin(t)),
		hosttest.WithArgs("--metrics", "extensive")))
	got := leaderAfterKill(hosttest.StartCluster(t, 3))
	for _, name := range []string{"etcd_network_peer_sent_bytes_total", "etcd_network_peer_received_bytes_total",
		"etcd_network_peer_sent_failures_total", "etcd_network_active_peers", "etcd_network_disconnected_peers_total"} {
		require.Contains(t, want, name)
		require.Contains(t, got, name)
	}
	requireServedByEtcd(t, want, got)
}
