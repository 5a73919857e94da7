package mixin_test

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// prometheusSeries are the series Prometheus records itself, for every
// target it scrapes: no member serves them.
var prometheusSeries = map[string]bool{"up": true}

// Every metric an alert, a recording rule or a dashboard panel names is
// one a member serves. The members run a 3-member cluster with the
// prefix-quota plugin, take writes under its prefixes, and lose a member,
// so that the series served only once there is something to count
// (failed sends to a peer) are there too.
func TestMixinMetricsServed(t *testing.T) {
	named := mixinMetrics(t)
	require.Contains(t, named, "etcd_server_has_leader", "the scan finds the names")
	require.Contains(t, named, "metastore_plugin_restarts_total", "the scan finds the names")

	q := newQuotaConfig(t)
	ms := hosttest.StartCluster(t, 3, q.option())
	cli := ms[0].Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, k := range []string{"/a/1", "/b/1", "/c/1"} {
		_, err := cli.Put(ctx, k, "x")
		require.NoError(t, err)
	}
	ms[2].Kill()

	// Some series appear only once there is something to count (failed
	// sends, peer round trips): scrape the members that are up until every
	// name is served, or the time is up.
	served := map[string]bool{}
	var missing []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		for _, m := range ms[:2] {
			families, err := scrape(m)
			require.NoError(t, err)
			maps.Copy(served, seriesNames(families))
		}
		missing = missing[:0]
		for name, where := range named {
			if !served[name] && !prometheusSeries[name] {
				missing = append(missing, name+" (in "+where[0]+")")
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	slices.Sort(missing)
	require.Empty(t, missing, "metrics the mixin names that no member serves")
	require.True(t, served["etcd_network_peer_sent_failures_total"], "the members that are up count failed sends to the one down")
}
