package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/metastore/metastore/host/hosttest"
)

// TestCompactionSleepInterval requires --compaction-sleep-interval to set
// the rest between compaction batches, as etcd's: 50 revisions in batches
// of 10 rest at least four times, so a physical compaction with 300ms
// rests takes at least 1.2 s on either server, and compacts as before.
func TestCompactionSleepInterval(t *testing.T) {
	const rest = 300 * time.Millisecond
	bothServers(t, []string{"--compaction-batch-limit=10", "--compaction-sleep-interval=" + rest.String()},
		func(t *testing.T, m *hosttest.Process) {
			cli := m.Client(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var rev int64
			for i := range 50 {
				r, err := cli.Put(ctx, "slept", fmt.Sprint(i))
				require.NoError(t, err)
				rev = r.Header.Revision
			}
			start := time.Now()
			_, err := cli.Compact(ctx, rev, clientv3.WithCompactPhysical())
			require.NoError(t, err)
			require.GreaterOrEqual(t, time.Since(start), 4*rest, "the compaction rested between its batches")
			_, err = cli.Get(ctx, "slept", clientv3.WithRev(rev-1))
			require.ErrorContains(t, err, "mvcc: required revision has been compacted")
		})
}
