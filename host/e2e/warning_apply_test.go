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

// TestWarningApplyDuration requires --warning-apply-duration to set the
// threshold of etcd's slow-apply warning: at 1ns every request applied is
// logged and counted in etcd_server_slow_apply_total, on either server; at
// the default, 100ms, quick puts are not.
func TestWarningApplyDuration(t *testing.T) {
	puts := func(t *testing.T, m *hosttest.Process) float64 {
		cli := m.Client(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		before := value(t, scrape(t, m.Endpoint()), "etcd_server_slow_apply_total")
		for i := range 5 {
			_, err := cli.Put(ctx, "slow", fmt.Sprint(i))
			require.NoError(t, err)
		}
		return value(t, scrape(t, m.Endpoint()), "etcd_server_slow_apply_total") - before
	}
	bothServers(t, []string{"--warning-apply-duration=1ns"}, func(t *testing.T, m *hosttest.Process) {
		require.GreaterOrEqual(t, puts(t, m), 5.0)
		require.Contains(t, m.Output(), "apply request took too long")
	})
	m := hosttest.StartMember(t)
	require.Zero(t, puts(t, m))
	require.False(t, strings.Contains(m.Output(), "apply request took too long"))
}
