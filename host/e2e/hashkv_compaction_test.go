package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/metastore/metastore/host/hosttest"
)

// TestHashKVAtCompactionRevisionMatchesEtcd runs one history with two
// compactions on etcd and on MetaStore and compares what HashKV answers at
// the compaction revisions, below them, between them and at 0.
func TestHashKVAtCompactionRevisionMatchesEtcd(t *testing.T) {
	etcd, ms := servers(t)
	var got [2]string
	for i, m := range []*hosttest.Process{etcd, ms} {
		cli := m.Client(t)
		ctx := context.Background()
		put := func(k, v string) {
			_, err := cli.Put(ctx, k, v)
			require.NoError(t, err)
		}
		for j := range 20 {
			put(fmt.Sprintf("k%d", j%7), fmt.Sprintf("v%d", j)) // revisions 2..21
		}
		_, err := cli.Delete(ctx, "k1") // 22
		require.NoError(t, err)
		h, err := cli.HashKV(ctx, m.Endpoint(), 0)
		require.NoError(t, err)
		before := fmt.Sprintf("before compaction: %d/%d/%d", h.Hash, h.CompactRevision, h.HashRevision)
		_, err = cli.Compact(ctx, 15, clientv3.WithCompactPhysical())
		require.NoError(t, err)
		for j := range 10 {
			put(fmt.Sprintf("k%d", j%3), fmt.Sprintf("w%d", j)) // 23..32
		}
		_, err = cli.Delete(ctx, "k2") // 33
		require.NoError(t, err)
		_, err = cli.Compact(ctx, 33, clientv3.WithCompactPhysical())
		require.NoError(t, err)
		put("last", "v") // 34

		parts := []string{before}
		for _, r := range []int64{15, 33, 0, 34, 20, 14, 2, 35} {
			h, err := cli.HashKV(ctx, m.Endpoint(), r)
			if err != nil {
				parts = append(parts, fmt.Sprintf("%d:%v", r, err))
				continue
			}
			parts = append(parts, fmt.Sprintf("%d:%d/%d/%d@%d", r, h.Hash, h.CompactRevision, h.HashRevision, h.Header.Revision))
		}
		got[i] = strings.Join(parts, "\n")
	}
	require.Equal(t, got[0], got[1])
}
